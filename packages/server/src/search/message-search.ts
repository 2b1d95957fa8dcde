// Message search over a blind index: a message's terms (terms.ts) are stored
// only as HMACs under the app's index key, a query's terms are keyed the same
// way and intersected, and the few messages found are opened (decrypted) to
// check the query as typed and cut a snippet. See decision 0026 for what the
// index reveals and why the key does not follow data-key rotation.
import { createHmac } from 'node:crypto';
import type { Message, MessageSearchResult, SearchHit } from '@warbler/protocol';
import { badRequest, WarblerError } from '../errors.ts';
import { documentTerms, matchRanges, queryTerms, snippetOf } from './terms.ts';
import type { MessageTermsStore } from './search-store.ts';

/** Messages of these types are indexed by their text, caption and file name. */
const INDEXED_TYPES = new Set(['text', 'image', 'file']);
/** Terms a query may need at once (each is one more row per candidate to intersect). */
export const MAX_QUERY_TERMS = 16;
/** Searches one user may run a minute (a path anyone signed in can repeat). */
export const SEARCHES_PER_MINUTE = 30;
/** Candidate pages read per search before answering with what was found (pairs found apart are dropped after decrypting). */
const MAX_ROUNDS = 4;

export interface MessageSearchDeps {
  store: MessageTermsStore;
  /** The app's index key (at-rest room): stable across data-key rotations. */
  indexKey(appId: string): Promise<Buffer>;
  getMessage(appId: string, messageId: string): Promise<Message | undefined>;
  /** Throws not_member when the user is not in the conversation. */
  requireMember(appId: string, conversationId: string, userId: string): Promise<void>;
  /** The per-user search budget; false when spent. */
  take(key: string, perMinute: number): Promise<boolean>;
  onError(err: unknown): void;
}

export interface SearchQuery {
  appId: string;
  userId: string;
  q: string;
  conversationId?: string;
  cursor?: string;
  limit: number;
}

export class MessageSearch {
  constructor(private readonly deps: MessageSearchDeps) {}

  /**
   * Indexes a stored message as it is now (complete: its words; anything else: nothing). Never throws: a send is
   * not undone by the index. `fresh`: never indexed before (a new message, a streaming reply finishing), so there
   * are no old terms to remove.
   */
  async put(message: Message, opts: { fresh?: boolean } = {}): Promise<void> {
    // A reply that is still streaming has never been complete, so it has no terms to remove: no write at all.
    if (message.state === 'streaming') return;
    try {
      const text = message.state === 'complete' && INDEXED_TYPES.has(message.type) ? searchableText(message) : '';
      const terms = text ? await this.keyed(message.app_id, documentTerms(text)) : [];
      if (terms.length === 0) {
        if (!opts.fresh) await this.deps.store.remove(message.app_id, message.id, message.conversation_id);
      } else {
        await this.deps.store.replace(message.app_id, message.id, message.conversation_id, terms, { fresh: opts.fresh });
      }
    } catch (err) {
      this.deps.onError(err);
    }
  }

  async search(query: SearchQuery): Promise<MessageSearchResult> {
    const { terms, pieces } = queryTerms(query.q);
    if (terms.length === 0) throw badRequest('Type a word or some characters to search for: the query has only spaces and punctuation.');
    if (terms.length > MAX_QUERY_TERMS) throw badRequest(`Search for at most ${MAX_QUERY_TERMS} words (or pairs of Chinese characters) at once: shorten the query.`);
    if (!(await this.deps.take(`search:${query.appId}:${query.userId}`, SEARCHES_PER_MINUTE))) {
      throw new WarblerError('rate_limited', `At most ${SEARCHES_PER_MINUTE} searches a minute: wait a moment and search again.`);
    }
    if (query.conversationId) await this.deps.requireMember(query.appId, query.conversationId, query.userId);
    const keyed = await this.keyed(query.appId, terms);
    const scope = query.conversationId ? { conversationId: query.conversationId } : { userId: query.userId };
    const hits: SearchHit[] = [];
    let before = query.cursor;
    let more = true;
    for (let round = 0; round < MAX_ROUNDS && hits.length < query.limit && more; round++) {
      const want = query.limit - hits.length;
      const page = await this.deps.store.find(query.appId, keyed, scope, { before, limit: want + 1 });
      more = page.length > want;
      for (const candidate of page.slice(0, want)) {
        before = candidate.message_id;
        const hit = await this.hit(query.appId, candidate.message_id, pieces);
        if (hit) hits.push(hit);
      }
    }
    return { hits, next_cursor: more ? (before ?? null) : null };
  }

  private async hit(appId: string, messageId: string, pieces: ReturnType<typeof queryTerms>['pieces']): Promise<SearchHit | undefined> {
    const message = await this.deps.getMessage(appId, messageId);
    if (!message || message.state !== 'complete') return undefined;
    const text = searchableText(message);
    const ranges = matchRanges(text, pieces);
    if (!ranges) return undefined;
    const snippet = snippetOf(text, ranges);
    return {
      message_id: message.id, conversation_id: message.conversation_id, seq: message.seq, sender_id: message.sender_id,
      type: message.type, created_at: message.created_at, snippet: snippet.text, highlights: snippet.highlights,
    };
  }

  private async keyed(appId: string, terms: readonly string[]): Promise<string[]> {
    const key = await this.deps.indexKey(appId);
    return this.keyedTerms.of(appId, key, terms);
  }

  private readonly keyedTerms = new KeyedTerms();
}

/** Terms remembered per app, at most; words recur (Zipf), so most of a message's terms are found here. */
const KEYED_TERMS_PER_APP = 8_192;
/** Apps whose keyed terms are remembered at once. */
const KEYED_APPS = 64;

/**
 * The keyed form of each term (HMAC-SHA256 under the app's index key, 16
 * bytes, base64url), remembered: one HMAC through node:crypto is 10–18 µs
 * on this VM and a reply has dozens of terms, most of them words said
 * before. It holds no more than the process already holds (the key, and
 * the texts passing through); a changed key starts the app's over.
 */
export class KeyedTerms {
  private readonly apps = new Map<string, { key: Buffer; terms: Map<string, string> }>();

  of(appId: string, key: Buffer, terms: readonly string[]): string[] {
    let app = this.apps.get(appId);
    if (!app || !app.key.equals(key)) {
      this.apps.delete(appId);
      if (this.apps.size >= KEYED_APPS) this.apps.delete(this.apps.keys().next().value as string);
      this.apps.set(appId, (app = { key: Buffer.from(key), terms: new Map() }));
    }
    const known = app.terms;
    return terms.map((term) => {
      let keyed = known.get(term);
      if (keyed === undefined) {
        keyed = createHmac('sha256', key).update(term).digest().subarray(0, 16).toString('base64url');
        // Oldest first out: a Map iterates in insertion order.
        if (known.size >= KEYED_TERMS_PER_APP) known.delete(known.keys().next().value as string);
        known.set(term, keyed);
      }
      return keyed;
    });
  }
}

/** The words a message is found by: its text, a file's caption and name. */
export function searchableText(message: Message): string {
  const c = message.content as Record<string, unknown>;
  return [c.text, c.caption, c.name].filter((v): v is string => typeof v === 'string' && v.length > 0).join('\n');
}
