// Builders for the OpenAI chat-completions wire format. Shapes follow what
// api.openai.com actually sends (field order included), so clients that parse
// strictly — the official SDKs, our gateway's tests — see nothing unusual.

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

export interface UsageNumbers {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
}

export function wireUsage(u: UsageNumbers): WireUsage {
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
    prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoning_tokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export const SYSTEM_FINGERPRINT = 'fp_warbler_fixture';

export interface ChunkHead {
  id: string;
  created: number;
  model: string;
}

/** One `chat.completion.chunk`; `usage` is present (as null) only when the client asked for usage. */
export function chunk(
  head: ChunkHead,
  choices: unknown[],
  usage: WireUsage | null | undefined,
  sentAt: number | undefined,
): Record<string, unknown> {
  const c: Record<string, unknown> = {
    id: head.id,
    object: 'chat.completion.chunk',
    created: head.created,
    model: head.model,
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices,
  };
  if (usage !== undefined) c.usage = usage;
  if (sentAt !== undefined) c.x_fixture_sent_at = sentAt;
  return c;
}

export function deltaChoice(delta: Record<string, unknown>, finishReason: FinishReason | null = null) {
  return { index: 0, delta, logprobs: null, finish_reason: finishReason };
}

export function completion(
  head: ChunkHead,
  message: { content: string | null; reasoning?: string; toolCalls: WireToolCall[] },
  finishReason: FinishReason,
  usage: WireUsage | null,
): Record<string, unknown> {
  const msg: Record<string, unknown> = {
    role: 'assistant',
    content: message.content,
    refusal: null,
    annotations: [],
  };
  if (message.reasoning) msg.reasoning_content = message.reasoning;
  if (message.toolCalls.length > 0) msg.tool_calls = message.toolCalls;
  const body: Record<string, unknown> = {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: [{ index: 0, message: msg, logprobs: null, finish_reason: finishReason }],
  };
  if (usage) body.usage = usage;
  body.service_tier = 'default';
  body.system_fingerprint = SYSTEM_FINGERPRINT;
  return body;
}

export function errorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}
