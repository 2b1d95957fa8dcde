import { LlmError } from './errors.ts';
import type { ChatCompletion, ChatStreamPart, FinishReason, ToolCall } from './types.ts';

interface ToolCallFragment {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** Puts streamed tool calls back together: OpenAI sends id and name once, then argument pieces by index. */
export class ToolCallAssembler {
  private readonly calls = new Map<number, ToolCall>();

  add(fragment: ToolCallFragment, position: number): Extract<ChatStreamPart, { type: 'tool-call-delta' }> {
    // Some compatible servers omit `index` when they send one call per chunk.
    const index = fragment.index ?? position;
    let call = this.calls.get(index);
    if (!call) {
      call = { id: '', name: '', arguments: '' };
      this.calls.set(index, call);
    }
    if (fragment.id && !call.id) call.id = fragment.id;
    const name = fragment.function?.name;
    if (name && !call.name) call.name = name;
    const argumentsDelta = fragment.function?.arguments ?? '';
    call.arguments += argumentsDelta;
    const part: Extract<ChatStreamPart, { type: 'tool-call-delta' }> = { type: 'tool-call-delta', index, argumentsDelta };
    if (fragment.id) part.id = fragment.id;
    if (name) part.name = name;
    return part;
  }

  get size(): number {
    return this.calls.size;
  }

  /** The finished calls in index order; a call whose id never came gets a stable one. */
  complete(): Array<Extract<ChatStreamPart, { type: 'tool-call' }>> {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({ type: 'tool-call', index, id: c.id || `call_${index}`, name: c.name, arguments: c.arguments }));
  }
}

export function finishReasonOf(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
    case 'function_call':
      return raw;
    default:
      return 'other';
  }
}

/** Reads a whole chat stream into one completion; rejects with the stream's LlmError if it ended in one. */
export async function collectChat(parts: AsyncIterable<ChatStreamPart>): Promise<ChatCompletion> {
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  let model = '';
  for await (const part of parts) {
    switch (part.type) {
      case 'start':
        model = part.upstreamModel;
        break;
      case 'text-delta':
        text += part.text;
        break;
      case 'reasoning-delta':
        reasoning += part.text;
        break;
      case 'tool-call':
        toolCalls.push({ id: part.id, name: part.name, arguments: part.arguments });
        break;
      case 'error':
        throw part.error;
      case 'finish':
        return { id: '', model, created: Math.floor(Date.now() / 1000), text, reasoning, toolCalls, finishReason: part.finishReason, usage: part.usage };
    }
  }
  throw new LlmError('cut_stream', 'The stream ended without finishing.');
}

