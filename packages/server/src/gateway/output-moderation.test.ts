import { describe, expect, it } from 'vitest';
import { ModerationFlagged, type PromptScreen } from '../guardrails/index.ts';
import { emptyUsage, type ChatCompletion, type ChatStreamPart } from '../llm/index.ts';
import { moderatedStream, withheldReply } from './output-moderation.ts';

const usage = { ...emptyUsage(), promptTokens: 3, completionTokens: 4, totalTokens: 7 };
const screen = (flag: (text: string) => boolean) =>
  ({ moderateOutput: async (text: string) => (flag(text) ? new ModerationFlagged('output', ['violence']) : undefined) }) as unknown as PromptScreen;

async function* parts(...texts: string[]): AsyncGenerator<ChatStreamPart> {
  for (const text of texts) yield { type: 'text-delta', text };
  yield { type: 'finish', finishReason: 'stop', usage };
}

const collect = async (it: AsyncIterable<ChatStreamPart>) => {
  const out: ChatStreamPart[] = [];
  for await (const p of it) out.push(p);
  return out;
};

describe('output moderation', () => {
  it('passes a stream through when the whole text is not flagged', async () => {
    const out = await collect(moderatedStream(parts('a ', 'b'), screen(() => false)));
    expect(out.map((p) => p.type)).toEqual(['text-delta', 'text-delta', 'finish']);
  });

  it('judges the whole text at the finish, and ends a flagged stream with an error carrying its usage', async () => {
    const seen: string[] = [];
    const out = await collect(moderatedStream(parts('I will ', 'kill', ' it'), screen((t) => (seen.push(t), t.includes('kill')))));
    expect(seen).toEqual(['I will kill it']);
    const last = out.at(-1)!;
    expect(last.type).toBe('error');
    if (last.type !== 'error') return;
    expect(last.error).toMatchObject({ kind: 'bad_request', code: 'content_policy_violation' });
    expect(last.usage).toEqual(usage);
  });

  it('withholds a finished reply: no content, finish_reason content_filter, and why', () => {
    const completion = {
      id: 'c', model: 'm', created: 0, text: 'bad', reasoning: '', toolCalls: [], finishReason: 'stop', usage,
      raw: { choices: [{ index: 0, message: { role: 'assistant', content: 'bad', tool_calls: [] }, finish_reason: 'stop' }] },
    } as ChatCompletion;
    withheldReply(completion, new ModerationFlagged('output', ['hate']));
    expect(completion).toMatchObject({ text: '', finishReason: 'content_filter' });
    expect(completion.raw).toEqual({
      choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }],
      warbler: { moderation: { flagged: true, categories: ['hate'], rule: 'moderation:hate', message: expect.stringMatching(/Withheld/) } },
    });
  });
});
