import type { MemberRole } from '@warbler/protocol';
import type { Store } from '../store/index.ts';

const MAX_CACHED_CONVERSATIONS = 50_000;

/**
 * Who is in which conversation, cached because every send checks membership
 * and every push needs the member list. Entries are dropped on any membership
 * change (locally, and on other nodes through the broker's members_changed).
 */
export class MemberDirectory {
  private readonly cache = new Map<string, Promise<Map<string, MemberRole>>>();
  private readonly loaded = new Map<string, Map<string, MemberRole>>();

  constructor(private readonly store: Store) {}

  /** Member user ids and roles; loads from the store once, then serves from memory. */
  members(appId: string, conversationId: string): Promise<Map<string, MemberRole>> {
    const key = `${appId}\u0000${conversationId}`;
    let entry = this.cache.get(key);
    if (entry) {
      // Refresh recency so hot conversations stay cached.
      this.cache.delete(key);
      this.cache.set(key, entry);
      return entry;
    }
    const loading = this.store.listMembers(appId, conversationId).then((rows) => {
      const members = new Map(rows.map((m) => [m.user_id, m.role]));
      // Only publish the result if nobody forgot this entry while it loaded.
      if (this.cache.get(key) === loading) this.loaded.set(key, members);
      return members;
    });
    loading.catch(() => this.cache.delete(key));
    entry = loading;
    this.cache.set(key, entry);
    if (this.cache.size > MAX_CACHED_CONVERSATIONS) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) {
        this.cache.delete(oldest);
        this.loaded.delete(oldest);
      }
    }
    return entry;
  }

  /** The cached member list, if loaded: lets the hub deliver without a microtask hop. */
  peek(appId: string, conversationId: string): Map<string, MemberRole> | undefined {
    return this.loaded.get(`${appId}\u0000${conversationId}`);
  }

  async roleOf(appId: string, conversationId: string, userId: string): Promise<MemberRole | undefined> {
    return (await this.members(appId, conversationId)).get(userId);
  }

  forget(appId: string, conversationId: string): void {
    const key = `${appId}\u0000${conversationId}`;
    this.cache.delete(key);
    this.loaded.delete(key);
  }
}
