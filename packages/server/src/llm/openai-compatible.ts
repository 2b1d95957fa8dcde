// One adapter for every OpenAI-compatible upstream (OpenAI, Ark, DeepSeek,
// DashScope, Ollama, anything with a base URL). The wire is read by
// UpstreamHttp (undici + eventsource-parser); this file turns chunks and
// bodies into the provider port's parts and completions.
import type { Dispatcher } from 'undici';
import { abortError } from './abort.ts';
import { LlmError } from './errors.ts';
import { finishReasonOf, ToolCallAssembler } from './stream.ts';
import { countTextTokens, estimateUsage } from './tokens.ts';
import type { CallOptions, ChatCompletion, ChatRequest, ChatStreamPart, EmbedRequest, EmbedResult, FinishReason, LlmProvider, Usage } from './types.ts';
import { UpstreamHttp } from './upstream-http.ts';
import { rerank, speak, transcribe } from './openai-media.ts';

export interface OpenAICompatibleOptions {
  /** Names the provider in logs and the ledger, e.g. "openai", "deepseek". */
  name: string;
  baseURL: string;
  /** Unset for keyless servers (Ollama). */
  apiKey?: string;
  headers?: Record<string, string>;
  /** A last-resort cap on one HTTP request; the router's own timeouts are the ones meant to fire. Default 10 minutes. */
  timeoutMs?: number;
  /** An undici dispatcher to send through instead of the built-in keep-alive pool (custom proxies, mTLS, tests). */
  dispatcher?: Dispatcher;
}

/** The usage object of OpenAI-compatible bodies and final stream chunks. */
interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
  // DeepSeek reports cache hits here rather than in prompt_tokens_details.
  prompt_cache_hit_tokens?: number;
}

interface WireToolCallFragment {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface WireChunk {
  choices?: Array<{
    delta?: { content?: string | null; reasoning_content?: string | null; tool_calls?: WireToolCallFragment[] | null };
    finish_reason?: string | null;
  }>;
  usage?: WireUsage | null;
}

interface WireCompletion {
  id?: string;
  model?: string;
  created?: number;
  choices?: Array<{
    message?: { content?: string | null; reasoning_content?: string | null; tool_calls?: Array<{ id: string; type?: string; function?: { name: string; arguments: string } }> | null };
    finish_reason?: string | null;
  }>;
  usage?: WireUsage | null;
}

interface WireEmbeddings {
  model?: string;
  data?: Array<{ index: number; embedding: number[] | string }>;
  usage?: { prompt_tokens?: number; total_tokens?: number };
}

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

/** A base64 embedding (little-endian float32s, what `encoding_format: "base64"` returns) as numbers. */
function decodeEmbedding(e: number[] | string): number[] {
  if (typeof e !== 'string') return e;
  let bytes = Buffer.from(e, 'base64');
  // Small buffers come from Node's shared pool, not always at a multiple of 4.
  if (bytes.byteOffset % 4 !== 0) bytes = Buffer.from(bytes);
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  return Array.from(floats);
}

function wireBody(request: ChatRequest): Record<string, unknown> {
  const { extra, ...fields } = request;
  return extra ? { ...extra, ...fields } : fields;
}

export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): LlmProvider {
  const http = new UpstreamHttp(options);

  async function* chat(request: ChatRequest, callOptions: CallOptions = {}): AsyncGenerator<ChatStreamPart> {
    // The caller's signal as it is: the router already gives each attempt its own, so no child controller here.
    const signal = callOptions.stop ?? callOptions.signal;
    const extraStreamOptions = (request.extra?.stream_options ?? {}) as Record<string, unknown>;
    // Usage comes only in the final chunk, and only when asked for; without it the ledger would have to guess.
    const body = { ...wireBody(request), stream: true, stream_options: { ...extraStreamOptions, include_usage: true } };
    let text = '';
    let reasoning = '';
    const tools = new ToolCallAssembler();
    let wireUsage: WireUsage | undefined;
    let finishReason: FinishReason | undefined;
    try {
      for await (const chunks of http.postEvents('/chat/completions', body, signal)) {
        for (const raw of chunks) {
          const chunk = raw as WireChunk;
          // The last usage seen is the final one; never add chunks up (some servers repeat running totals).
          if (chunk.usage) wireUsage = chunk.usage;
          const choice = chunk.choices?.[0];
          if (!choice) continue;
          const delta = choice.delta;
          if (delta?.reasoning_content) {
            reasoning += delta.reasoning_content;
            yield { type: 'reasoning-delta', text: delta.reasoning_content };
          }
          if (delta?.content) {
            text += delta.content;
            yield { type: 'text-delta', text: delta.content };
          }
          if (delta?.tool_calls) {
            for (let i = 0; i < delta.tool_calls.length; i++) yield tools.add(delta.tool_calls[i]!, i);
          }
          if (choice.finish_reason && finishReason === undefined) {
            finishReason = finishReasonOf(choice.finish_reason);
            // Tool calls are whole now; hand them over before the usage chunk, so tools can start.
            yield* tools.complete();
          }
        }
      }
    } catch (err) {
      // Our reading of a chunk failed on its shape: the provider's fault (retried, counted), but the engine's text stays in `cause`.
      yield { type: 'error', error: err instanceof LlmError ? err : new LlmError('malformed', 'The provider sent a chunk we could not read.', { cause: err }) };
      return;
    }
    if (signal?.aborted) {
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
    const answer = await http.postJsonText('/chat/completions', { ...wireBody(request), stream: false }, callOptions.stop ?? callOptions.signal);
    const res = answer.json as WireCompletion;
    const choice = res?.choices?.[0];
    if (!choice?.message) throw new LlmError('malformed', 'The provider answered without a choice.');
    const message = choice.message;
    const toolCalls = (message.tool_calls ?? []).flatMap((c) =>
      (c.type ?? 'function') === 'function' && c.function ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
    );
    const text = message.content ?? '';
    const reasoning = message.reasoning_content ?? '';
    return {
      id: res.id ?? '',
      model: res.model ?? request.model,
      created: res.created ?? Math.floor(Date.now() / 1000),
      text,
      reasoning,
      toolCalls,
      finishReason: finishReasonOf(choice.finish_reason),
      usage: res.usage ? usageFromWire(res.usage) : estimateUsage(request, { text, reasoning, toolCalls }),
      raw: res,
      rawText: answer.text,
    };
  }

  async function embed(request: EmbedRequest, callOptions: CallOptions = {}): Promise<EmbedResult> {
    // base64 is a third of the bytes of a JSON float list; servers that ignore the field send the list, which we also read.
    const body = { model: request.model, input: request.input, encoding_format: 'base64', ...(request.dimensions ? { dimensions: request.dimensions } : {}) };
    const res = (await http.postJson('/embeddings', body, callOptions.stop ?? callOptions.signal)) as WireEmbeddings;
    if (!Array.isArray(res?.data)) throw new LlmError('malformed', 'The provider answered embeddings without data.');
    const vectors = [...res.data].sort((a, b) => a.index - b.index).map((d) => decodeEmbedding(d.embedding));
    if (vectors.length !== request.input.length) throw new LlmError('malformed', `Asked for ${request.input.length} embeddings, got ${vectors.length}.`);
    const counted = res.usage?.prompt_tokens;
    const promptTokens = counted ?? request.input.reduce((n, s) => n + countTextTokens(s), 0);
    return { model: res.model ?? request.model, vectors, usage: { promptTokens, totalTokens: res.usage?.total_tokens ?? promptTokens, estimated: counted === undefined } };
  }

  return {
    name: options.name,
    chat,
    complete,
    embed,
    transcribe: (request, o) => transcribe(http, request, o),
    speak: (request, o) => speak(http, request, o),
    rerank: (request, o) => rerank(http, request, o),
    close: () => http.close(),
  };
}
