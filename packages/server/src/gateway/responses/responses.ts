// /v1/responses on top of the chat-completions path: a create body becomes a
// chat request (earlier turns from the store when previous_response_id is
// given), runs through the same admission, router, limits and ledger as
// /v1/chat/completions, and its answer becomes a Response. Responses with
// store: true are kept per app and key. While one runs, this node can show
// it (retrieve) and stop it (cancel). Decision record: docs/decisions/0011.
import { randomHex } from '../../ids.ts';
import type { StoredResponseRow } from '../../store/index.ts';
import type { GatewayCaller } from '../caller.ts';
import { invalidRequest, OpenAiError } from '../errors.ts';
import { parseChatBody, type ChatBody } from '../validate.ts';
import { ResponseKeeper } from './keeper.ts';
import { parseResponsesBody, toChatMessages, type InputItem, type ResponsesBody } from './request.ts';
import {
  incompleteReason,
  outputFromChatBody,
  responseIdOfItem,
  responseObject,
  responseUsage,
  usageOfChatBody,
  type ResponseHead,
} from './wire.ts';

export type ResponsesStore = {
  putResponse(row: StoredResponseRow): Promise<void>;
  putResponses(rows: readonly StoredResponseRow[]): Promise<void>;
  getResponse(appId: string, id: string): Promise<StoredResponseRow | undefined>;
  deleteResponse(appId: string, id: string): Promise<boolean>;
};

/** A create body made ready: the chat call to run and what the Response will say. */
export interface PreparedResponse {
  body: ResponsesBody;
  head: ResponseHead;
  chat: ChatBody;
  /** Items of earlier turns (for storing with this one). */
  history: InputItem[];
  /** This turn's items with ids, resolved (for storing and input_items). */
  input: InputItem[];
}

/** A response this node is running: what retrieve shows and cancel stops. */
export interface RunningResponse {
  readonly id: string;
  cancelled: boolean;
  snapshot(status: 'in_progress' | 'cancelled'): Record<string, unknown>;
  /** Ends the response (idempotent): called by the route however it ended. */
  end(): void;
}

/** What a cancel stops: the AbortController of a stream, or the StopSignal a JSON call's router follows. */
export interface Stoppable {
  abort(reason?: unknown): void;
}

type RunningMap = Map<string, { caller: GatewayCaller; run: RunningResponse; abort: Stoppable }>;

/** A class, not an object with an arrow: under tsx each such arrow made per call is named at run time (esbuild's keepNames), 1 % of a call's CPU. */
class Running implements RunningResponse {
  cancelled = false;

  constructor(
    readonly id: string,
    readonly snapshot: (status: 'in_progress' | 'cancelled') => Record<string, unknown>,
    private readonly running: RunningMap,
    private readonly key: string,
  ) {}

  end(): void {
    if (this.running.get(this.key)?.run === this) this.running.delete(this.key);
  }
}

const notFound = (id: string) =>
  new OpenAiError(404, `No response with id '${id}' for this key: it was never stored (store: false), was deleted, or another key created it.`, 'invalid_request_error', 'not_found', 'response_id');

export class Responses {
  private readonly running: RunningMap = new Map();
  private readonly keeper: ResponseKeeper;

  constructor(
    private readonly store: ResponsesStore,
    private readonly now: () => number = Date.now,
  ) {
    this.keeper = new ResponseKeeper(store);
  }

  newId(): string {
    // The creation time first, in fixed-width hex (ids sort by time), then 12 random bytes from the shared pool (a
    // randomBytes call per response was 1.4 % of the path's CPU). A random key put each stored response on a random
    // page of the responses index: one more dirtied page and WAL frame per insert, as ids.ts says of newOrderedId.
    return `resp_${Math.floor(this.now()).toString(16).padStart(12, '0')}${randomHex(12)}`;
  }

  /** Checks a create body and builds its chat call (reading the previous response and referenced items); throws OpenAiErrors. */
  async prepare(caller: GatewayCaller, raw: unknown): Promise<PreparedResponse> {
    const body = parseResponsesBody(raw);
    const id = this.newId();
    let history: InputItem[] = [];
    if (body.previousResponseId) {
      const previous = await this.owned(caller, body.previousResponseId, 'previous_response_id');
      if (previous.status === 'in_progress') throw invalidRequest(`Previous response '${previous.id}' is still in progress; wait for it to finish.`, 'previous_response_id');
      history = [...previous.history, ...previous.input, ...((previous.body.output as InputItem[] | undefined) ?? [])];
    }
    const input = await this.resolveReferences(caller, body.input, history);
    const withIds = input.map((item, n) => withId(item, `${id.replace(/^resp_/, 'item_')}_${n}`));
    const chatBody: Record<string, unknown> = { model: body.model, messages: toChatMessages([...history, ...withIds], body.instructions), ...body.chatFields };
    const chat = parseChatBody(chatBody);
    chat.stream = body.stream;
    chat.includeUsage = true;
    const head: ResponseHead = {
      id,
      created_at: Math.floor(this.now() / 1000),
      model: body.model,
      instructions: body.instructions,
      previous_response_id: body.previousResponseId,
      store: body.store,
      echo: body.echo,
    };
    return { body, head, chat, history, input: withIds };
  }

  /**
   * Registers a response as running on this node until `end()`; `snapshot`
   * shows it as it stands. `abort` is what its upstream call follows.
   */
  track(caller: GatewayCaller, prepared: PreparedResponse, abort: Stoppable, snapshot: (status: 'in_progress' | 'cancelled') => Record<string, unknown>): RunningResponse {
    const key = `${caller.appId}\u0000${prepared.head.id}`;
    const run = new Running(prepared.head.id, snapshot, this.running, key);
    this.running.set(key, { caller, run, abort });
    return run;
  }

  /** The Response of a finished non-streamed call, from the chat body the gateway relays (keep() stores it). */
  finishJson(prepared: PreparedResponse, chatBody: Record<string, unknown>): Record<string, unknown> {
    const { output, finish } = outputFromChatBody(prepared.head.id, chatBody);
    const incomplete = incompleteReason(finish);
    return responseObject(prepared.head, incomplete ? 'incomplete' : 'completed', output, responseUsage(usageOfChatBody(chatBody)), { incomplete });
  }

  /**
   * Stores a finished, failed or cancelled Response when the request said
   * store (the default). `json` is the response as JSON text when the caller
   * has serialised it already (for the client): stored as it is.
   */
  async keep(prepared: PreparedResponse, caller: GatewayCaller, response: Record<string, unknown>, json?: string): Promise<void> {
    if (!prepared.body.store) return;
    await this.keeper.put({
      app_id: caller.appId,
      id: prepared.head.id,
      key_id: caller.key?.id ?? null,
      status: String(response.status),
      previous_response_id: prepared.head.previous_response_id,
      body: response,
      ...(json !== undefined && { bodyJson: json }),
      input: prepared.input,
      history: prepared.history,
      created_at: prepared.head.created_at * 1000,
    });
  }

  /** GET /v1/responses/:id: a stored response, or one still running on this node. */
  async retrieve(caller: GatewayCaller, id: string): Promise<Record<string, unknown>> {
    const live = this.running.get(`${caller.appId}\u0000${id}`);
    if (live && mayRead(caller, live.caller.key?.id ?? null)) return live.run.snapshot(live.run.cancelled ? 'cancelled' : 'in_progress');
    return (await this.owned(caller, id)).body;
  }

  /** POST /v1/responses/:id/cancel: stops a response still running on this node; a finished one cannot be. */
  async cancel(caller: GatewayCaller, id: string): Promise<Record<string, unknown>> {
    const live = this.running.get(`${caller.appId}\u0000${id}`);
    if (live && mayRead(caller, live.caller.key?.id ?? null)) {
      live.run.cancelled = true;
      live.abort.abort();
      return live.run.snapshot('cancelled');
    }
    const row = await this.owned(caller, id);
    if (row.status === 'cancelled') return row.body;
    throw invalidRequest(`Response '${id}' is ${row.status}: only a response still in progress can be cancelled.`, 'response_id');
  }

  async delete(caller: GatewayCaller, id: string): Promise<Record<string, unknown>> {
    await this.owned(caller, id);
    await this.store.deleteResponse(caller.appId, id);
    return { id, object: 'response.deleted', deleted: true };
  }

  /** GET /v1/responses/:id/input_items: this turn's input items, newest first by default, in pages after an id. */
  async inputItems(caller: GatewayCaller, id: string, query: Record<string, unknown>): Promise<Record<string, unknown>> {
    const row = await this.owned(caller, id);
    const limit = query.limit === undefined ? 20 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidRequest('limit must be a whole number from 1 to 100.', 'limit');
    const order = query.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw invalidRequest('order must be asc or desc.', 'order');
    let items = order === 'desc' ? [...row.input].reverse() : row.input;
    if (typeof query.after === 'string') {
      const at = items.findIndex((i) => i.id === query.after);
      items = at < 0 ? [] : items.slice(at + 1);
    }
    const data = items.slice(0, limit);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: items.length > limit };
  }

  private async owned(caller: GatewayCaller, id: string, param = 'response_id'): Promise<StoredResponseRow> {
    const row = await this.store.getResponse(caller.appId, id);
    if (!row || !mayRead(caller, row.key_id)) {
      const e = notFound(id);
      throw param === 'response_id' ? e : new OpenAiError(404, e.message, e.type, e.code, param);
    }
    return row;
  }

  /**
   * item_reference items (the AI SDK sends them for earlier output when
   * store is on) replaced by the items they name: from this chain's
   * history, or from the stored response whose id the item id carries.
   */
  private async resolveReferences(caller: GatewayCaller, input: InputItem[], history: InputItem[]): Promise<InputItem[]> {
    if (!input.some((i) => i.type === 'item_reference')) return input;
    const known = new Map<string, InputItem>();
    for (const item of history) if (typeof item.id === 'string') known.set(item.id, item);
    const loaded = new Set<string>();
    const out: InputItem[] = [];
    for (const item of input) {
      if (item.type !== 'item_reference') {
        out.push(item);
        continue;
      }
      const ref = item.id as string;
      const responseId = responseIdOfItem(ref);
      if (!known.has(ref) && responseId && !loaded.has(responseId)) {
        loaded.add(responseId);
        const row = await this.store.getResponse(caller.appId, responseId);
        if (row && mayRead(caller, row.key_id)) for (const o of (row.body.output as InputItem[] | undefined) ?? []) known.set(o.id as string, o);
      }
      const found = known.get(ref);
      if (!found) throw new OpenAiError(404, `Item '${ref}' not found: it belongs to no stored response of this key (responses made with store: false are not kept).`, 'invalid_request_error', 'not_found', 'input');
      out.push(found);
    }
    return out;
  }
}

/** A virtual key reads what it made; the master key reads its app's. */
const mayRead = (caller: GatewayCaller, keyId: string | null) => caller.key === null || caller.key.id === keyId;

/** An item as input_items lists it: with an id, and a message's text as content parts. */
function withId(item: InputItem, id: string): InputItem {
  const type = item.type ?? 'message';
  if (type === 'message' && typeof item.content === 'string') {
    const part = item.role === 'assistant' ? { type: 'output_text', text: item.content, annotations: [] } : { type: 'input_text', text: item.content };
    return { id: item.id ?? id, type: 'message', role: item.role, content: [part], status: 'completed' };
  }
  return item.id ? { type, ...item } : { id, type, ...item };
}
