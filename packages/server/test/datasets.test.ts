// Evaluation datasets on each store, over real sockets and the upstream
// fixture: a dataset cut from thumbs-up replies, replayed against a candidate
// and a judge (ledger source eval, never the agent's), stopped by its budget,
// exported as fine-tuning JSONL with personal data masked; and the
// /v1/fine_tuning/jobs pass-through driven by the official openai client.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Dataset, DatasetItem, DatasetResult, DatasetRun } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRow } from '../src/store/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const GOOD = 'Refunds are paid within 14 days to the original card [1].';
const EMAIL = 'jane.doe@example.com';
const PHONE = '13800138000';

describe.each(storeKinds())('datasets on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let agentId = '';
  const replies: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 0 } });
    const configPath = path.join(tmpdir(), `warbler-datasets-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'routes:',
      '  cand-mini: { deployments: [openai/cand-mini] }',
      '  judge-mini: { deployments: [openai/judge-mini] }',
      'prices:',
      '  - { model: cand-mini, currency: USD, effective_from: "2024-01-01", per_million: { input: "0.05", output: "0.20" } }',
      '  - { model: judge-mini, currency: USD, effective_from: "2024-01-01", per_million: { input: "0.10", output: "0.40" } }',
      'router:',
      '  retry: { max_retries: 0 }',
      '',
    ].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    const kb = await server.api('POST', '/api/knowledge-bases', { name: 'Help centre' });
    await server.api('POST', `/api/knowledge-bases/${kb.body.id}/documents`, { title: 'Refunds', text: '# Refunds\n\nRefunds are paid within 14 days to the original card.' });
    const agent = await server.api('POST', '/api/agents', { name: 'Support Bot', model: 'gpt-4o-mini', system_prompt: 'You are the shop\'s support bot.', knowledge_base_ids: [kb.body.id] });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    agentId = agent.body.id;
    upstream.script(
      { model: 'gpt-4o-mini', text: GOOD, times: Infinity },
      { model: 'cand-mini', text: 'Refunds take 14 days and go back to the original card [1].', times: Infinity },
      { model: 'judge-mini', promptContains: 'Passages:', text: 'SUPPORTED', times: Infinity },
      { model: 'judge-mini', text: 'TIE', times: Infinity },
    );
    // Three customers ask; two like the answer, one does not.
    const ratings = ['up', 'up', 'down'] as const;
    for (const [i, rating] of ratings.entries()) {
      const who = await server.user(`Customer${i}`);
      const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, who.token);
      await server.api('POST', `/api/conversations/${conv.body.id}/messages`, { content: { text: 'Hi, I ordered a lamp last week.' } }, who.token);
      await server.warbler.runtime.idle();
      await server.api('POST', `/api/conversations/${conv.body.id}/messages`,
        { content: { text: `My email is ${EMAIL} and my phone ${PHONE}. How long do refunds take?` } }, who.token);
      await server.warbler.runtime.idle();
      const history = await server.api('GET', `/api/conversations/${conv.body.id}/messages?limit=10`, undefined, who.token);
      const reply = (history.body.messages as Array<{ id: string; sender_id: string }>).filter((m) => m.sender_id === agentId).at(-1)!;
      replies.push(reply.id);
      const rated = await server.api('POST', `/api/messages/${reply.id}/feedback`, { rating }, who.token);
      expect(rated.status, JSON.stringify(rated.body)).toBe(200);
    }
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  async function dataset(body: Record<string, unknown>): Promise<Dataset> {
    const res = await server.api('POST', '/api/datasets', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async function run(datasetId: string, body: Record<string, unknown>): Promise<DatasetRun> {
    const started = await server.api('POST', `/api/datasets/${datasetId}/runs`, body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await server.warbler.datasets.settled(started.body.id);
    const res = await server.api('GET', `/api/datasets/${datasetId}/runs/${started.body.id}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function ledger(filter: (r: LedgerRow) => boolean): Promise<LedgerRow[]> {
    await server.warbler.ledger.flush();
    return (await server.warbler.store.listLedger('default', { limit: 5_000 })).filter(filter);
  }

  it('cuts a dataset from thumbs-up replies with their context, and replays it against a candidate and a judge on its own ledger source', async () => {
    const ds = await dataset({ name: 'Liked answers', filters: { agent_id: agentId, feedback: 'up' } });
    expect(ds).toMatchObject({ item_count: 2, good_items: 2, agent_id: agentId });
    const items = (await server.api('GET', `/api/datasets/${ds.id}/items`)).body.items as DatasetItem[];
    expect(items.map((i) => i.message_id).sort()).toEqual(replies.slice(0, 2).sort());
    for (const item of items) {
      expect(item).toMatchObject({ question: expect.stringContaining('How long do refunds take?'), reference: GOOD, feedback: 'up', system_prompt: 'You are the shop\'s support bot.' });
      expect(item.history.map((h) => h.role)).toEqual(['user', 'assistant']);
      expect(item.passages[0]?.text).toContain('14 days');
    }
    // Stored sealed: the raw row holds no question text.
    const raw = await server.warbler.store.roomTables().selectFrom('dataset_items').select('data').where('dataset_id', '=', ds.id).execute();
    expect(raw.every((r: { data: string }) => !r.data.includes('refunds'))).toBe(true);

    const before = await ledger((r) => r.source === 'agent');
    const result = await run(ds.id, { model: 'cand-mini', judge_model: 'judge-mini', budget_usd: 5 });
    expect(result).toMatchObject({ status: 'done', model: 'cand-mini', skipped_budget: 0 });
    expect(result.summary).toMatchObject({ items: 2, answered: 2, failure_rate: { k: 0, n: 2 }, judge_grounded: { k: 2, n: 2 }, preference: { wins: 0, losses: 0, ties: 2 } });
    expect(result.summary.grounding.candidate.mean).toBeGreaterThan(0.5);
    expect(result.summary.citations.candidate.rate).toBe(1);
    expect(result.spent_usd).toBeGreaterThan(0);
    const results = (await server.api('GET', `/api/datasets/${ds.id}/runs/${result.id}/results`)).body.results as DatasetResult[];
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ model: 'cand-mini', failed: false, cited: true, judge_grounded: true, preference: 0 });
    expect(results[0]!.answer).toContain('14 days');

    const evalRows = await ledger((r) => r.source === 'eval');
    expect(evalRows.filter((r) => r.purpose === 'eval_reply')).toHaveLength(2);
    expect(evalRows.filter((r) => r.purpose === 'judge')).toHaveLength(6);
    expect(evalRows.every((r) => r.agent_id === null && r.conversation_id === null)).toBe(true);
    // Nothing was charged to the agent.
    expect(await ledger((r) => r.source === 'agent')).toHaveLength(before.length);
    // The candidate was asked with the item's context: system prompt with the knowledge, the history, the question.
    const asked = upstream.requests.find((r) => r.body?.model === 'cand-mini')!.body.messages as Array<{ role: string; content: string }>;
    expect(asked.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(asked[0]!.content).toContain('<knowledge>');
  });

  it('stops a run at its budget', async () => {
    // Every reply of the agent: two per conversation (the greeting's and the question's), whatever the thumbs.
    const ds = await dataset({ name: 'Everything', filters: { agent_id: agentId } });
    expect(ds).toMatchObject({ item_count: 6, good_items: 2 });
    const before = (await ledger((r) => r.source === 'eval')).length;
    const result = await run(ds.id, { model: 'cand-mini', budget_usd: 0.000001 });
    expect(result).toMatchObject({ status: 'stopped', skipped_budget: 5, summary: { answered: 1 } });
    expect(result.stopped_reason).toMatch(/budget/);
    expect((await ledger((r) => r.source === 'eval')).length - before).toBe(1);
  });

  it('exports the good items as fine-tuning JSONL with personal data masked', async () => {
    const ds = await dataset({ name: 'All replies', filters: { agent_id: agentId } });
    const res = await fetch(`${server.url}/api/datasets/${ds.id}/export`, { headers: { authorization: `Bearer ${server.appSecret}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/jsonl');
    const text = await res.text();
    const lines = text.trim().split('\n');
    // The thumbs-down reply is left out.
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const example = JSON.parse(line) as { messages: Array<{ role: string; content: string }> };
      expect(example.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
      expect(example.messages.at(-1)!.content).toBe(GOOD);
      expect(example.messages.every((m) => typeof m.content === 'string' && m.content.length > 0)).toBe(true);
      expect(example.messages[3]!.content).toBe('My email is [EMAIL_1] and my phone [PHONE_1]. How long do refunds take?');
    }
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(PHONE);
  });

  it('refuses what it cannot do with clear errors', async () => {
    const unknownAgent = await server.api('POST', '/api/datasets', { name: 'x', filters: { agent_id: 'nobody' } });
    expect(unknownAgent).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const ds = await dataset({ name: 'Liked again', filters: { agent_id: agentId, feedback: 'up' } });
    const unrouted = await server.api('POST', `/api/datasets/${ds.id}/runs`, { model: 'no-such-model' });
    expect(unrouted.status).toBe(400);
    expect(unrouted.body.error.message).toContain('not a routed model');
    expect((await server.api('GET', '/api/datasets/ds_missing/items')).status).toBe(404);
  });

  it('passes /v1/fine_tuning/jobs through to OpenAI for the official client, each app seeing its own jobs', async () => {
    const key = await server.api('POST', '/api/gateway/keys', { name: 'tuner' });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const openai = new OpenAI({ apiKey: key.body.secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const job = await openai.fineTuning.jobs.create({ model: 'gpt-4o-mini-2024-07-18', training_file: 'file-abc123' });
    expect(job).toMatchObject({ object: 'fine_tuning.job', status: 'validating_files', training_file: 'file-abc123' });
    const listed = await openai.fineTuning.jobs.list({ limit: 10 });
    expect(listed.data.map((j) => j.id)).toContain(job.id);
    expect((await openai.fineTuning.jobs.retrieve(job.id)).id).toBe(job.id);
    const events = await openai.fineTuning.jobs.listEvents(job.id, { limit: 10 });
    expect(events.data.map((e) => e.message)).toContain(`Created fine-tuning job: ${job.id}`);
    expect((await openai.fineTuning.jobs.cancel(job.id)).status).toBe('cancelled');
    // Upstream's own refusal comes back as it was.
    await expect(openai.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: 42 as unknown as string })).rejects.toMatchObject({ status: 400, param: 'training_file' });
    // Another app's key does not see this app's job.
    const other = await server.api('POST', '/admin/apps', { name: 'Other' }, server.masterKey);
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const stranger = new OpenAI({ apiKey: server.masterKey, baseURL: `${server.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-warbler-app': other.body.app.id } });
    await expect(stranger.fineTuning.jobs.retrieve(job.id)).rejects.toMatchObject({ status: 404, code: 'fine_tuning_job_not_found' });
    expect((await stranger.fineTuning.jobs.list()).data).toEqual([]);
  });
});
