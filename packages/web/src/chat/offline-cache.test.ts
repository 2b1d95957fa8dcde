import type { Message } from '@warbler/sdk';
import { describe, expect, it } from 'vitest';
import { CACHE_LIMITS, cacheOf, clearChatCache, loadChatCache, saveChatCache, type ChatCache } from './offline-cache.ts';

/** localStorage's contract over a Map, with its quota. */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  constructor(private readonly quota = Infinity) {}
  get length() { return this.items.size; }
  clear() { this.items.clear(); }
  getItem(key: string) { return this.items.get(key) ?? null; }
  key(i: number) { return [...this.items.keys()][i] ?? null; }
  removeItem(key: string) { this.items.delete(key); }
  setItem(key: string, value: string) {
    if (value.length > this.quota) throw new DOMException('quota', 'QuotaExceededError');
    this.items.set(key, value);
  }
}

const message = (conversation_id: string, seq: number, text = `m${seq}`, state: Message['state'] = 'complete'): Message => ({
  id: `${conversation_id}-${seq}`, app_id: 'default', conversation_id, seq, sender_id: 'bo', type: 'text', content: { text }, state,
  client_msg_id: null, created_at: seq, updated_at: seq, edited_at: null,
});

const chat = (threads: number, perThread: number, text = 'x'): ChatCache => ({
  conversations: Array.from({ length: threads }, (_, i) => ({ id: `c${i}`, kind: 'direct' as const, title: null, last_message: null, last_activity: i, unread: 0, read_seq: 0 })),
  threads: Array.from({ length: threads }, (_, i) => [`c${i}`, Array.from({ length: perThread }, (_, s) => message(`c${i}`, s + 1, text))] as [string, Message[]]),
  members: [],
  people: [{ id: 'bo', name: 'Bo', kind: 'human', avatar_url: null }],
});

describe('the offline chat cache', () => {
  it('gives back what was saved for that person only, and forgets it at sign-out', () => {
    const storage = new MemoryStorage();
    saveChatCache(storage, 'ann', chat(2, 3));
    const back = loadChatCache(storage, 'ann');
    expect(back?.conversations.map((c) => c.id).sort()).toEqual(['c0', 'c1']);
    expect(back?.threads.find(([id]) => id === 'c1')?.[1].map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(loadChatCache(storage, 'bo')).toBeUndefined();
    clearChatCache(storage, 'ann');
    expect(loadChatCache(storage, 'ann')).toBeUndefined();
  });

  it('keeps the newest conversations and their latest messages, never a reply still streaming', () => {
    const state = chat(CACHE_LIMITS.threads + 5, CACHE_LIMITS.messagesPerThread + 10);
    state.threads[state.threads.length - 1]![1].push(message(`c${CACHE_LIMITS.threads + 4}`, 999, 'half a reply', 'streaming'));
    const kept = JSON.parse(cacheOf(state)!) as ChatCache;
    expect(kept.threads).toHaveLength(CACHE_LIMITS.threads);
    expect(kept.threads.some(([id]) => id === 'c0')).toBe(false);
    const newest = kept.threads.find(([id]) => id === `c${CACHE_LIMITS.threads + 4}`)![1];
    expect(newest).toHaveLength(CACHE_LIMITS.messagesPerThread);
    expect(newest.at(-1)!.seq).toBe(CACHE_LIMITS.messagesPerThread + 10);
  });

  it('trims messages to fit its byte ceiling, and survives a full storage or a corrupt entry', () => {
    const big = chat(CACHE_LIMITS.threads, CACHE_LIMITS.messagesPerThread, 'y'.repeat(2_000));
    const json = cacheOf(big)!;
    expect(json.length).toBeLessThanOrEqual(CACHE_LIMITS.bytes);
    const full = new MemoryStorage(10);
    expect(() => saveChatCache(full, 'ann', chat(1, 1))).not.toThrow();
    expect(loadChatCache(full, 'ann')).toBeUndefined();
    const storage = new MemoryStorage();
    storage.setItem('warbler.chat-cache.ann', '{broken');
    expect(loadChatCache(storage, 'ann')).toBeUndefined();
  });
});
