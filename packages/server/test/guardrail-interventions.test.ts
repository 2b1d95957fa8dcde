// Guardrail interventions as the operator's console reads them: a blocked,
// a masked and a flagged /v1 call leave rows in GET /api/guardrails/interventions
// (the app's only, filtered, paged, never showing the word or personal data in
// the excerpt), on SQLite and PostgreSQL; old rows go after the retention period.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GuardrailInterventionPage } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterventionLog, InterventionStore } from '../src/guardrails/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const CONFIG = [
  'version: 1',
  'router:',
  '  retry: { max_retries: 0 }',
  'guardrails:',
  '  lists:',
  '    illegal: { action: block, words: [赌博] }',
  '    rude: { action: mask, words: [shit] }',
  '    watch: { action: flag, words: [competitor] }',
  '  pii: { mask: [mobile, email], restore_in_reply: false }',
  '',
].join('\n');

describe.each(storeKinds())('guardrail interventions on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let keyId: string;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 1 } });
    const configPath = path.join(tmpdir(), `warbler-interventions-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, CONFIG);
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    const created = await server.warbler.keys.create('default', { name: 'interventions' });
    keyId = created.key.id;
    client = new OpenAI({ apiKey: created.secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  const list = async (query = '') => {
    const res = await server.api('GET', `/api/guardrails/interventions${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as GuardrailInterventionPage;
  };

  it('lists a blocked, a masked and a flagged call with the rule, key, path and a masked excerpt, newest first', async () => {
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: '我想了解赌博的规则，电话 13800138000' }] }))
      .rejects.toMatchObject({ status: 400, code: 'content_policy_violation' });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'this is shit, mail me at ann@example.com' }] });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'how do we compare to the competitor?' }] });

    const page = await list();
    const byRule = new Map(page.interventions.map((i) => [i.rule, i]));
    // Newest first; the masked call's two rules share a millisecond, so their order between them is not fixed.
    const rules = page.interventions.map((i) => i.rule);
    expect(rules[0]).toBe('words:watch');
    expect(rules[3]).toBe('words:illegal');
    expect(rules.slice(1, 3).sort()).toEqual(['pii:email', 'words:rude']);
    expect(byRule.get('words:illegal')).toMatchObject({ action: 'block', path: 'v1', who: keyId, word: '赌博', policy: 'default', count: 1 });
    expect(byRule.get('words:rude')).toMatchObject({ action: 'mask', word: 'shit' });
    expect(byRule.get('words:watch')).toMatchObject({ action: 'flag', word: 'competitor' });
    expect(byRule.get('pii:email')).toMatchObject({ action: 'mask', word: null, excerpt: expect.stringContaining('[EMAIL_1]') });
    // The excerpt shows where, never what: no listed word, no number, no address.
    const blocked = byRule.get('words:illegal')!.excerpt!;
    expect(blocked).toContain('***');
    expect(blocked).not.toContain('赌博');
    expect(blocked).not.toMatch(/1380/);
    for (const i of page.interventions) expect(i.excerpt ?? '').not.toContain('ann@example.com');
    expect(page.rules).toEqual(['pii:email', 'words:illegal', 'words:rude', 'words:watch']);
  });

  it('filters by action and rule, pages with next_before, and refuses a malformed filter with 400', async () => {
    expect((await list('?action=block')).interventions.map((i) => i.rule)).toEqual(['words:illegal']);
    expect((await list('?rule=words%3Arude')).interventions.map((i) => i.action)).toEqual(['mask']);
    expect((await list('?path=agent')).interventions).toEqual([]);
    const first = await list('?limit=2');
    expect(first.interventions).toHaveLength(2);
    const second = await list(`?limit=2&before=${first.next_before}`);
    expect(second.interventions.at(-1)?.rule).toBe('words:illegal');
    expect(new Set([...first.interventions, ...second.interventions].map((i) => i.id)).size).toBe(4);
    const bad = await server.api('GET', '/api/guardrails/interventions?action=delete');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
  });

  it("shows only the app's own interventions and needs the app's credentials", async () => {
    const other = await server.api('POST', '/admin/apps', { name: `other ${kind}` }, server.masterKey);
    expect(other.status).toBeLessThan(300);
    const theirs = await server.api('GET', '/api/guardrails/interventions', undefined, other.body.secret);
    expect(theirs.body.interventions).toEqual([]);
    expect((await server.api('GET', '/api/guardrails/interventions', undefined, 'not-a-secret')).status).toBe(401);
  });

  it('stores a busy second\'s interventions in full batches and a rest, every row as recorded', async () => {
    const store = new InterventionStore(server.warbler.store.roomTables());
    const at = Date.now() - 1000;
    const rows = Array.from({ length: 1001 }, (_, i) => ({
      app_id: 'batch-app', id: `grd_batch_${String(i).padStart(5, '0')}`, at: at + i, path: 'v1' as const, who: i % 2 ? 'key_1' : null,
      rule: i % 3 ? 'pii:mobile' : 'words:rude', action: 'mask' as const, policy: 'default', count: 1 + (i % 4), word: i % 3 ? null : 'shit', excerpt: i % 5 ? `call [PHONE_${i}]` : null,
    }));
    await store.insert(rows);
    const back = await store.list('batch-app', { limit: 2000 });
    expect(back).toHaveLength(1001);
    expect([...back].reverse()).toEqual(rows);
  });

  it('removes interventions older than the retention period', async () => {
    let now = Date.now() - 100 * 86_400_000;
    const log = new InterventionLog({ store: new InterventionStore(server.warbler.store.roomTables()), retentionDays: 90, now: () => now });
    log.record({ rule: 'words:old', action: 'flag', path: 'v1', app_id: 'default', who: null, policy: 'default', count: 1 });
    await log.flush();
    expect((await list()).rules).toContain('words:old');
    now = Date.now();
    expect(await log.prune()).toBe(1);
    expect((await list()).rules).not.toContain('words:old');
  });
});
