// A member's own pin and mute for a conversation. They live on the member row (mute from the start, pinned_at
// since migration 0026) but only their owner reads or writes them, so they have this narrow store and service
// rather than more methods on the shared Store port.
import type { MemberPrefs, MemberPrefsPatch } from '@warbler/protocol';
import { sql, type Kysely } from 'kysely';
import { badRequest, forbidden, notFound } from '../errors.ts';
import type { Actor } from './actor.ts';
import type { PublishChatEvent } from './events.ts';

interface PrefsRow {
  conversation_id: string;
  muted: boolean | number;
  pinned_at: number | string | null;
}

const toPrefs = (r: PrefsRow): MemberPrefs => ({
  conversation_id: r.conversation_id,
  pinned: r.pinned_at !== null,
  muted: Boolean(r.muted),
  pinned_at: r.pinned_at === null ? null : Number(r.pinned_at),
});

export class MemberPrefsStore {
  constructor(private readonly db: Kysely<any>) {}

  /** Sets what the patch names; undefined when the user is not a member. A repeated pin keeps its first time. */
  async set(appId: string, conversationId: string, userId: string, patch: { pinned?: boolean; muted?: boolean }, now: number): Promise<MemberPrefs | undefined> {
    const row = (await this.db
      .updateTable('members')
      .set({
        // SQLite stores booleans as 0/1 and cannot bind true/false; PostgreSQL's boolean accepts '1'/'0' as well.
        ...(patch.muted !== undefined && { muted: sql`${patch.muted ? 1 : 0}` }),
        ...(patch.pinned !== undefined && { pinned_at: patch.pinned ? sql`coalesce(pinned_at, ${now})` : null }),
      })
      .where('app_id', '=', appId)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .returning(['conversation_id', 'muted', 'pinned_at'])
      .executeTakeFirst()) as PrefsRow | undefined;
    return row && toPrefs(row);
  }

  /** The member's pin and mute as stored; undefined when the user is not a member. */
  async get(appId: string, conversationId: string, userId: string): Promise<MemberPrefs | undefined> {
    const row = (await this.db.selectFrom('members').select(['conversation_id', 'muted', 'pinned_at'])
      .where('app_id', '=', appId).where('conversation_id', '=', conversationId).where('user_id', '=', userId)
      .executeTakeFirst()) as PrefsRow | undefined;
    return row && toPrefs(row);
  }

  /** When the user pinned each of these conversations (pinned ones only). */
  async pinnedAt(appId: string, userId: string, conversationIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (conversationIds.length === 0) return out;
    const rows = (await this.db.selectFrom('members').select(['conversation_id', 'pinned_at'])
      .where('app_id', '=', appId).where('user_id', '=', userId).where('pinned_at', 'is not', null)
      .where('conversation_id', 'in', [...conversationIds]).execute()) as Array<{ conversation_id: string; pinned_at: number | string }>;
    for (const r of rows) out.set(r.conversation_id, Number(r.pinned_at));
    return out;
  }
}

export interface MemberPrefsDeps {
  store: MemberPrefsStore;
  /** Throws not_member when the user is not in the conversation. */
  requireMember(appId: string, conversationId: string, userId: string): Promise<void>;
  publish: PublishChatEvent;
}

/** Pin and mute, each member for themselves; the member's other sessions hear a `member.prefs` frame. */
export class MemberPrefsService {
  constructor(private readonly deps: MemberPrefsDeps) {}

  async set(actor: Actor, conversationId: string, patch: MemberPrefsPatch): Promise<MemberPrefs> {
    if (actor.userId && patch.user_id && patch.user_id !== actor.userId) throw forbidden('Pin and mute are your own: with a user token leave user_id out.');
    const who = actor.userId ?? patch.user_id;
    if (!who) throw badRequest('Name the member whose settings change (user_id): app-level calls act for one of your users.');
    await this.deps.requireMember(actor.appId, conversationId, who);
    const now = Date.now();
    const prefs = await this.deps.store.set(actor.appId, conversationId, who, { pinned: patch.pinned, muted: patch.muted }, now);
    if (!prefs) throw notFound('That member');
    // Only the member's own sessions: a pin or mute is nobody else's business.
    this.deps.publish({ to: 'user', app_id: actor.appId, user_id: who, frame: { type: 'member.prefs', ...prefs, ts: now } });
    return prefs;
  }

  /**
   * A mute changed through the older member route (PATCH …/members/:userId,
   * whose permissions it already checked): the member's sessions hear it as
   * they would from `set`, so another tab's unread title follows.
   */
  async announce(appId: string, conversationId: string, userId: string): Promise<void> {
    const prefs = await this.deps.store.get(appId, conversationId, userId);
    if (prefs) this.deps.publish({ to: 'user', app_id: appId, user_id: userId, frame: { type: 'member.prefs', ...prefs, ts: Date.now() } });
  }
}
