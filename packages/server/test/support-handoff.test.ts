// Issue 11: every way a support conversation reaches a person, each with its
// reason recorded, and the messages that must not hand off.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_AGENT_ID } from '../src/agents/index.ts';
import { storeKinds } from './harness.ts';
import { eventually, supportWorld, type SupportWorld } from './support-kit.ts';

const HANDS_OFF = ['I want a real person', '转人工', '我要找客服', 'talk to a human', '人工客服', 'Can I speak with someone, please?'];
const STAYS_WITH_AI = ['what is a person month?', 'is this answered by a human?', '人工智能能做什么？', 'Do I need to talk to a person to cancel?'];

describe.each(storeKinds())('support handoff triggers on %s', (kind) => {
  let world: SupportWorld;
  let desk: string;
  const handoffs: Array<{ conversation_id: unknown; reason: unknown }> = [];

  beforeAll(async () => {
    world = await supportWorld(kind);
    desk = await world.agent('Desk');
    world.server.warbler.events.on((e) => {
      if (e.type === 'conversation.handoff') handoffs.push({ conversation_id: e.data.conversation_id, reason: e.data.reason });
    });
  });
  afterAll(async () => world?.stop());
  beforeEach(() => world.upstream.reset());

  it('hands off when the customer presses the button, once, and the AI stays silent after', async () => {
    const v = await world.visit(desk);
    const pressed = await world.server.api('POST', `/api/support/conversations/${v.conversationId}/handoff`, { note: 'billing' }, v.token);
    expect(pressed.status).toBe(200);
    expect(pressed.body).toMatchObject({ status: 'pending_human', handoff_reason: 'customer_button', handoff_detail: 'billing', handoffs: 1 });
    const again = await world.server.api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token);
    expect(again.body).toMatchObject({ status: 'pending_human', handoffs: 1, handoff_detail: 'billing' });
    // The customer's words are sealed at rest: the stored row holds no plaintext of them.
    const stored = await world.server.warbler.store.roomTables().selectFrom('support_conversations').select('handoff_detail').where('conversation_id', '=', v.conversationId).executeTakeFirstOrThrow();
    expect(stored.handoff_detail).toMatch(/^wae1\./);
    expect(handoffs.filter((h) => h.conversation_id === v.conversationId)).toEqual([{ conversation_id: v.conversationId, reason: 'customer_button' }]);
    await world.say(v, 'Hello?');
    await world.server.warbler.runtime.idle();
    expect(await world.replies(v)).toEqual([]);
    expect(world.upstream.requests).toHaveLength(0);
  });

  it.each(HANDS_OFF)('hands off when the customer writes "%s", without asking the model', async (text) => {
    const v = await world.visit(desk, /[\u4e00-\u9fa5]/.test(text) ? 'zh-CN' : 'en');
    await world.say(v, text);
    const state = await world.until(v.conversationId, 'pending_human');
    expect(state).toMatchObject({ handoff_reason: 'customer_asked', handoff_detail: text });
    await world.server.warbler.runtime.idle();
    expect(await world.replies(v)).toEqual([]);
    expect(world.upstream.requests).toHaveLength(0);
  });

  it.each(STAYS_WITH_AI)('answers "%s" with the AI and does not hand off', async (text) => {
    const v = await world.visit(desk);
    await world.say(v, text);
    await eventually(async () => ((await world.replies(v)).length > 0 ? true : undefined));
    await world.server.warbler.runtime.idle();
    expect(await world.state(v.conversationId)).toMatchObject({ status: 'bot', handoffs: 0, handoff_reason: null });
  });

  it('hands off when the agent calls handoff_to_human with a reason, and the reply that called it still tells the customer', async () => {
    const v = await world.visit(desk);
    world.upstream.script(
      { promptContains: 'change the billing owner', chunks: [], toolCalls: [{ name: 'handoff_to_human', arguments: '{"reason":"billing owner changes need a person"}' }], usage: { prompt_tokens: 40, completion_tokens: 8 } },
      { promptContains: 'change the billing owner', text: 'A colleague will take it from here.', usage: { prompt_tokens: 60, completion_tokens: 8 } },
    );
    await world.say(v, 'Please change the billing owner of my account');
    const state = await world.until(v.conversationId, 'pending_human');
    expect(state).toMatchObject({ handoff_reason: 'agent_tool', handoff_detail: 'billing owner changes need a person' });
    await world.server.warbler.runtime.idle();
    expect((await world.replies(v)).map((m) => [m.state, m.content.text])).toEqual([['complete', 'A colleague will take it from here.']]);
    // The tool was offered with a reason parameter, and the model heard the handoff happened.
    const first = world.upstream.requests[0]!.body as { tools: Array<{ function: { name: string; parameters: { required: string[] } } }> };
    expect(first.tools.find((t) => t.function.name === 'handoff_to_human')?.function.parameters.required).toEqual(['reason']);
    const told = (world.upstream.requests[1]!.body.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'tool');
    expect(told[0]!.content).toMatch(/handed to a human support person/);
    await world.say(v, 'thanks');
    await world.server.warbler.runtime.idle();
    expect(await world.replies(v)).toHaveLength(1);
  });

  it('hands off after N answers in a row that found nothing in the knowledge base (the agent\'s policy)', async () => {
    const put = await world.server.api('PUT', `/api/support/agents/${DEMO_AGENT_ID}/policy`, { no_knowledge_streak: 2 });
    expect(put.status).toBe(200);
    // The agent rewrites each question into search queries first (a real model would keep the nonsense words;
    // the fixture's default echo would instead search the rewrite prompt's own words and find passages).
    world.upstream.script({ promptContains: 'Search queries:', text: 'zqxv flurbation gronk\nvorple blick', times: Infinity });
    const v = await world.visit(DEMO_AGENT_ID);
    await world.say(v, 'zqxv flurbation of the gronk?');
    await eventually(async () => ((await world.replies(v)).length === 1 ? true : undefined));
    await world.server.warbler.runtime.idle();
    await eventually(async () => ((await world.state(v.conversationId)).status === 'bot' ? true : undefined));
    await world.say(v, 'and the vorple blick?');
    const state = await world.until(v.conversationId, 'pending_human');
    expect(state).toMatchObject({ handoff_reason: 'no_knowledge', handoff_detail: '2 answers in a row found nothing in the knowledge base' });
  });

  it('hands off on the customer\'s thumbs-down of an AI answer (not on a thumbs-up, not on someone else\'s)', async () => {
    const v = await world.visit(desk);
    await world.say(v, 'What are your prices?');
    const [answer] = await eventually(async () => {
      const r = (await world.replies(v)).filter((m) => m.state === 'complete');
      return r.length ? r : undefined;
    });
    const up = await world.server.api('POST', `/api/messages/${answer!.id}/feedback`, { rating: 'up' }, v.token);
    expect(up.status).toBe(200);
    expect((await world.state(v.conversationId)).status).toBe('bot');
    const down = await world.server.api('POST', `/api/messages/${answer!.id}/feedback`, { rating: 'down' }, v.token);
    expect(down.status).toBe(200);
    expect(await world.state(v.conversationId)).toMatchObject({ status: 'pending_human', handoff_reason: 'thumbs_down' });
  });

  it('hands off once the conversation\'s model calls reach the cost cap, before another call is made', async () => {
    const capped = await world.agent('Capped');
    await world.server.api('PUT', `/api/support/agents/${capped}/policy`, { cost_cap_usd: 0.000001 });
    const v = await world.visit(capped);
    world.upstream.script({ text: 'Here is a long answer.', usage: { prompt_tokens: 1_000, completion_tokens: 500 } });
    await world.say(v, 'Tell me everything');
    await eventually(async () => ((await world.replies(v)).some((m) => m.state === 'complete') ? true : undefined));
    await world.server.warbler.runtime.idle();
    await world.server.warbler.ledger.flush();
    await world.say(v, 'And more?');
    const state = await world.until(v.conversationId, 'pending_human');
    expect(state.handoff_reason).toBe('cost_cap');
    await world.server.warbler.runtime.idle();
    expect(world.upstream.requests).toHaveLength(1);
  });

  it('hands off on a configured keyword (whole words in English, anywhere in Chinese), and not on a longer word', async () => {
    const keyed = await world.agent('Keyed');
    const put = await world.server.api('PUT', `/api/support/agents/${keyed}/policy`, { keywords: ['refund', '退款', 'refund'] });
    expect(put.body.keywords).toEqual(['refund', '退款']);
    const calm = await world.visit(keyed);
    await world.say(calm, 'Is the refunded amount taxed?');
    await eventually(async () => ((await world.replies(calm)).length ? true : undefined));
    expect((await world.state(calm.conversationId)).status).toBe('bot');
    const v = await world.visit(keyed);
    await world.say(v, 'I want a REFUND now');
    expect(await world.until(v.conversationId, 'pending_human')).toMatchObject({ handoff_reason: 'keyword', handoff_detail: 'refund' });
    const zh = await world.visit(keyed, 'zh-CN');
    await world.say(zh, '我要申请退款');
    expect(await world.until(zh.conversationId, 'pending_human')).toMatchObject({ handoff_reason: 'keyword', handoff_detail: '退款' });
  });

  it('refuses a policy that cannot work, changing nothing', async () => {
    const before = await world.server.api('GET', '/api/support/policy');
    const zone = await world.server.api('PUT', '/api/support/policy', { working_hours: { time_zone: 'Mars/Olympus', spans: [] } });
    expect(zone.status).toBe(400);
    expect(zone.body.error.message).toMatch(/Unknown time zone "Mars\/Olympus"/);
    const span = await world.server.api('PUT', '/api/support/policy', { working_hours: { time_zone: 'Asia/Shanghai', spans: [{ day: 1, from: '18:00', to: '09:00' }] } });
    expect(span.status).toBe(400);
    const customer = await world.server.user('Sneaky');
    const byUser = await world.server.api('PUT', '/api/support/policy', { keywords: ['x'] }, customer.token);
    expect(byUser.status).toBe(403);
    expect((await world.server.api('GET', '/api/support/policy')).body).toEqual(before.body);
  });
});
