import type {
  AddedMembers, Conversation, ConversationPage, CreateConversationBody, FileLink, Member, MemberList, MemberPrefs, MemberPrefsPatch, MemberRole, MessageReactions,
  MessageSearchResult, StoredFile,
} from '@warbler/protocol';
import { WarblerError } from './errors.ts';
import type { TokenSource } from './token.ts';
import { restUrl } from './transport.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** The REST API as the signed-in user: the same token, renewed once if the server says it expired. */
export class Rest {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenSource,
    private readonly fetcher: FetchLike,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response = await this.send(method, path, body, await this.tokens.current());
    if (response.status === 401 && this.tokens.renewable) {
      response = await this.send(method, path, body, await this.tokens.refresh());
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) throw toError(response.status, parsed, text);
    return parsed as T;
  }

  /** A path the server returned, as a full URL on this server. */
  url(path: string): string {
    return restUrl(this.baseUrl, path);
  }

  private async send(method: string, path: string, body: unknown, token: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    try {
      return await this.fetcher(restUrl(this.baseUrl, path), { method, headers, ...(payload !== undefined && { body: payload }) });
    } catch (error) {
      throw new WarblerError('network', `Could not reach the Warbler server: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toError(status: number, body: unknown, text: string): WarblerError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new WarblerError(error.code as WarblerError['code'], error.message, status, error.details);
  }
  // Not a Warbler error body (a proxy's page, say): keep the status, say what came back.
  const code = status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 429 ? 'rate_limited' : status >= 500 ? 'unavailable' : 'bad_request';
  return new WarblerError(code, `The server answered ${status}: ${text.slice(0, 200) || 'no body'}`, status);
}

// REST shapes come from the protocol, as the server declares them (decision 0032).
export type { ConversationPage, FileLink };

/** Conversations through REST, as the signed-in user. */
export class ConversationsApi {
  constructor(
    private readonly rest: Rest,
    /** The signed-in user's id, for leaving. */
    private readonly me: () => Promise<string>,
  ) {}

  /** The user's conversations, most recent activity first. Pass the previous page's `next_cursor` as `cursor` for the next. */
  list(page: { limit?: number; cursor?: string; before?: number } = {}): Promise<ConversationPage> {
    return this.rest.call('GET', `/api/conversations${query(page)}`);
  }

  get(conversationId: string): Promise<Conversation> {
    return this.rest.call('GET', `/api/conversations/${enc(conversationId)}`);
  }

  /** A direct chat (exactly two people; an existing one is returned) or a group. The caller is its owner. */
  async create(input: Omit<CreateConversationBody, 'created_by'> & { member_ids: string[] }): Promise<Conversation> {
    const body = await this.rest.call<Conversation | { conversation: Conversation }>('POST', '/api/conversations', input);
    // The docs say the conversation is returned; tolerate it arriving wrapped too.
    return 'conversation' in body ? body.conversation : body;
  }

  async members(conversationId: string): Promise<Member[]> {
    const body = await this.rest.call<MemberList>('GET', `/api/conversations/${enc(conversationId)}/members`);
    return body.members;
  }

  async addMembers(conversationId: string, userIds: string[], role?: MemberRole): Promise<Member[]> {
    const body = await this.rest.call<AddedMembers>('POST', `/api/conversations/${enc(conversationId)}/members`, {
      user_ids: userIds,
      ...(role && { role }),
    });
    return body.added;
  }

  /** Removes someone else (needs owner or admin). */
  removeMember(conversationId: string, userId: string): Promise<void> {
    return this.rest.call('DELETE', `/api/conversations/${enc(conversationId)}/members/${enc(userId)}`);
  }

  async leave(conversationId: string): Promise<void> {
    return this.removeMember(conversationId, await this.me());
  }

  /**
   * Messages with every word of `q` in the user's conversations (or `conversation_id` only), newest first, each with a
   * plain-text snippet and the matched ranges. Pass the previous page's `next_cursor` as `cursor` for the next.
   */
  searchMessages(search: { q: string; conversation_id?: string; cursor?: string; limit?: number }): Promise<MessageSearchResult> {
    const { q, conversation_id, cursor, limit } = search;
    return this.rest.call('GET', `/api/search/messages${query({ q, conversation_id, cursor, limit })}`);
  }

  /** Pins or unpins a conversation for you alone (apps list pinned ones first); your other devices hear `member.prefs`. */
  pin(conversationId: string, pinned = true): Promise<MemberPrefs> {
    return this.setPrefs(conversationId, { pinned });
  }

  /** Mutes or unmutes a conversation for you alone: no notifications, not counted in the unread total. */
  mute(conversationId: string, muted = true): Promise<MemberPrefs> {
    return this.setPrefs(conversationId, { muted });
  }

  /** Sets your pin and mute for a conversation in one call. */
  setPrefs(conversationId: string, prefs: Omit<MemberPrefsPatch, 'user_id'>): Promise<MemberPrefs> {
    return this.rest.call('PATCH', `/api/conversations/${enc(conversationId)}/prefs`, prefs);
  }

  /** Reacts with one emoji (again: no change); every member hears a `reaction` event. */
  react(messageId: string, emoji: string): Promise<MessageReactions> {
    return this.rest.call('PUT', `/api/messages/${enc(messageId)}/reactions/${enc(emoji)}`);
  }

  /** Takes a reaction back. */
  unreact(messageId: string, emoji: string): Promise<MessageReactions> {
    return this.rest.call('DELETE', `/api/messages/${enc(messageId)}/reactions/${enc(emoji)}`);
  }
}

/** Bytes a browser or Node can hand over: a Blob/File, or a Buffer/Uint8Array/ArrayBuffer. */
export type FileData = Blob | ArrayBuffer | Uint8Array;

export function uploadForm(data: FileData, name: string, mime: string): FormData {
  const blob = data instanceof Blob ? data : new Blob([data as BlobPart], { type: mime });
  const form = new FormData();
  form.set('file', blob.type === mime ? blob : new Blob([blob], { type: mime }), name);
  return form;
}

export function uploadFile(rest: Rest, conversationId: string, data: FileData, name: string, mime: string): Promise<StoredFile> {
  return rest.call('POST', `/api/conversations/${enc(conversationId)}/files`, uploadForm(data, name, mime));
}

export async function fileLink(rest: Rest, fileId: string): Promise<FileLink> {
  const link = await rest.call<FileLink>('GET', `/api/files/${enc(fileId)}/url`);
  return { url: rest.url(link.url), expires_at: link.expires_at };
}

const enc = encodeURIComponent;

/** A query string from the defined params ('' when there are none). */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
