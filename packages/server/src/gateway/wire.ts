// The OpenAI wire shapes the gateway writes: SSE chunks of a streamed chat
// completion, a completion body when upstream gave none to relay, embeddings.
// Chunks are built as strings around a prefix computed once per stream, so a
// text delta costs one JSON.stringify of its text.
import type { ChatCompletion, ChatStreamPart, FinishReason, Usage } from '../llm/index.ts';

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: { reasoning_tokens: number; audio_tokens: number; accepted_prediction_tokens: number; rejected_prediction_tokens: number };
}

export function wireUsage(u: Usage): WireUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const wireFinish = (r: FinishReason): string => (r === 'other' ? 'stop' : r);

export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * Turns router parts into `data: {chat.completion.chunk}\n\n` lines, the way
 * api.openai.com writes them: a first chunk with the role, content deltas,
 * tool-call deltas (id, type and name on a call's first), a chunk with the
 * finish reason, then, only when the client asked, one with `choices: []`
 * and the usage (every chunk carries `"usage":null` until then).
 */
export class ChunkWriter {
  private readonly head: string;
  private readonly tail: string;
  private started = false;
  private readonly seenTools = new Set<number>();

  constructor(
    id: string,
    model: string,
    created: number,
    private readonly includeUsage: boolean,
  ) {
    this.head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":null,"choices":[`;
    this.tail = includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  }

  private choice(delta: string, finish: string | null = null): string {
    return `${this.head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}${this.tail}`;
  }

  /** The SSE text for one part ('' when the part has nothing for the client). */
  part(p: ChatStreamPart): string {
    let out = '';
    switch (p.type) {
      case 'text-delta':
        if (!this.started) out += this.opening('""');
        return out + this.choice(`{"content":${JSON.stringify(p.text)}}`);
      case 'reasoning-delta':
        if (!this.started) out += this.opening('""');
        return out + this.choice(`{"reasoning_content":${JSON.stringify(p.text)}}`);
      case 'tool-call-delta': {
        if (!this.started) out += this.opening('null');
        let call = `{"index":${p.index}`;
        if (!this.seenTools.has(p.index)) {
          this.seenTools.add(p.index);
          call += `,"id":${JSON.stringify(p.id ?? `call_${p.index}`)},"type":"function","function":{"name":${JSON.stringify(p.name ?? '')},"arguments":${JSON.stringify(p.argumentsDelta)}}}`;
        } else {
          call += `,"function":{"arguments":${JSON.stringify(p.argumentsDelta)}}}`;
        }
        return out + this.choice(`{"tool_calls":[${call}]}`);
      }
      case 'finish':
        if (!this.started) out += this.opening('""');
        out += this.choice('{}', wireFinish(p.finishReason));
        if (this.includeUsage) out += `${this.head}],"usage":${JSON.stringify(wireUsage(p.usage))}}\n\n`;
        return out + SSE_DONE;
      default:
        // start, usage (sent with finish), tool-call (its deltas already went out), error (the caller writes it).
        return '';
    }
  }

  private opening(content: string): string {
    this.started = true;
    return this.choice(`{"role":"assistant","content":${content},"refusal":null}`);
  }
}

/** A chat.completion body for a reply that came with no upstream body to relay (in-process models). */
export function completionBody(c: ChatCompletion, model: string, id: string): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: c.toolCalls.length > 0 && c.text === '' ? null : c.text, refusal: null, annotations: [] };
  if (c.reasoning) message.reasoning_content = c.reasoning;
  if (c.toolCalls.length > 0) {
    message.tool_calls = c.toolCalls.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: t.arguments } }));
  }
  return {
    id: c.id || id,
    object: 'chat.completion',
    created: c.created,
    model: c.model || model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: wireFinish(c.finishReason) }],
    usage: wireUsage(c.usage),
    service_tier: 'default',
    system_fingerprint: null,
  };
}

/** Float32 little-endian, base64: what OpenAI sends for encoding_format "base64" (the SDKs ask for it by default). */
export function embeddingBase64(vector: number[]): string {
  const f = new Float32Array(vector);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}
