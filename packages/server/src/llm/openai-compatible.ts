// One adapter for every OpenAI-compatible upstream (OpenAI, Ark, DeepSeek,
// DashScope, Ollama, anything with a base URL), built on the official SDK so
// wire parsing (SSE, base64 embeddings, error bodies) is not ours to get wrong.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { abortError, linkAbort } from './abort.ts';
import { LlmError, parseRetryAfter } from './errors.ts';
import { finishReasonOf, ToolCallAssembler } from './stream.ts';
import { countTextTokens, estimateUsage } from './tokens.ts';
import type { CallOptions, ChatCompletion, ChatRequest, ChatStreamPart, EmbedRequest, EmbedResult, FinishReason, LlmProvider, Usage } from './types.ts';

export interface OpenAICompatibleOptions {
  /** Names the provider in logs and the ledger, e.g. "openai", "deepseek". */
  name: string;
  baseURL: string;
  /** Keyless servers (Ollama) still get a placeholder: the SDK insists on one. */
  apiKey?: string;
  headers?: Record<string, string>;
  /** A last-resort cap on one HTTP request; the router's own timeouts are the ones meant to fire. Default 10 minutes. */
  timeoutMs?: number;
  /** For tests and custom agents (proxies, mTLS). */
  fetch?: typeof fetch;
}

type WireUsage = NonNullable<ChatCompletionChunk['usage']> & {
  // DeepSeek reports cache hits here rather than in prompt_tokens_details.
  prompt_cache_hit_tokens?: number;
};

export function usageFromWire(u: WireUsage): Usage {
  const cached = u.prompt_tokens_details?.cached_tokens ?? u.prompt_cache_hit_tokens ?? 0;
  return {
    promptTokens: u.prompt_tokens,
    completionTokens: u.completion_tokens,
    totalTokens: u.total_tokens ?? u.prompt_tokens + u.completion_tokens,
    cachedTokens: cached,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
    estimated: false,
  };
}

/**
 * Maps whatever the SDK or fetch threw to an LlmError. `streaming` says the
 * response had begun: a failure then is a cut stream, not a connection error.
 */
export function toLlmError(err: unknown, signal: AbortSignal, streaming: boolean): LlmError {
  if (err instanceof LlmError) return err;
  if (signal.aborted || err instanceof APIUserAbortError) return abortError(signal);
  if (err instanceof APIConnectionTimeoutError) return new LlmError('timeout', 'The provider did not answer in time.', { cause: err });
  if (err instanceof APIConnectionError) return new LlmError('connection', `Could not reach the provider: ${err.message}`, { cause: err });
  if (err instanceof APIError) {
    const init = { status: err.status, code: err.code ?? undefined, cause: err };
    const detail = err.message;
    const s = err.status;
    if (s === 429) return new LlmError('rate_limited', `The provider is rate limiting us: ${detail}`, { ...init, retryAfterMs: parseRetryAfter(err.headers) });
    if (s === 400 || s === 413 || s === 422) return new LlmError('bad_request', `The provider rejected the request: ${detail}`, init);
    if (s === 401 || s === 403) return new LlmError('auth', `The provider refused our key; check the provider's API key: ${detail}`, init);
    if (s === 404) return new LlmError('not_found', `The provider does not know this model: ${detail}`, init);
    if (s === 408) return new LlmError('timeout', `The provider timed out: ${detail}`, init);
    // 5xx, 409 (OpenAI's lock timeouts) and errors sent inside a stream (no status).
    return new LlmError('server', `The provider failed: ${detail}`, init);
  }
  if (err instanceof SyntaxError) return new LlmError('malformed', 'The provider sent a reply that is not valid JSON.', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return streaming
    ? new LlmError('cut_stream', `The provider's stream broke off: ${message}`, { cause: err })
    : new LlmError('connection', `Could not reach the provider: ${message}`, { cause: err });
}

function wireBody(request: ChatRequest): Record<string, unknown> {
  const { extra, ...fields } = request;
  return extra ? { ...extra, ...fields } : fields;
}

export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): LlmProvider {
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey || 'none',
    // The router owns retries: it knows about fallbacks, deadlines and circuits.
    maxRetries: 0,
    timeout: options.timeoutMs ?? 600_000,
    logLevel: 'off',
    ...(options.headers ? { defaultHeaders: options.headers } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  async function* chat(request: ChatRequest, callOptions: CallOptions = {}): AsyncGenerator<ChatStreamPart> {
    const link = linkAbort(callOptions.signal);
    const signal = link.signal;
    const body = wireBody(request);
    const extraStreamOptions = (request.extra?.stream_options ?? {}) as Record<string, unknown>;
    // Usage comes only in the final chunk, and only when asked for; without it the ledger would have to guess.
    const params = { ...body, stream: true, stream_options: { ...extraStreamOptions, include_usage: true } } as unknown as ChatCompletionCreateParamsStreaming;
    let streaming = false;
    let text = '';
    let reasoning = '';
    const tools = new ToolCallAssembler();
    let wireUsage: WireUsage | undefined;
    let finishReason: FinishReason | undefined;
    try {
      const stream = await client.chat.completions.create(params, { signal });
      streaming = true;
      for await (const chunk of stream) {
        // The last usage seen is the final one; never add chunks up (some servers repeat running totals).
        if (chunk.usage) wireUsage = chunk.usage as WireUsage;
        const choice = chunk.choices[0];
        if (!choice) continue;
        const delta = choice.delta as ChatCompletionChunk.Choice.Delta & { reasoning_content?: string | null };
        if (delta.reasoning_content) {
          reasoning += delta.reasoning_content;
          yield { type: 'reasoning-delta', text: delta.reasoning_content };
        }
        if (delta.content) {
          text += delta.content;
          yield { type: 'text-delta', text: delta.content };
        }
        if (delta.tool_calls) {
          for (let i = 0; i < delta.tool_calls.length; i++) yield tools.add(delta.tool_calls[i]!, i);
        }
        if (choice.finish_reason && finishReason === undefined) {
          finishReason = finishReasonOf(choice.finish_reason);
          // Tool calls are whole now; hand them over before the usage chunk, so tools can start.
          yield* tools.complete();
        }
      }
    } catch (err) {
      yield { type: 'error', error: toLlmError(err, signal, streaming) };
      return;
    } finally {
      link.dispose();
    }
    // The SDK ends quietly when its signal is aborted mid-stream.
    if (signal.aborted) {
      yield { type: 'error', error: abortError(signal) };
      return;
    }
    if (finishReason === undefined) {
      yield { type: 'error', error: new LlmError('cut_stream', 'The provider ended the stream before the model finished.') };
      return;
    }
    const usage = wireUsage ? usageFromWire(wireUsage) : estimateUsage(request, { text, reasoning, toolCalls: tools.complete() });
    yield { type: 'usage', usage };
    yield { type: 'finish', finishReason, usage };
  }

  async function complete(request: ChatRequest, callOptions: CallOptions = {}): Promise<ChatCompletion> {
    const link = linkAbort(callOptions.signal);
    const params = { ...wireBody(request), stream: false } as unknown as ChatCompletionCreateParamsNonStreaming;
    try {
      const res = await client.chat.completions.create(params, { signal: link.signal });
      const choice = res.choices?.[0];
      if (!choice) throw new LlmError('malformed', 'The provider answered without a choice.');
      const message = choice.message as typeof choice.message & { reasoning_content?: string | null };
      const toolCalls = (message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : []));
      const text = message.content ?? '';
      const reasoning = message.reasoning_content ?? '';
      return {
        id: res.id,
        model: res.model,
        created: res.created,
        text,
        reasoning,
        toolCalls,
        finishReason: finishReasonOf(choice.finish_reason),
        usage: res.usage ? usageFromWire(res.usage as WireUsage) : estimateUsage(request, { text, reasoning, toolCalls }),
        raw: res,
      };
    } catch (err) {
      throw toLlmError(err, link.signal, false);
    } finally {
      link.dispose();
    }
  }

  async function embed(request: EmbedRequest, callOptions: CallOptions = {}): Promise<EmbedResult> {
    const link = linkAbort(callOptions.signal);
    try {
      const res = await client.embeddings.create(
        { model: request.model, input: request.input, ...(request.dimensions ? { dimensions: request.dimensions } : {}) },
        { signal: link.signal },
      );
      const vectors = [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      if (vectors.length !== request.input.length) throw new LlmError('malformed', `Asked for ${request.input.length} embeddings, got ${vectors.length}.`);
      const counted = res.usage?.prompt_tokens;
      const promptTokens = counted ?? request.input.reduce((n, s) => n + countTextTokens(s), 0);
      return { model: res.model, vectors, usage: { promptTokens, totalTokens: res.usage?.total_tokens ?? promptTokens, estimated: counted === undefined } };
    } catch (err) {
      throw toLlmError(err, link.signal, false);
    } finally {
      link.dispose();
    }
  }

  return { name: options.name, chat, complete, embed };
}
