import type { FinishReason, UsageNumbers } from './wire.ts';

export type Endpoint = 'chat' | 'embeddings' | 'transcription' | 'speech' | 'rerank';

/** Which requests a step answers. Unset fields match anything. */
export interface StepMatch {
  /** Only requests for this model (the `model` field of the body). */
  model?: string;
  /** Defaults to 'chat'. */
  endpoint?: Endpoint;
  /** Only chat requests whose last user message contains this text: one tenant's prompts, not the model's every call. */
  promptContains?: string;
  /** How many requests this step answers before it is used up; Infinity keeps it forever. Default 1. */
  times?: number;
}

export interface ScriptedToolCall {
  id?: string;
  name: string;
  /** The full JSON arguments string. */
  arguments: string;
  /** How the arguments are split across stream chunks; default: pieces of about 8 characters. */
  argumentChunks?: string[];
}

/** Shapes the timing and size of an answer; used by steps and by the fixture's defaults. */
export interface ReplyShape {
  /** Delay before the first token (headers are sent at once, as upstreams do). */
  ttftMs?: number;
  /** Delay between chunks; 0 writes them back to back. */
  intervalMs?: number;
  /** Characters per chunk when `text` is split; default: one word (with its trailing space) per chunk. */
  chunkSize?: number;
  /** Write JSON with every non-ASCII character as a \u escape, as Python servers do (json.dumps' ensure_ascii). Non-streamed answers. */
  asciiJson?: boolean;
  /** Prefix each content chunk with `[[t:<ms>]]`, the send time, so a bench can read it after any relay. */
  stampText?: boolean;
}

export interface ReplyStep extends StepMatch, ReplyShape {
  /** The reply text; default: the last user message echoed. */
  text?: string;
  /** Explicit content chunks (overrides `text` and `chunkSize`). */
  chunks?: string[];
  /** DeepSeek-style `reasoning_content`, streamed before the text. */
  reasoning?: string;
  toolCalls?: ScriptedToolCall[];
  /** Default: 'tool_calls' when toolCalls are given, else 'stop'. */
  finishReason?: FinishReason;
  /** Exact usage to report; null reports none at all (as some upstreams do). Default: counted with o200k. */
  usage?: UsageNumbers | null;
  /** Put running usage totals on every chunk, as some servers do (vLLM's continuous usage stats), to catch clients that add them up. */
  runningUsage?: boolean;
  /** The model name the reply claims; default: the requested one. */
  responseModel?: string;
  /** Embedding dimensions when answering /v1/embeddings (default: the request's `dimensions`, else 256). */
  dimensions?: number;
}

export type FaultStep = StepMatch &
  (
    | { fault: 'rate_limit'; retryAfterS?: number; retryAfterMs?: number }
    /** Any HTTP error status with an OpenAI error body (500, 503, 400, 401, 404...). */
    | { fault: 'status'; status: number; message?: string }
    /** Streams `afterChunks` good content chunks, then one that is not JSON. Non-streaming: a body that is not JSON. */
    | { fault: 'malformed'; afterChunks?: number; text?: string }
    /** Streams `afterChunks` content chunks, then destroys the socket. Non-streaming: destroys it before the body. */
    | { fault: 'cut'; afterChunks?: number; text?: string }
    /** Never answers; with `afterChunks`, streams that many chunks first and then goes silent. */
    | { fault: 'hang'; afterChunks?: number; text?: string }
  );

export type Step = ReplyStep | FaultStep;

export function isFault(step: Step): step is FaultStep {
  return 'fault' in step;
}

interface Queued {
  step: Step;
  left: number;
}

/** Steps wait in order; a request takes the first one that matches it. */
export class Script {
  private queue: Queued[] = [];

  push(steps: Step[]): void {
    for (const step of steps) this.queue.push({ step, left: step.times ?? 1 });
  }

  take(endpoint: Endpoint, model: string | undefined, prompt = ''): Step | undefined {
    if (this.queue.length === 0) return undefined;
    const i = this.queue.findIndex(
      (q) =>
        (q.step.endpoint ?? 'chat') === endpoint &&
        (q.step.model === undefined || q.step.model === model) &&
        (q.step.promptContains === undefined || prompt.includes(q.step.promptContains)),
    );
    if (i < 0) return undefined;
    const q = this.queue[i]!;
    q.left -= 1;
    if (q.left <= 0) this.queue.splice(i, 1);
    return q.step;
  }

  get pending(): number {
    return this.queue.length;
  }

  clear(): void {
    this.queue = [];
  }
}
