// The provider port. Requests are the OpenAI chat-completions wire shape
// (snake_case) because every provider we speak to — OpenAI, Ark, DeepSeek,
// DashScope, Ollama — takes it, and the /v1 gateway can hand a client's body
// through untouched. What comes back is ours (camelCase, typed stream parts
// in the style of the Vercel AI SDK) so callers never parse wire chunks.
import type { StopSignal } from './abort.ts';
import type { LlmError } from './errors.ts';
import type { Reranking, RerankRequest, Speech, SpeechRequest, TranscribeRequest, Transcription } from './media.ts';

export interface TextPart {
  type: 'text';
  text: string;
}
export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}
export type ContentPart = TextPart | ImagePart;

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'developer'; content: string | TextPart[]; name?: string }
  | { role: 'user'; content: string | ContentPart[]; name?: string }
  | { role: 'assistant'; content?: string | TextPart[] | null; name?: string; tool_calls?: WireToolCall[] }
  | { role: 'tool'; content: string | TextPart[]; tool_call_id: string };

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean; description?: string } };

export interface ChatRequest {
  /** A route name for the Router; the upstream model name for a provider. */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string | string[];
  seed?: number;
  user?: string;
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  /** Any other OpenAI-compatible body fields, sent as they are (the gateway passes client fields through). */
  extra?: Record<string, unknown>;
}

/** Token counts of one call. Cached tokens are a subset of prompt tokens; reasoning tokens of completion tokens. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** True when we counted with the o200k tokenizer because upstream reported nothing. */
  estimated: boolean;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | 'other';

export interface ToolCall {
  id: string;
  name: string;
  /** The JSON arguments string exactly as the model produced it (it may not parse). */
  arguments: string;
}

/**
 * What a chat stream yields. Failures are parts too: a stream always ends with
 * either `finish` or `error`, and iterating it never throws for upstream trouble.
 */
export type ChatStreamPart =
  /** Router only: the first content is about to follow; says which deployment answers. */
  | { type: 'start'; model: string; deployment: string; upstreamModel: string; attempt: number }
  | { type: 'text-delta'; text: string }
  /** Chain-of-thought text some providers stream separately (DeepSeek, Qwen: `reasoning_content`). */
  | { type: 'reasoning-delta'; text: string }
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; argumentsDelta: string }
  /** A tool call assembled from its deltas, emitted when the model finishes. */
  | ({ type: 'tool-call'; index: number } & ToolCall)
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; finishReason: FinishReason; usage: Usage }
  /** `usage` is an estimate of what the partial output cost, when there was any. */
  | { type: 'error'; error: LlmError; usage?: Usage };

export interface ChatCompletion {
  id: string;
  /** The model name upstream reported. */
  model: string;
  created: number;
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  /** The upstream JSON body, for callers that relay it (non-streaming only). */
  raw?: unknown;
  /** `raw` as upstream sent it (its text), for relaying it unchanged without serialising it again. */
  rawText?: string;
}

export interface EmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface EmbedResult {
  model: string;
  vectors: number[][];
  usage: { promptTokens: number; totalTokens: number; estimated: boolean };
}

export interface CallOptions {
  signal?: AbortSignal;
  /**
   * The same stop as `signal`, as any StopSignal: what follows the call with
   * no need of a real AbortSignal (undici, our own checks) reads
   * `stop ?? signal`, so none is made (the router gives both; its attempts
   * make an AbortSignal only when `signal` is read).
   */
  stop?: StopSignal;
}

/** The port every model source implements: OpenAI-compatible HTTP, the local kb-answer model, the Router itself. */
export interface LlmProvider {
  /** A short name for logs and the ledger, e.g. "openai" or "deepseek". */
  readonly name: string;
  /**
   * The provider runs batch jobs itself, at its batch prices (OpenAI's and
   * Ark's batch APIs). Batches of its models could then be forwarded whole
   * instead of run line by line through the Router (docs/costs.md, Batches).
   * No adapter sets it yet.
   */
  readonly nativeBatch?: boolean;
  chat(request: ChatRequest, options?: CallOptions): AsyncIterable<ChatStreamPart>;
  /** Frees what the provider holds open (keep-alive connections); calls after it fail. */
  close?(): Promise<void>;
  /** A non-streaming call; rejects with an LlmError. */
  complete(request: ChatRequest, options?: CallOptions): Promise<ChatCompletion>;
  /** Rejects with an LlmError. */
  embed(request: EmbedRequest, options?: CallOptions): Promise<EmbedResult>;
  /** Speech to text (OpenAI's /audio/transcriptions); absent: the provider has none. Rejects with an LlmError. */
  transcribe?(request: TranscribeRequest, options?: CallOptions): Promise<Transcription>;
  /** Text to speech (OpenAI's /audio/speech); absent: the provider has none. */
  speak?(request: SpeechRequest, options?: CallOptions): Promise<Speech>;
  /** Reranking (Jina/Cohere /rerank); absent: the provider has none. */
  rerank?(request: RerankRequest, options?: CallOptions): Promise<Reranking>;
}
