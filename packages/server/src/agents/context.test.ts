import type { Message } from '@warbler/protocol';
import { describe, expect, it } from 'vitest';
import { buildContext, foldCount, SUMMARY_MAX_TOKENS, turnCosts, type ContextInput } from './context.ts';
import { AgentConfig } from './definition.ts';
import { modelFacts } from './models.ts';

const AGENT = 'bot';
let seq = 0;
const say = (sender: string, text: string): Message => ({
  id: `m${++seq}`, app_id: 'app', conversation_id: 'c', seq, sender_id: sender, client_msg_id: null, type: 'text',
  content: { text }, state: 'complete', created_at: seq, updated_at: seq, edited_at: null,
});
/** `n` exchanges of about 60 tokens each way. */
const chat = (n: number) =>
  Array.from({ length: n }, (_, i) => [
    say('alice', `Turn ${i}: my parcel is late again and I would like to know when it will arrive, please check the depot in Hangzhou.`),
    say(AGENT, `Turn ${i}: I checked: the parcel left the Hangzhou depot this morning and should reach you tomorrow before noon.`),
  ]).flat();

function input(history: Message[], over: Partial<ContextInput> = {}): ContextInput {
  return {
    agentId: AGENT, config: AgentConfig.parse({ name: 'Helper', system_prompt: 'You help customers of Acme.' }), facts: modelFacts('gpt-4o-mini'),
    group: false, summary: '', knowledge: '', recalled: '', history, names: new Map([['alice', 'Alice']]), imageUrl: async () => undefined,
    ...over,
  };
}

describe('foldCount', () => {
  it('folds nothing while summary and turns fit the budget', () => {
    const history = chat(10);
    const costs = turnCosts(input(history));
    const total = costs.reduce((a, b) => a + b, 0);
    expect(foldCount(history, costs, 0, total, AGENT)).toBe(0);
  });

  it('once over, folds down to about half the budget, so the next turns fit without another fold', () => {
    const history = chat(100);
    const costs = turnCosts(input(history));
    const limit = 4_000;
    expect(costs.reduce((a, b) => a + b, 0)).toBeGreaterThan(limit);
    const n = foldCount(history, costs, 300, limit, AGENT);
    const kept = costs.slice(n).reduce((a, b) => a + b, 0);
    expect(kept).toBeLessThanOrEqual(limit / 2 - SUMMARY_MAX_TOKENS);
    expect(kept).toBeGreaterThan(limit / 2 - SUMMARY_MAX_TOKENS - 200);
    // What stays starts with the person's message, so the model never reads a reply to a question it cannot see.
    expect(history[n]!.sender_id).toBe('alice');
    // Hysteresis: with a summary at its largest, several more exchanges fit before the next fold.
    let more = 0;
    const grown = [...history.slice(n)];
    for (; more < 40; more++) {
      grown.push(...chat(1));
      if (foldCount(grown, turnCosts(input(grown)), SUMMARY_MAX_TOKENS, limit, AGENT) > 0) break;
    }
    expect(more).toBeGreaterThanOrEqual(10);
  });

  it('never folds the message being answered, even when it alone is over the budget', () => {
    const history = [say('alice', 'hi'), say('alice', 'x '.repeat(3_000))];
    expect(foldCount(history, turnCosts(input(history)), 0, 500, AGENT)).toBe(1);
  });
});

describe('buildContext', () => {
  it('puts the stable part first (system prompt, summary, turns) and what changes every turn just before the question', async () => {
    const history = chat(3);
    history.push(say('alice', 'And what about my refund?'));
    const built = await buildContext(input(history, { summary: 'Alice, order WB-1.', knowledge: '<knowledge>\n[1] Refunds\nTen days.\n</knowledge>', recalled: 'Earlier: order WB-1' }));
    const roles = built.messages.map((m) => m.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'system', 'user']);
    expect(built.messages[0]!.content).toMatch(/^You help customers of Acme\.[\s\S]*Summary of the conversation so far:\nAlice, order WB-1\.$/);
    expect(built.messages.at(-2)!.content).toContain('Ten days.');
    expect(built.messages.at(-2)!.content).toContain('Earlier: order WB-1');
    expect(built.messages.at(-1)!.content).toBe('And what about my refund?');
  });

  it('keeps the beginning of the prompt the same from one turn to the next, whatever was retrieved', async () => {
    const history = chat(5);
    history.push(say('alice', 'first question'));
    const first = await buildContext(input(history, { summary: 's', knowledge: '<knowledge>\n[1] A\none\n</knowledge>' }));
    history.push(say(AGENT, 'first answer'), say('alice', 'second question'));
    const second = await buildContext(input(history, { summary: 's', knowledge: '<knowledge>\n[1] B\ntwo\n</knowledge>' }));
    const before = first.messages.slice(0, -2);
    expect(second.messages.slice(0, before.length)).toEqual(before);
  });
});
