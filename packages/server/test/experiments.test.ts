// Model experiments on real traffic, over real sockets and the upstream
// fixture, on each store. The fixture is scripted so candidate B (qwen-turbo,
// billed in CNY) answers as the live model does for less, and candidate C
// (budget-mini) is cheaper but invents answers and fails now and then.
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Experiment, SwitchingReport } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRow } from '../src/store/index.ts';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

const GOOD = 'Refunds are paid within 14 days to the original card [1].';
const INVENTED = 'Probably whenever the warehouse feels like it, maybe never.';

describe.each(storeKinds())('experiments on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let toolServer: Server;
  let toolHits = 0;
  let toolPort = 0;
  let kbId = '';

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 0 } });
    toolServer = createServer((_req, res) => {
      toolHits++;
      res.end('{"status":"shipped"}');
    });
    await new Promise<void>((r) => toolServer.listen(0, '127.0.0.1', r));
    toolPort = (toolServer.address() as AddressInfo).port;
    const configPath = path.join(tmpdir(), `warbler-experiments-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'routes:',
      '  qwen-turbo: { deployments: [openai/qwen-turbo] }',
      '  budget-mini: { deployments: [openai/budget-mini] }',
      '  judge-mini: { deployments: [openai/judge-mini] }',
      'prices:',
      '  - { model: budget-mini, currency: USD, effective_from: "2024-01-01", per_million: { input: "0.05", output: "0.20" } }',
      '  - { model: judge-mini, currency: USD, effective_from: "2024-01-01", per_million: { input: "0.10", output: "0.40" } }',
      'currency_rates: { CNY: 0.14 }',
      'router:',
      '  retry: { max_retries: 0 }',
      '  circuit: { failure_threshold: 1000 }',
      'outbound:',
      `  allow_hosts: ["127.0.0.1:${toolPort}"]`,
      '  allow_http_hosts: ["127.0.0.1"]',
      '',
    ].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    const kb = await server.api('POST', '/api/knowledge-bases', { name: 'Help centre' });
    kbId = kb.body.id;
    await server.api('POST', `/api/knowledge-bases/${kbId}/documents`, { title: 'Refunds', text: '# Refunds\n\nRefunds are paid within 14 days to the original card.' });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
    toolServer?.close();
  });
  afterEach(() => upstream.reset());

  async function newAgent(fields: Record<string, unknown> = {}): Promise<string> {
    const res = await server.api('POST', '/api/agents', { name: `Support Bot ${Math.random().toString(36).slice(2, 6)}`, model: 'gpt-4o-mini', ...fields });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  }

  async function start(body: Record<string, unknown>): Promise<Experiment> {
    const res = await server.api('POST', '/api/experiments', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  /** Waits until replies and the shadow work they started are done. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await server.warbler.runtime.idle();
      await server.warbler.experiments.idle();
    }
  }

  /** `rounds` questions from each of `people` customers, each in their own conversation with the agent. */
  async function traffic(agentId: string, people: number, rounds: number, question = 'How long do refunds take?') {
    const customers = await Promise.all(Array.from({ length: people }, async (_, i) => {
      const who = await server.user(`Customer${i}`);
      const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, who.token);
      return { ...who, conversationId: conv.body.id as string };
    }));
    for (let r = 0; r < rounds; r++) {
      await Promise.all(customers.map((c) =>
        server.api('POST', `/api/conversations/${c.conversationId}/messages`, { content: { text: question } }, c.token)));
      await settle();
    }
    return customers;
  }

  async function report(id: string): Promise<SwitchingReport> {
    const res = await server.api('GET', `/api/experiments/${id}/report`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  async function ledger(filter: (r: LedgerRow) => boolean): Promise<LedgerRow[]> {
    await server.warbler.ledger.flush();
    return (await server.warbler.store.listLedger('default', { limit: 5_000 })).filter(filter);
  }

  function scriptModels() {
    upstream.script(
      { model: 'gpt-4o-mini', text: GOOD, times: Infinity },
      { model: 'qwen-turbo', text: GOOD, times: Infinity },
      // C fails one call in four, and invents the rest.
      { model: 'budget-mini', fault: 'status', status: 500, times: 5 },
      { model: 'budget-mini', text: INVENTED, times: Infinity },
      { model: 'judge-mini', promptContains: 'Answer:\nProbably', text: 'UNSUPPORTED', times: Infinity },
      { model: 'judge-mini', promptContains: '[Answer A]\nProbably', text: 'B', times: Infinity },
      { model: 'judge-mini', promptContains: '[Answer B]\nProbably', text: 'A', times: Infinity },
      { model: 'judge-mini', promptContains: 'Passages:', text: 'SUPPORTED', times: Infinity },
      { model: 'judge-mini', text: 'TIE', times: Infinity },
    );
  }

  it('recommends the cheaper model that is as good, rejects the one that invents, and says when it needs more turns', async () => {
    scriptModels();
    const agentId = await newAgent({ knowledge_base_ids: [kbId] });
    const exp = await start({
      agent_id: agentId, name: 'Cheaper models', mode: 'shadow', sample_rate: 1, daily_budget_usd: 50, max_turns_per_minute: 6_000,
      judge_model: 'judge-mini', min_detectable_effect: 0.1,
      candidates: [{ name: 'B', model: 'qwen-turbo' }, { name: 'C', model: 'budget-mini' }],
    });
    // A customer watches their conversation throughout: only the live answer may ever reach them.
    const watcher = await server.user('Watcher');
    const watched = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, watcher.token);
    const socket = await TestSocket.open(server.wsUrl, watcher.token);
    await server.api('POST', `/api/conversations/${watched.body.id}/messages`, { content: { text: 'How long do refunds take?' } }, watcher.token);
    await traffic(agentId, 10, 2);

    const early = await report(exp.id);
    const [b, c] = early.candidates;
    expect(b!.verdict).toBe('not_enough_data');
    expect(b!.required_turns).toBe(74);
    expect(b!.turns).toBe(21);
    expect(b!.more_turns_needed).toBe(53);
    expect(b!.recommendation).toBe('Not enough data yet: 53 more turns needed (21 of 74).');
    expect(c!.verdict).toBe('reject');
    expect(c!.recommendation).toMatch(/^Keep gpt-4o-mini: budget-mini is significantly worse in failure rate .*grounding/);

    await traffic(agentId, 10, 6);
    const done = await report(exp.id);
    const [b2, c2] = done.candidates;
    expect(b2!.turns).toBe(81);
    expect(b2!.verdict).toBe('recommend');
    expect(b2!.recommendation).toMatch(/^Switching Support Bot \w+ to qwen-turbo would cut cost \d+% \(±\d+%\) with no significant change in failure rate, grounding, citations, grounding \(judge\) and preference \(n = 81, p = 1\.00\)\.$/);
    const cost = b2!.metrics.find((m) => m.metric === 'cost_per_turn_usd')!;
    expect(cost.difference.significant).toBe(true);
    expect(cost.candidate.value!).toBeLessThan(cost.live.value!);
    expect(b2!.cost.candidate_per_1000_turns[0]!.currency).toBe('CNY');
    expect(b2!.cost.live_per_1000_turns[0]!.currency).toBe('USD');
    expect(b2!.cost.monthly_candidate_usd!).toBeLessThan(b2!.cost.monthly_live_usd!);
    expect(b2!.preference).toMatchObject({ wins: 0, losses: 0, ties: 81 });
    expect(c2!.verdict).toBe('reject');
    expect(c2!.preference!.losses).toBe(76);
    const grounding = c2!.metrics.find((m) => m.metric === 'grounding_score')!;
    expect(grounding.live.value).toBe(1);
    expect(grounding.candidate.value!).toBeLessThan(0.2);
    expect(grounding.live.ci).not.toBeNull();
    expect(c2!.metrics.find((m) => m.metric === 'failure_rate')!.candidate).toMatchObject({ n: 81, value: 5 / 81 });

    const csv = await fetch(`${server.url}/api/experiments/${exp.id}/report?format=csv`, { headers: { authorization: `Bearer ${server.appSecret}` } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toMatch(/^candidate,model,metric,live_n/);
    expect(lines.some((l) => l.startsWith('B,qwen-turbo,cost_per_turn_usd,81,'))).toBe(true);

    // Shadow answers never reached a customer: no frame carried them, no stored message holds them.
    const frames = JSON.stringify(socket.frames);
    expect(frames).not.toContain('Probably whenever');
    const stored = await server.api('GET', `/api/conversations/${watched.body.id}/messages?limit=50`, undefined, watcher.token);
    const agentReplies = (stored.body.messages as Array<{ sender_id: string; content: { text: string; model: string } }>).filter((m) => m.sender_id === agentId);
    expect(agentReplies).toHaveLength(1);
    expect(agentReplies[0]!.content).toMatchObject({ text: GOOD, model: 'gpt-4o-mini' });
    await socket.close();

    // In the ledger as source shadow, with no agent (so no agent budget counts them), the judge included.
    const shadow = await ledger((r) => r.source === 'shadow');
    expect(new Set(shadow.map((r) => r.model))).toEqual(new Set(['qwen-turbo', 'budget-mini', 'judge-mini']));
    expect(shadow.every((r) => r.agent_id === null && r.request_id !== null)).toBe(true);
    expect(shadow.filter((r) => r.purpose === 'judge').length).toBeGreaterThan(0);
    expect(await ledger((r) => r.source === 'agent' && r.model !== 'gpt-4o-mini' && r.agent_id === agentId)).toHaveLength(0);
  }, 120_000);

  it('replays tool calls with the live results and never runs a tool for a candidate', async () => {
    const agentId = await newAgent({
      tools: [{ name: 'order_status', description: 'Look up an order', parameters: { type: 'object', properties: { order_id: { type: 'string' } } }, url: `http://127.0.0.1:${toolPort}/orders` }],
    });
    await start({ agent_id: agentId, name: 'Tools', mode: 'shadow', sample_rate: 1, candidates: [{ model: 'qwen-turbo' }] });
    const call = { name: 'order_status', arguments: '{"order_id":"A-17"}' };
    upstream.script(
      { model: 'gpt-4o-mini', chunks: [], toolCalls: [call] },
      { model: 'gpt-4o-mini', text: 'It has shipped.' },
      { model: 'qwen-turbo', chunks: [], toolCalls: [call] },
      { model: 'qwen-turbo', text: 'Shipped.' },
    );
    toolHits = 0;
    await traffic(agentId, 1, 1, 'where is order A-17?');
    expect(toolHits).toBe(1);
    const candidateCalls = upstream.requests.filter((r) => r.body?.model === 'qwen-turbo');
    expect(candidateCalls).toHaveLength(2);
    const told = (candidateCalls[1]!.body.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'tool');
    expect(told).toHaveLength(1);
    expect(told[0]!.content).toContain('"status":"shipped"');
  }, 60_000);

  it('stops shadow calls at the experiment\'s daily budget', async () => {
    upstream.script({ model: 'gpt-4o-mini', text: GOOD, times: Infinity }, { model: 'gpt-4o', text: GOOD, times: Infinity });
    const agentId = await newAgent({ knowledge_base_ids: [kbId] });
    const exp = await start({ agent_id: agentId, name: 'Budget', mode: 'shadow', sample_rate: 1, daily_budget_usd: 0.00001, candidates: [{ model: 'gpt-4o' }] });
    await traffic(agentId, 4, 2);
    expect(upstream.requests.filter((r) => r.body?.model === 'gpt-4o')).toHaveLength(1);
    const after = (await server.api('GET', `/api/experiments/${exp.id}`)).body as Experiment;
    expect(after.counters).toMatchObject({ live_turns: 8, replayed: 1 });
    expect(after.counters.skipped_budget).toBe(7);
    expect(after.spent_today_usd).toBeGreaterThan(0.00001);
    expect(await ledger((r) => r.source === 'shadow' && r.model === 'gpt-4o')).toHaveLength(1);
  }, 60_000);

  it('answers a share of new conversations with the candidate, sticky, and a guard stops it when its error rate crosses the threshold', async () => {
    upstream.script({ model: 'gpt-4o-mini', text: GOOD, times: Infinity }, { model: 'budget-mini', fault: 'status', status: 500, times: Infinity });
    const agentId = await newAgent();
    const exp = await start({
      agent_id: agentId, name: 'A/B', mode: 'ab', candidates: [{ model: 'budget-mini', share: 1 }], guards: { max_error_rate: 0.3, min_turns: 4 },
    });
    const customers = await traffic(agentId, 2, 2);
    await traffic(agentId, 1, 1);
    const stopped = (await server.api('GET', `/api/experiments/${exp.id}`)).body as Experiment;
    expect(stopped.candidates[0]!.stopped_reason).toBe('guard: error rate 100% over 30% after 4 turns');
    expect(stopped.status).toBe('stopped');
    // Sticky: both questions of a conversation went to the candidate.
    const first = await server.api('GET', `/api/conversations/${customers[0]!.conversationId}/messages?limit=10`, undefined, customers[0]!.token);
    const replies = (first.body.messages as Array<{ sender_id: string; state: string; content: { model: string } }>).filter((m) => m.sender_id === agentId);
    expect(replies.map((m) => [m.content.model, m.state])).toEqual([['budget-mini', 'failed'], ['budget-mini', 'failed']]);
    // Once stopped, new conversations are the live model's again.
    const [next] = await traffic(agentId, 1, 1);
    const again = await server.api('GET', `/api/conversations/${next!.conversationId}/messages?limit=10`, undefined, next!.token);
    expect((again.body.messages as Array<{ sender_id: string; state: string; content: { model: string } }>).filter((m) => m.sender_id === agentId)
      .map((m) => [m.content.model, m.state])).toEqual([['gpt-4o-mini', 'complete']]);
  }, 60_000);

  it('stops an A/B candidate whose support conversations are handed to a person too often, and reports the handoff rate', async () => {
    upstream.script({ model: 'gpt-4o-mini', text: GOOD, times: Infinity }, { model: 'qwen-turbo', text: GOOD, times: Infinity });
    const agentId = await newAgent();
    const exp = await start({ agent_id: agentId, name: 'Handoffs', mode: 'ab', candidates: [{ model: 'qwen-turbo', share: 1 }], guards: { max_handoff_rate: 0.5, min_turns: 3 } });
    for (let i = 0; i < 4; i++) {
      const who = await server.user(`Visitor${i}`);
      const { conversation } = await server.warbler.support.openFor('default', who.id, { agentId });
      await server.api('POST', `/api/conversations/${conversation.conversation_id}/messages`, { content: { text: 'How long do refunds take?' } }, who.token);
      await settle();
      await server.api('POST', `/api/conversations/${conversation.conversation_id}/messages`, { content: { text: 'I want to talk to a human' } }, who.token);
      await settle();
    }
    const stopped = (await server.api('GET', `/api/experiments/${exp.id}`)).body as Experiment;
    expect(stopped.candidates[0]!.stopped_reason).toMatch(/^guard: handoff rate \d+% over 50% after \d+ turns$/);
    const handoff = (await report(exp.id)).candidates[0]!.metrics.find((m) => m.metric === 'handoff_rate')!;
    expect(handoff.candidate.value).toBe(1);
  }, 60_000);

  it('reports each arm\'s real support outcomes: resolved by the AI, the customer\'s rating, reopens, and the cost per resolved conversation, in Chinese when asked', async () => {
    upstream.script({ model: 'gpt-4o-mini', text: GOOD, times: Infinity }, { model: 'qwen-turbo', text: GOOD, times: Infinity });
    const agentId = await newAgent();
    const exp = await start({ agent_id: agentId, name: 'Outcomes', mode: 'ab', candidates: [{ model: 'qwen-turbo', share: 0.5 }] });
    for (let i = 0; i < 6; i++) {
      const who = await server.user(`Rater${i}`);
      const { conversation } = await server.warbler.support.openFor('default', who.id, { agentId });
      const id = conversation.conversation_id;
      await server.api('POST', `/api/conversations/${id}/messages`, { content: { text: 'How long do refunds take?' } }, who.token);
      await settle();
      const solved = await server.api('POST', `/api/support/conversations/${id}/resolve`, {}, who.token);
      expect(solved.status, JSON.stringify(solved.body)).toBe(200);
      const rated = await server.api('POST', `/api/support/conversations/${id}/csat`, { rating: i % 2 ? 5 : 4 }, who.token);
      expect(rated.status, JSON.stringify(rated.body)).toBe(200);
    }
    const body = await report(exp.id);
    const c = body.candidates[0]!;
    const metric = (name: string) => c.metrics.find((m) => m.metric === name)!;
    // Every conversation of either arm was resolved by the AI and rated; together they are the six conversations.
    expect(metric('resolution_rate').live.n + metric('resolution_rate').candidate.n).toBe(6);
    for (const side of ['live', 'candidate'] as const) {
      if (metric('resolution_rate')[side].n > 0) expect(metric('resolution_rate')[side].value).toBe(1);
    }
    expect(metric('csat').live.n + metric('csat').candidate.n).toBe(6);
    expect(metric('reopen_rate').live.value ?? 0).toBe(0);
    if (metric('resolution_rate').live.n > 0) expect(c.cost.live_per_resolved_usd).toBeGreaterThan(0);
    const zh = await server.api('GET', `/api/experiments/${exp.id}/report?locale=zh-CN`);
    expect(zh.status).toBe(200);
    expect(zh.body.locale).toBe('zh-CN');
    expect(zh.body.candidates[0].recommendation).toMatch(/^数据还不够：还需要 [\d,]+ 轮（已有 \d+ \/ [\d,]+）。$/);
    expect((await server.api('GET', `/api/experiments/${exp.id}/report?locale=fr`)).status).toBe(400);
  }, 60_000);

  it('shadows a gateway route: /v1 chat calls (plain and streamed) replayed as sent to the candidate, in the report and the ledger as shadow', async () => {
    upstream.script({ model: 'gpt-4o-mini', text: GOOD, times: Infinity }, { model: 'qwen-turbo', text: GOOD, times: Infinity });
    const key = (await server.api('POST', '/api/gateway/keys', { name: 'route experiment' })).body.secret as string;
    const exp = await start({ route: 'gpt-4o-mini', name: 'Gateway route', mode: 'shadow', sample_rate: 1, candidates: [{ model: 'qwen-turbo' }] });
    expect(exp).toMatchObject({ route: 'gpt-4o-mini', agent_id: 'route:gpt-4o-mini' });
    const v1 = async (content: string, stream: boolean) => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'system', content: 'You are the shop assistant.' }, { role: 'user', content }] }),
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain(stream ? 'data: [DONE]' : 'Refunds are paid');
    };
    await v1('How long do refunds take? (route 1)', false);
    await v1('How long do refunds take? (route 2)', true);
    await v1('How long do refunds take? (route 3)', false);
    await settle();
    // Each call went to the candidate as the client sent it; the client only ever saw the live model's answer.
    const replays = upstream.requests.filter((r) => r.body?.model === 'qwen-turbo' && JSON.stringify(r.body?.messages).includes('(route '));
    expect(replays.map((r) => (r.body!.messages as Array<{ content: string }>).at(-1)!.content).sort()).toEqual([1, 2, 3].map((i) => `How long do refunds take? (route ${i})`));
    expect((replays[0]!.body!.messages as Array<{ role: string; content: string }>)[0]).toEqual({ role: 'system', content: 'You are the shop assistant.' });
    const body = await report(exp.id);
    expect(body).toMatchObject({ agent_name: '/v1 gpt-4o-mini', live_model: 'gpt-4o-mini' });
    expect(body.candidates[0]!.turns).toBe(3);
    const shadow = await ledger((r) => r.source === 'shadow' && r.model === 'qwen-turbo');
    expect(shadow.length).toBeGreaterThanOrEqual(3);
    expect(shadow.every((r) => r.agent_id === null && r.key_id === null)).toBe(true);
    // A route runs in shadow only, names one target, and must be a model the gateway serves.
    expect((await server.api('POST', '/api/experiments', { route: 'gpt-4o-mini', name: 'X', mode: 'ab', candidates: [{ model: 'qwen-turbo' }] })).status).toBe(400);
    expect((await server.api('POST', '/api/experiments', { route: 'gpt-4o-mini', agent_id: 'a', name: 'X', mode: 'shadow', candidates: [{ model: 'qwen-turbo' }] })).status).toBe(400);
    expect((await server.api('POST', '/api/experiments', { route: 'no-such-model', name: 'X', mode: 'shadow', candidates: [{ model: 'qwen-turbo' }] })).status).toBe(404);
    await server.api('POST', `/api/experiments/${exp.id}/stop`, {});
  }, 60_000);

  it('has a kill switch per candidate, and refuses what it cannot run', async () => {
    const agentId = await newAgent();
    const exp = await start({ agent_id: agentId, name: 'Kill', mode: 'ab', candidates: [{ model: 'qwen-turbo', share: 0.5 }, { model: 'budget-mini', share: 0.5 }] });
    const killed = await server.api('POST', `/api/experiments/${exp.id}/stop`, { candidate_id: 'c2', reason: 'customers complained' });
    expect(killed.status).toBe(200);
    expect(killed.body.candidates[1].stopped_reason).toBe('customers complained');
    expect(killed.body.status).toBe('running');
    expect((await server.api('POST', '/api/experiments', { agent_id: agentId, name: 'Second', mode: 'ab', candidates: [{ model: 'qwen-turbo' }] })).status).toBe(409);
    expect((await server.api('POST', '/api/experiments', { agent_id: 'nobody', name: 'X', mode: 'shadow', candidates: [{ model: 'qwen-turbo' }] })).status).toBe(404);
    expect((await server.api('POST', '/api/experiments', { agent_id: agentId, name: 'X', mode: 'shadow', candidates: [] })).status).toBe(400);
    expect((await server.api('GET', '/api/experiments/exp_nope/report')).status).toBe(404);
  });
});
