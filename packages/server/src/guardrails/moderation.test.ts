import { describe, expect, it } from 'vitest';
import { ModerationFlagged, openAiModerator, verdictOf } from './moderation.ts';

describe('provider moderation', () => {
  it("reads OpenAI's answer: flagged and the categories that fired", () => {
    expect(verdictOf({ results: [{ flagged: true, categories: { violence: true, hate: false, 'self-harm': true } }] })).toEqual({ flagged: true, categories: ['violence', 'self-harm'] });
    expect(verdictOf({ results: [{ flagged: false, categories: {} }] })).toEqual({ flagged: false, categories: [] });
    expect(() => verdictOf({ error: { message: 'nope' } })).toThrow(/results/);
  });

  it('sends the text to /moderations', async () => {
    const sent: unknown[] = [];
    const moderator = openAiModerator({ postJson: async (path, body) => (sent.push([path, body]), { results: [{ flagged: false, categories: {} }] }) });
    await moderator.judge('hello');
    expect(sent).toEqual([['/moderations', { model: 'omni-moderation-latest', input: 'hello' }]]);
  });

  it('says what fired and what it cost, on either side', () => {
    const input = new ModerationFlagged('input', ['violence']);
    expect(input.rule).toBe('moderation:violence');
    expect(input.message).toMatch(/nothing was billed/);
    expect(new ModerationFlagged('output', ['hate']).message).toMatch(/billed; discard/);
  });
});
