// Replays one live turn against a candidate: the same messages (history,
// summary, retrieved passages) and the same tool definitions. Tools are never
// run: a call the candidate makes is answered with the live turn's recorded
// result for the same tool and arguments, or the same tool, or a note that
// there is none. Nothing here can reach a customer: it returns numbers.
import { addUsage, emptyUsage, type ChatMessage, type ChatRequest, type LlmProvider, type RouterCallOptions, type ToolCall, type ToolDefinition, type Usage } from '../llm/index.ts';

/** What the live reply used and produced, as the runtime hands it over after the reply ended. */
export interface LiveTurn {
  app_id: string;
  agent_id: string;
  conversation_id: string;
  /** The live reply's message id. */
  message_id: string;
  user_id: string;
  /** The question, for the judge. */
  question: string;
  /** The prompt of the first model call (system, knowledge, history, the question), after the guardrails. */
  messages: ChatMessage[];
  tools: ToolDefinition[];
  /** Tool calls of the live reply and what each returned. */
  tool_results: Array<{ name: string; arguments: string; result: string }>;
  /** Texts of the passages the live reply had. */
  passages: string[];
  /** The agent's system prompt (a candidate with its own prompt replaces it within the first system message). */
  system_prompt: string;
  max_tokens?: number;
  model: string;
  answer: string;
  usage: Usage;
  ttft_ms: number | null;
  latency_ms: number;
  failed: boolean;
  error: string | null;
  /** Set when an A/B candidate answered this turn live. */
  arm?: { experiment_id: string; candidate_id: string };
}

export interface CandidateSettings {
  model: string;
  system_prompt?: string;
  temperature?: number;
}

export interface ReplayResult {
  answer: string;
  usage: Usage;
  /** The model that answered (a route may fall back). */
  model: string;
  ttft_ms: number | null;
  latency_ms: number;
  failed: boolean;
  error: string | null;
}

type Router = LlmProvider & { chat(request: ChatRequest, options?: RouterCallOptions): ReturnType<LlmProvider['chat']> };

const MAX_TOOL_ROUNDS = 3;
const REPLAY_TIMEOUT_MS = 120_000;

export async function replayTurn(router: Router, turn: LiveTurn, candidate: CandidateSettings, context: Record<string, unknown>): Promise<ReplayResult> {
  const messages = promptFor(turn, candidate);
  const usage = emptyUsage();
  const started = performance.now();
  let ttft: number | null = null;
  let answer = '';
  let model = candidate.model;
  const signal = AbortSignal.timeout(REPLAY_TIMEOUT_MS);
  try {
    for (let round = 1; ; round++) {
      const calls: ToolCall[] = [];
      let roundText = '';
      for await (const part of router.chat(
        {
          model: candidate.model, messages, max_tokens: turn.max_tokens,
          ...(candidate.temperature !== undefined && { temperature: candidate.temperature }),
          ...(turn.tools.length > 0 && round <= MAX_TOOL_ROUNDS && { tools: turn.tools }),
        },
        { signal, context },
      )) {
        if (part.type === 'start') model = part.model;
        else if (part.type === 'text-delta') {
          ttft ??= performance.now() - started;
          roundText += part.text;
        } else if (part.type === 'tool-call') calls.push(part);
        else if (part.type === 'finish') addUsage(usage, part.usage);
        else if (part.type === 'error') {
          if (part.usage) addUsage(usage, part.usage);
          throw part.error;
        }
      }
      answer += roundText;
      if (calls.length === 0 || round > MAX_TOOL_ROUNDS) break;
      messages.push({
        role: 'assistant', content: roundText || null,
        tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
      });
      for (const call of calls) messages.push({ role: 'tool', tool_call_id: call.id, content: recordedResult(turn, call) });
    }
  } catch (err) {
    return { answer, usage, model, ttft_ms: round(ttft), latency_ms: Math.round(performance.now() - started), failed: true, error: describe(err) };
  }
  const failed = answer.trim() === '';
  return { answer, usage, model, ttft_ms: round(ttft), latency_ms: Math.round(performance.now() - started), failed, error: failed ? 'empty_reply' : null };
}

/** The live prompt, with the candidate's system prompt in place of the agent's. */
export function promptFor(turn: LiveTurn, candidate: CandidateSettings): ChatMessage[] {
  const messages = turn.messages.map((m) => ({ ...m }));
  const first = messages[0];
  if (candidate.system_prompt !== undefined && first?.role === 'system' && typeof first.content === 'string') {
    first.content = turn.system_prompt && first.content.includes(turn.system_prompt)
      ? first.content.replace(turn.system_prompt, () => candidate.system_prompt!)
      : `${candidate.system_prompt}\n\n${first.content}`;
  }
  return messages;
}

/** What the live turn's tool returned for this call; tools are never run for a replay. */
export function recordedResult(turn: LiveTurn, call: Pick<ToolCall, 'name' | 'arguments'>): string {
  const same = turn.tool_results.find((r) => r.name === call.name && sameArguments(r.arguments, call.arguments));
  const byName = same ?? turn.tool_results.find((r) => r.name === call.name);
  if (byName) return byName.result;
  return `No recorded result: in this replay the tool ${call.name} is not run, and the live answer did not call it.`;
}

function sameArguments(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}

function describe(err: unknown): string {
  const kind = (err as { kind?: unknown } | null)?.kind;
  const message = err instanceof Error ? err.message : String(err);
  return (typeof kind === 'string' ? `${kind}: ${message}` : message).slice(0, 300);
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms));
