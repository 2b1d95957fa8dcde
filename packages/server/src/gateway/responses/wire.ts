// The Responses API's wire shapes: the Response object, its output items,
// and the SSE events of a streamed response, built from what the router
// gives (a chat.completion body, or stream parts). Item ids carry their
// response's id (msg_<rest>_<n>), so an item_reference finds its response.
import type { ChatStreamPart, FinishReason, Usage } from '../../llm/index.ts';
import type { ResponseEcho } from './request.ts';

export type OutputItem = Record<string, unknown>;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export const responseUsage = (u: Usage): ResponseUsage => ({
  input_tokens: u.promptTokens,
  input_tokens_details: { cached_tokens: u.cachedTokens },
  output_tokens: u.completionTokens,
  output_tokens_details: { reasoning_tokens: u.reasoningTokens },
  total_tokens: u.totalTokens,
});

/** The part of a response id after `resp_`, shared by its items' ids. */
const idTail = (responseId: string) => responseId.slice(5);
export const messageItemId = (responseId: string, n: number) => `msg_${idTail(responseId)}_${n}`;
export const callItemId = (responseId: string, n: number) => `fc_${idTail(responseId)}_${n}`;

/** The response an item id belongs to (`msg_x_0` → `resp_x`), or undefined for ids not minted here. */
export function responseIdOfItem(itemId: string): string | undefined {
  const m = /^(?:msg|fc)_(.+)_\d+$/.exec(itemId);
  return m ? `resp_${m[1]}` : undefined;
}

export interface ResponseHead {
  id: string;
  created_at: number;
  model: string;
  instructions: string | null;
  previous_response_id: string | null;
  store: boolean;
  echo: ResponseEcho;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed' | 'cancelled';

/** A Response object with OpenAI's fields in OpenAI's order. */
export function responseObject(
  head: ResponseHead,
  status: ResponseStatus,
  output: OutputItem[],
  usage: ResponseUsage | null,
  extra: { error?: { code: string; message: string } | null; incomplete?: string | null } = {},
): Record<string, unknown> {
  const e = head.echo;
  return {
    id: head.id,
    object: 'response',
    created_at: head.created_at,
    status,
    background: false,
    error: extra.error ?? null,
    incomplete_details: extra.incomplete ? { reason: extra.incomplete } : null,
    instructions: head.instructions,
    max_output_tokens: e.max_output_tokens,
    model: head.model,
    output,
    parallel_tool_calls: e.parallel_tool_calls,
    previous_response_id: head.previous_response_id,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: head.store,
    temperature: e.temperature,
    text: e.text,
    tool_choice: e.tool_choice,
    tools: e.tools,
    top_p: e.top_p,
    truncation: 'disabled',
    usage,
    user: e.user,
    metadata: e.metadata,
  };
}

/** `length` stops a response short: OpenAI calls that incomplete, for max_output_tokens (or content_filter). */
export function incompleteReason(finish: FinishReason | string | null | undefined): string | null {
  if (finish === 'length') return 'max_output_tokens';
  if (finish === 'content_filter') return 'content_filter';
  return null;
}

export const messageItem = (id: string, text: string, status = 'completed'): OutputItem => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
});

export const callItem = (id: string, callId: string, name: string, args: string, status = 'completed'): OutputItem => ({
  id,
  type: 'function_call',
  status,
  arguments: args,
  call_id: callId,
  name,
});

interface ChatBodyMessage {
  content?: string | null;
  refusal?: string | null;
  tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> | null;
}

/** The output items of a non-streamed answer, from the chat.completion body the gateway relays for chat. */
export function outputFromChatBody(responseId: string, body: Record<string, unknown>): { output: OutputItem[]; finish: string | null } {
  const choice = (body.choices as Array<{ message?: ChatBodyMessage; finish_reason?: string | null }> | undefined)?.[0];
  const message = choice?.message ?? {};
  const output: OutputItem[] = [];
  const text = message.content ?? message.refusal ?? '';
  if (text !== '') output.push(messageItem(messageItemId(responseId, 0), text));
  (message.tool_calls ?? []).forEach((c, i) => {
    output.push(callItem(callItemId(responseId, i), c.id ?? `call_${i}`, c.function?.name ?? '', c.function?.arguments ?? ''));
  });
  if (output.length === 0) output.push(messageItem(messageItemId(responseId, 0), ''));
  return { output, finish: choice?.finish_reason ?? null };
}

/** A chat.completion body's usage in our terms (the relayed body is upstream's, or ours for in-process models). */
export function usageOfChatBody(body: Record<string, unknown>): Usage {
  const u = (body.usage ?? {}) as {
    prompt_tokens?: number;
    completion_tokens?: number;
    total_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
    completion_tokens_details?: { reasoning_tokens?: number } | null;
    prompt_cache_hit_tokens?: number;
  };
  const prompt = u.prompt_tokens ?? 0;
  const completion = u.completion_tokens ?? 0;
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: u.total_tokens ?? prompt + completion,
    cachedTokens: u.prompt_tokens_details?.cached_tokens ?? u.prompt_cache_hit_tokens ?? 0,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
    estimated: false,
  };
}

/** What an output text or function call is while it streams. */
interface OpenItem {
  index: number;
  item: OutputItem;
  text: string;
  /** Chat's tool-call index, for a function call. */
  toolIndex?: number;
}

/**
 * Turns router parts into the Responses SSE events in OpenAI's order:
 * response.created, response.in_progress, then per output item
 * output_item.added → (content_part.added → output_text.delta* →
 * output_text.done → content_part.done | function_call_arguments.delta* →
 * function_call_arguments.done) → output_item.done, and last
 * response.completed (or response.incomplete). Every event carries a
 * sequence_number. The writer also keeps the items, for storing.
 */
export class ResponseEventWriter {
  private seq = 0;
  private open: OpenItem | undefined;
  readonly output: OutputItem[] = [];
  private messages = 0;
  private calls = 0;
  private readonly callsByToolIndex = new Map<number, OpenItem>();

  constructor(private readonly head: ResponseHead) {}

  private event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...fields })}\n\n`;
  }

  /**
   * The event carrying the final Response, and that Response as JSON: the
   * same text `event()` writes (type and number are plain ASCII and an
   * integer), with the Response serialised once, for the client and the store.
   */
  private responseEvent(type: string, response: Record<string, unknown>): { text: string; json: string } {
    const json = JSON.stringify(response);
    return { text: `event: ${type}\ndata: {"type":"${type}","sequence_number":${this.seq++},"response":${json}}\n\n`, json };
  }

  /** response.created and response.in_progress: what goes out before the model's first word. */
  opening(): string {
    const r = responseObject(this.head, 'in_progress', [], null);
    return this.event('response.created', { response: r }) + this.event('response.in_progress', { response: r });
  }

  /** The SSE text for one part ('' when the part has nothing for the client). */
  part(p: ChatStreamPart): string {
    switch (p.type) {
      case 'text-delta': {
        let out = '';
        if (this.open?.item.type !== 'message') out += this.closeOpen() + this.openMessage();
        const open = this.open!;
        open.text += p.text;
        return out + this.event('response.output_text.delta', { item_id: open.item.id, output_index: open.index, content_index: 0, delta: p.text, logprobs: [] });
      }
      case 'tool-call-delta': {
        let out = '';
        let open = this.callsByToolIndex.get(p.index);
        if (!open) {
          out += this.closeOpen();
          open = this.openCall(p.index, p.id ?? `call_${p.index}`, p.name ?? '');
          out += this.event('response.output_item.added', { output_index: open.index, item: open.item });
        }
        if (p.argumentsDelta === '') return out;
        open.text += p.argumentsDelta;
        return out + this.event('response.function_call_arguments.delta', { item_id: open.item.id, output_index: open.index, delta: p.argumentsDelta });
      }
      default:
        // start, reasoning (not carried by this translation), usage and tool-call (the deltas carried them), finish and error (finish()/fail()).
        return '';
    }
  }

  /** Closes what is open and writes the final response event; returns it and the final Response object (and its JSON). */
  finish(finishReason: FinishReason, usage: Usage): { text: string; response: Record<string, unknown>; json: string } {
    const out = this.closeOpen() + (this.output.length === 0 ? this.openMessage() + this.closeOpen() : '');
    const incomplete = incompleteReason(finishReason);
    const response = responseObject(this.head, incomplete ? 'incomplete' : 'completed', this.output, responseUsage(usage), { incomplete });
    const last = this.responseEvent(incomplete ? 'response.incomplete' : 'response.completed', response);
    return { text: out + last.text, response, json: last.json };
  }

  /**
   * An `error` event (with an `error` object too, so the OpenAI SDKs raise it
   * as an APIError mid-stream, as they do for chat) and response.failed.
   */
  fail(
    error: { code: string | null; message: string; type: string; param: string | null },
    usage: Usage | null,
    status: 'failed' | 'cancelled' = 'failed',
  ): { text: string; response: Record<string, unknown>; json: string } {
    const code = error.code ?? error.type;
    // What was streamed before the failure stays in the output, marked incomplete.
    const output = this.output.map((item) => (item === this.open?.item ? { ...this.openSnapshot(this.open), status: 'incomplete' } : item));
    const response = responseObject(this.head, status, output, usage ? responseUsage(usage) : null, { error: { code, message: error.message } });
    const errorEvent = this.event('error', { code, message: error.message, param: error.param, error });
    const last = this.responseEvent('response.failed', response);
    return { text: errorEvent + last.text, response, json: last.json };
  }

  /** The Response as it stands, for a retrieve while it streams, or a cancel. */
  snapshot(status: ResponseStatus): Record<string, unknown> {
    const items = this.output.map((item) => (item === this.open?.item ? this.openSnapshot(this.open) : item));
    return responseObject(this.head, status, items, null);
  }

  private openSnapshot(open: OpenItem): OutputItem {
    const item = open.item;
    return item.type === 'message'
      ? messageItem(item.id as string, open.text, 'in_progress')
      : callItem(item.id as string, item.call_id as string, item.name as string, open.text, 'in_progress');
  }

  private openMessage(): string {
    const id = messageItemId(this.head.id, this.messages++);
    const item: OutputItem = { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    this.open = { index: this.output.length, item, text: '' };
    this.output.push(item);
    return (
      this.event('response.output_item.added', { output_index: this.open.index, item }) +
      this.event('response.content_part.added', { item_id: id, output_index: this.open.index, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } })
    );
  }

  private openCall(toolIndex: number, callId: string, name: string): OpenItem {
    const item = callItem(callItemId(this.head.id, this.calls++), callId, name, '', 'in_progress');
    const open: OpenItem = { index: this.output.length, item, text: '', toolIndex };
    this.output.push(item);
    this.callsByToolIndex.set(toolIndex, open);
    this.open = open;
    return open;
  }

  private closeOpen(): string {
    const open = this.open;
    if (!open) return '';
    this.open = undefined;
    const id = open.item.id as string;
    if (open.item.type === 'message') {
      const done = messageItem(id, open.text);
      this.output[open.index] = done;
      const part = (done.content as unknown[])[0];
      return (
        this.event('response.output_text.done', { item_id: id, output_index: open.index, content_index: 0, text: open.text, logprobs: [] }) +
        this.event('response.content_part.done', { item_id: id, output_index: open.index, content_index: 0, part }) +
        this.event('response.output_item.done', { output_index: open.index, item: done })
      );
    }
    const done = callItem(id, open.item.call_id as string, open.item.name as string, open.text);
    this.output[open.index] = done;
    return (
      this.event('response.function_call_arguments.done', { item_id: id, output_index: open.index, name: done.name, arguments: open.text }) +
      this.event('response.output_item.done', { output_index: open.index, item: done })
    );
  }
}
