// Issue 11: how support conversations end: outcome, CSAT (once), times,
// human messages, exact cost from the ledger (copilot included), and the
// report by handoff reason, agent, model and day.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNanoAmount } from '../src/usage/index.ts';
import { storeKinds } from './harness.ts';
import { eventually, supportWorld, type SupportWorld, type Visitor } from './support-kit.ts';

describe.each(storeKinds())('support outcomes on %s', (kind) => {
  let world: SupportWorld;
  let rep: string;
  let ann: { id: string; token: string };

  beforeAll(async () => {
    world = await supportWorld(kind);
    rep = await world.agent('Rep');
    ann = await world.staff('Ann');
  });
  afterAll(async () => world?.stop());

  const api = (method: string, path: string, body?: unknown, token?: string) => world.server.api(method, path, body, token);
  async function answered(v: Visitor, text: string, usage: { prompt_tokens: number; completion_tokens: number }) {
    const before = (await world.replies(v)).length;
    world.upstream.script({ text: 'Here you go.', usage, promptContains: text });
    await world.say(v, text);
    await eventually(async () => ((await world.replies(v)).filter((m) => m.state === 'complete').length > before ? true : undefined));
    await world.server.warbler.runtime.idle();
  }

  it('takes one rating per conversation, from its customer, once it is resolved', async () => {
    const v = await world.visit(rep);
    const ratings: unknown[] = [];
    const off = world.server.warbler.events.on((e) => void (e.type === 'csat.submitted' && ratings.push(e.data)));
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/csat`, { rating: 5 }, v.token)).status).toBe(400);
    await api('POST', `/api/support/conversations/${v.conversationId}/resolve`, {}, v.token);
    const other = await world.server.user('Other');
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/csat`, { rating: 1 }, other.token)).status).toBe(404);
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/csat`, { rating: 6 }, v.token)).status).toBe(400);
    const [a, b] = await Promise.all([
      api('POST', `/api/support/conversations/${v.conversationId}/csat`, { rating: 4, comment: 'quick' }, v.token),
      api('POST', `/api/support/conversations/${v.conversationId}/csat`, { rating: 1 }, v.token),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const won = a.status === 200 ? a : b;
    const state = await world.state(v.conversationId);
    expect(state.csat).toMatchObject({ rating: won.body.csat.rating });
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/csat`, { rating: 2 }, v.token)).status).toBe(409);
    expect((await world.state(v.conversationId)).csat?.rating).toBe(won.body.csat.rating);
    off();
    expect(ratings).toEqual([{ conversation_id: v.conversationId, customer_id: v.id, agent_id: rep, assignee_id: null, rating: won.body.csat.rating, outcome: 'resolved_by_ai' }]);
    expect(JSON.stringify(ratings)).not.toContain('quick');
  });

  it('reports AI resolution and handoff rates, CSAT, median times and the exact cost per resolved conversation', async () => {
    const since = Date.now();
    // 1: the AI answers and the customer marks it solved, rating 5.
    const c1 = await world.visit(rep);
    await answered(c1, 'What does the Pro plan cost?', { prompt_tokens: 1_000, completion_tokens: 100 });
    await api('POST', `/api/support/conversations/${c1.conversationId}/resolve`, {}, c1.token);
    await api('POST', `/api/support/conversations/${c1.conversationId}/csat`, { rating: 5 }, c1.token);
    // 2: the AI answers, the customer presses the button, Ann asks the copilot, answers twice and resolves; rating 4.
    const c2 = await world.visit(rep);
    await answered(c2, 'My invoice is wrong', { prompt_tokens: 2_000, completion_tokens: 200 });
    await api('POST', `/api/support/conversations/${c2.conversationId}/handoff`, {}, c2.token);
    await api('POST', `/api/support/conversations/${c2.conversationId}/claim`, {}, ann.token);
    world.upstream.script({ text: 'Draft: sorry about the invoice.', usage: { prompt_tokens: 500, completion_tokens: 50 } });
    expect((await api('POST', `/api/support/conversations/${c2.conversationId}/suggest`, {}, ann.token)).status).toBe(200);
    for (const text of ['Sorry about that, fixing it now.', 'Done: the corrected invoice is in your inbox.']) {
      expect((await api('POST', `/api/conversations/${c2.conversationId}/messages`, { type: 'text', content: { text } }, ann.token)).status).toBe(201);
    }
    await eventually(async () => ((await world.state(c2.conversationId)).human_messages === 2 ? true : undefined));
    await api('POST', `/api/support/conversations/${c2.conversationId}/resolve`, {}, ann.token);
    await api('POST', `/api/support/conversations/${c2.conversationId}/csat`, { rating: 4 }, c2.token);
    // 3: asks for a person in Chinese; nobody comes; the app closes it as abandoned.
    const c3 = await world.visit(rep, 'zh-CN');
    await world.say(c3, '转人工');
    await world.until(c3.conversationId, 'pending_human');
    const closed = await api('POST', `/api/support/conversations/${c3.conversationId}/resolve`, { outcome: 'abandoned' });
    expect(closed.body).toMatchObject({ status: 'closed', outcome: 'abandoned' });

    const s2 = await world.state(c2.conversationId);
    expect(s2).toMatchObject({ outcome: 'resolved_by_human', human_messages: 2, handoff_reason: 'customer_button' });
    expect(s2.first_response_ms).not.toBeNull();
    expect(s2.resolution_ms).toBeGreaterThanOrEqual(0);

    await world.server.warbler.ledger.flush();
    const ledger = (await world.server.warbler.store.listLedger('default', { since, limit: 1_000 }));
    const costOf = (ids: string[]) => ledger.filter((r) => ids.includes(r.conversation_id ?? '')).reduce((s, r) => s + r.cost_nanos, 0n);
    // gpt-4o-mini: $0.15 per 1M input tokens, $0.60 per 1M output.
    expect(costOf([c1.conversationId])).toBe(210_000n);
    expect(costOf([c2.conversationId])).toBe(420_000n + 105_000n);
    expect(ledger.some((r) => r.conversation_id === c2.conversationId && r.purpose === 'copilot')).toBe(true);
    const all = costOf([c1.conversationId, c2.conversationId, c3.conversationId]);

    const report = await api('GET', `/api/support/report?since=${since}&group_by=handoff_reason`, undefined, ann.token);
    expect(report.status).toBe(200);
    expect(report.body.total).toMatchObject({
      conversations: 3, resolved: 2, resolved_by_ai: 1, resolved_by_human: 1, handed_off: 2, csat_average: 4.5, csat_count: 2,
      cost: { USD: formatNanoAmount(all) }, cost_per_resolved: { USD: formatNanoAmount(all / 2n) },
    });
    expect(report.body.total.ai_resolution_rate).toBeCloseTo(1 / 3);
    expect(report.body.total.handoff_rate).toBeCloseTo(2 / 3);
    expect(report.body.total.median_first_response_ms).toEqual(expect.any(Number));
    expect(report.body.total.median_resolution_ms).toEqual(expect.any(Number));
    const byReason = Object.fromEntries(report.body.groups.map((g: { key: string }) => [g.key, g]));
    expect(Object.keys(byReason).sort()).toEqual(['customer_asked', 'customer_button', 'none']);
    expect(byReason.none).toMatchObject({ conversations: 1, resolved_by_ai: 1, cost: { USD: formatNanoAmount(210_000n) }, cost_per_resolved: { USD: formatNanoAmount(210_000n) } });
    expect(byReason.customer_button).toMatchObject({ conversations: 1, resolved_by_human: 1, csat_average: 4, cost: { USD: formatNanoAmount(525_000n) } });
    expect(byReason.customer_asked).toMatchObject({ conversations: 1, resolved: 0, cost_per_resolved: {} });

    const byAgent = await api('GET', `/api/support/report?since=${since}&group_by=agent`);
    expect(byAgent.body.groups.map((g: { key: string; conversations: number }) => [g.key, g.conversations])).toEqual([[rep, 3]]);
    const byModel = await api('GET', `/api/support/report?since=${since}&group_by=model`);
    expect(byModel.body.groups.map((g: { key: string; conversations: number }) => [g.key, g.conversations])).toEqual([['gpt-4o-mini', 2], ['none', 1]]);
    const byDay = await api('GET', `/api/support/report?since=${since}&group_by=day`);
    expect(byDay.body.groups.reduce((n: number, g: { conversations: number }) => n + g.conversations, 0)).toBe(3);
    // A customer cannot read the report.
    expect((await api('GET', '/api/support/report', undefined, c1.token)).status).toBe(403);
  });
});
