import type { Member, Message } from '@warbler/sdk';
import type { ConversationView, Person } from './store.ts';

// What the chat last showed, kept in the browser so a reload without network
// (the service worker serves the app itself) shows the person's conversations
// and their recent messages instead of an empty screen. A display cache only:
// on reconnect everything is fetched again and the SDK syncs by seq, so a stale
// or dropped cache can cost a moment of staleness, never a message.

export interface ChatCache {
  conversations: ConversationView[];
  threads: Array<[string, Message[]]>;
  members: Array<[string, Member[]]>;
  people: Person[];
}

const VERSION = 1;
/** Messages kept per conversation, conversations kept, and a ceiling on the whole: localStorage is ~5 MB per origin, shared with the SDK's outbox. */
export const CACHE_LIMITS = { messagesPerThread: 50, threads: 30, bytes: 1_500_000 };

const keyFor = (userId: string) => `warbler.chat-cache.${userId}`;

/** The cache to write: the newest conversations' recent messages, trimmed until it fits the byte ceiling. */
export function cacheOf(state: ChatCache): string | undefined {
  const conversations = [...state.conversations].sort((a, b) => b.last_activity - a.last_activity);
  const keep = new Set(conversations.slice(0, CACHE_LIMITS.threads).map((c) => c.id));
  let perThread = CACHE_LIMITS.messagesPerThread;
  while (perThread >= 5) {
    const threads = state.threads
      .filter(([id]) => keep.has(id))
      .map(([id, list]) => [id, list.filter((m) => m.state !== 'streaming').slice(-perThread)] as [string, Message[]]);
    const json = JSON.stringify({ v: VERSION, conversations, threads, members: state.members.filter(([id]) => keep.has(id)), people: state.people });
    if (json.length <= CACHE_LIMITS.bytes) return json;
    perThread = Math.floor(perThread / 2);
  }
  return undefined;
}

export function saveChatCache(storage: Storage, userId: string, state: ChatCache): void {
  const json = cacheOf(state);
  try {
    if (json) storage.setItem(keyFor(userId), json);
    else storage.removeItem(keyFor(userId));
  } catch {
    // Quota exceeded or storage disabled: the app works without it, only an offline reload shows less.
    try { storage.removeItem(keyFor(userId)); } catch { /* nothing to do */ }
  }
}

export function loadChatCache(storage: Storage, userId: string): ChatCache | undefined {
  try {
    const raw = storage.getItem(keyFor(userId));
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as Partial<ChatCache> & { v?: number };
    if (parsed.v !== VERSION || !Array.isArray(parsed.conversations) || !Array.isArray(parsed.threads) || !Array.isArray(parsed.members) || !Array.isArray(parsed.people)) return undefined;
    return { conversations: parsed.conversations, threads: parsed.threads, members: parsed.members, people: parsed.people };
  } catch {
    return undefined;
  }
}

/** Signing out forgets what this browser kept of the person's chats. */
export function clearChatCache(storage: Storage, userId: string): void {
  try { storage.removeItem(keyFor(userId)); } catch { /* nothing to do */ }
}
