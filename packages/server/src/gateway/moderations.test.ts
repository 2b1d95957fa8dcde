import { describe, expect, it } from 'vitest';
import { MODERATION_CATEGORIES, Moderations, moderationRulesFrom, moderationTexts } from './moderations.ts';

describe('moderations', () => {
  it('reads strings, string lists and multimodal parts; refuses anything else', () => {
    expect(moderationTexts({ input: 'a' })).toEqual(['a']);
    expect(moderationTexts({ input: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(moderationTexts({ input: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'https://x' } }] })).toEqual(['a']);
    expect(() => moderationTexts({ input: 3 })).toThrow(/input must be/);
    expect(() => moderationTexts({ input: [] })).toThrow(/input must be/);
  });

  it('passes the body to OpenAI as it came when configured', async () => {
    const sent: unknown[] = [];
    const m = new Moderations({ upstream: { postJson: async (path, body) => (sent.push([path, body]), { id: 'modr-1', results: [{ flagged: true }] }) } });
    expect(await m.moderate('app', { input: 'x', model: 'omni-moderation-latest' })).toEqual({ id: 'modr-1', results: [{ flagged: true }] });
    expect(sent).toEqual([['/moderations', { input: 'x', model: 'omni-moderation-latest' }]]);
  });

  it("judges with the operator's word lists (reported under illicit), or says it did not judge", async () => {
    const words = { find: (text: string) => (text.includes('代开发票') ? [{ list: 'fraud' }, { list: 'fraud' }] : []) };
    const rules = moderationRulesFrom({ policyFor: () => ({ words }) });
    const local = await new Moderations({ rules }).moderate('app', { input: ['可以代开发票吗', '你好'] });
    const results = local.results as Array<{ flagged: boolean; categories: Record<string, boolean>; warbler_rules?: string[] }>;
    expect(results.map((r) => r.flagged)).toEqual([true, false]);
    expect(results[0]!.categories.illicit).toBe(true);
    expect(results[0]!.warbler_rules).toEqual(['words:fraud']);
    expect(Object.keys(results[1]!.categories)).toEqual([...MODERATION_CATEGORIES]);
    expect(local.warbler).toMatchObject({ source: 'local-rules' });

    const none = await new Moderations().moderate('app', { input: '代开发票' });
    expect((none.results as Array<{ flagged: boolean }>)[0]!.flagged).toBe(false);
    expect(none.warbler).toMatchObject({ source: 'none', note: expect.stringContaining('guardrails') });
  });
});
