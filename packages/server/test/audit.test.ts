import type { AuditRow } from '../src/audit/index.ts';
import type { DomainEvent } from '../src/events/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('audit log on %s', (kind) => {
  let server: TestServer;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    server = await startServer(kind);
    server.warbler.events.on((e) => void events.push(e));
  });
  afterAll(async () => server?.stop());

  const entries = async (query = '') => (await server.api('GET', `/api/audit${query}`)).body.entries as any[];

  it('records who changed what, from where, before and after, with secrets masked', async () => {
    const created = await server.api('POST', '/api/agents', { name: 'Audited helper', model: 'local/kb-answer', system_prompt: 'Be brief.' });
    expect(created.status).toBe(201);
    const agentId = created.body.id as string;
    const res = await fetch(`${server.url}/api/agents/${agentId}`, {
      method: 'PATCH', body: JSON.stringify({ name: 'Renamed helper' }),
      headers: { authorization: `Bearer ${server.appSecret}`, 'content-type': 'application/json', 'user-agent': 'audit-test/1.0' },
    });
    expect(res.status).toBe(200);
    const key = await server.api('POST', '/api/gateway/keys', { name: 'ci key' });
    expect(key.status).toBe(201);
    const secret = key.body.secret as string;
    expect(secret.length).toBeGreaterThan(8);

    const update = (await entries('?action=agent.update'))[0];
    expect(update).toMatchObject({
      action: 'agent.update', resource: 'agent', resource_id: agentId, actor: { kind: 'app_secret', id: 'default' },
      ip: '127.0.0.1', user_agent: 'audit-test/1.0', before: { name: 'Audited helper' }, after: { name: 'Renamed helper' },
    });
    const keyEntry = (await entries('?action=gateway_key.create'))[0];
    expect(keyEntry.after.secret).toBe(`••••${secret.slice(-4)}`);
    expect(keyEntry).toMatchObject({ resource_id: key.body.key.id, after: { key: { name: 'ci key' } } });
    // The whole trail, as the API and the JSONL export give it, never holds the key.
    const exported = await fetch(`${server.url}/api/audit/export`, { headers: { authorization: `Bearer ${server.appSecret}` } });
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const text = await exported.text();
    expect(text).not.toContain(secret);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.at(-1)).toMatchObject({ action: 'gateway_key.create', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Webhooks hear of it through the domain event.
    expect(events.filter((e) => e.type === 'audit.recorded').map((e) => e.data.action)).toEqual(expect.arrayContaining(['agent.create', 'agent.update', 'gateway_key.create']));
  });

  it('records the operator and role changes; chat, receipts and reads are not administrative', async () => {
    // The operator rotates another app's secret: recorded in that app's chain, not this one's.
    const other = await server.api('POST', '/admin/apps', { name: 'Other app' }, server.masterKey);
    expect(other.status).toBe(201);
    const rotated = await server.api('POST', `/admin/apps/${other.body.app.id}/secret`, undefined, server.masterKey);
    expect(rotated.status).toBe(200);
    const otherTrail = (await server.api('GET', '/api/audit', undefined, rotated.body.secret)).body.entries;
    expect(otherTrail.map((e: any) => e.action)).toEqual(['app_secret.rotate', 'app.create']);
    expect(otherTrail[0]).toMatchObject({ actor: { kind: 'master_key', id: null }, resource_id: other.body.app.id });
    expect(JSON.stringify(otherTrail)).not.toContain(rotated.body.secret);
    expect(JSON.stringify(otherTrail)).not.toContain(other.body.secret);
    expect((await entries('?action=app_secret.rotate'))).toHaveLength(0);
    const api = (m: string, p: string, b?: unknown, c?: string) => server.api(m, p, b, c);
    const mk = async (name: string) => {
      const u = await api('POST', '/api/users', { id: `${name}-${Date.now()}`, name });
      return { id: u.body.id as string, token: (await api('POST', `/api/users/${u.body.id}/tokens`, {})).body.token as string };
    };
    const ann = await mk('ann');
    const ben = await mk('ben');
    const group = await api('POST', '/api/conversations', { kind: 'group', member_ids: [ben.id], title: 'Ops' }, ann.token);
    const before = (await api('GET', '/api/audit?limit=200')).body.entries.length;
    const socket = await TestSocket.open(server.wsUrl, ann.token);
    await socket.request({ type: 'send', conversation_id: group.body.id, client_msg_id: 'c1', content: { text: 'hello' } });
    await api('POST', `/api/conversations/${group.body.id}/messages`, { client_msg_id: 'c2', content: { text: 'again' } }, ann.token);
    socket.ws.close();
    expect((await api('GET', '/api/audit?limit=200')).body.entries.length).toBe(before);

    const promoted = await api('PATCH', `/api/conversations/${group.body.id}/members/${ben.id}`, { role: 'admin' }, ann.token);
    expect(promoted.status).toBe(200);
    const role = (await api('GET', '/api/audit?action=member.update')).body.entries[0];
    expect(role).toMatchObject({ actor: { kind: 'user', id: ann.id }, resource_id: ben.id, after: { role: 'admin' } });
    // A refused write changes nothing and records nothing.
    const refused = await api('PATCH', `/api/agents/nobody`, { name: 'x' });
    expect(refused.status).toBe(404);
    expect((await api('GET', '/api/audit?action=agent.update')).body.entries).toHaveLength(1);
  });

  it('verifies the chain, and shows where a row was edited or removed in the database', async () => {
    const verify = async () => (await server.api('GET', '/api/audit/verify')).body;
    const ok = await verify();
    expect(ok).toMatchObject({ app_id: 'default', ok: true });
    expect(ok.entries).toBeGreaterThanOrEqual(6);

    const db = server.warbler.store.roomTables();
    const row = await db.selectFrom('audit_log').selectAll().where('app_id', '=', 'default').where('seq', '=', 2).executeTakeFirstOrThrow();
    await db.updateTable('audit_log').set({ after: '{"name":"Someone else"}' }).where('app_id', '=', 'default').where('seq', '=', 2).execute();
    expect(await verify()).toMatchObject({ ok: false, broken: { seq: 2, reason: 'hash_mismatch' }, entries: 1 });
    // Recomputing the row's own hash is not enough: the next row's link still names the old one.
    // (The forger even holds the encryption key: before/after are sealed at rest, the hash is over their plaintext.)
    const { entryHash, AuditStore } = await import('../src/audit/index.ts');
    const opened = (await new AuditStore(db, server.warbler.atRest.rows).at('default', 2)) as AuditRow;
    const forged = entryHash(row.prev_hash, { ...opened, after: '{"name":"Someone else"}' });
    await db.updateTable('audit_log').set({ hash: forged }).where('app_id', '=', 'default').where('seq', '=', 2).execute();
    expect(await verify()).toMatchObject({ ok: false, broken: { seq: 3, reason: 'prev_hash_mismatch' } });
    await db.updateTable('audit_log').set({ after: row.after, hash: row.hash }).where('app_id', '=', 'default').where('seq', '=', 2).execute();
    expect(await verify()).toMatchObject({ ok: true });
    await db.deleteFrom('audit_log').where('app_id', '=', 'default').where('seq', '=', 3).execute();
    expect(await verify()).toMatchObject({ ok: false, broken: { seq: 3, reason: 'gap' } });
  });

  it('signs the chain head, so deleting the newest entries shows as truncation, also against a head exported earlier', async () => {
    const app = await server.api('POST', '/admin/apps', { name: 'Truncated app' }, server.masterKey);
    const appId = app.body.app.id as string;
    const secret = (await server.api('POST', `/admin/apps/${appId}/secret`, undefined, server.masterKey)).body.secret as string;
    const api = (method: string, p: string, body?: unknown) => server.api(method, p, body, secret);
    const agent = async (name: string) => expect((await api('POST', '/api/agents', { name, model: 'local/kb-answer' })).status).toBe(201);
    await agent('First');
    await agent('Second');
    const early = (await api('GET', '/api/audit/head')).body;
    await agent('Third');
    await agent('Fourth');
    const exported = (await api('GET', '/api/audit/head')).body;
    const last = exported.head.seq as number;
    expect(exported.head).toMatchObject({ app_id: appId, seq: early.head.seq + 2, key_id: exported.key_id });
    // An auditor checks the exported head with the public key alone.
    const { createPublicKey, verify: verifySignature } = await import('node:crypto');
    const { headPayload } = await import('../src/audit/index.ts');
    expect(verifySignature(null, headPayload(exported.head), createPublicKey(exported.public_key), Buffer.from(exported.head.signature, 'base64url'))).toBe(true);
    expect((await api('GET', '/api/audit/verify')).body).toMatchObject({ ok: true, entries: last, signed_head: { seq: last } });

    // Deleting the last two rows leaves a chain that is valid as far as it goes: the signed head says it went further.
    const db = server.warbler.store.roomTables();
    await db.deleteFrom('audit_log').where('app_id', '=', appId).where('seq', '>', last - 2).execute();
    expect((await api('GET', '/api/audit/verify')).body).toMatchObject({ ok: false, entries: last - 2, broken: { seq: last - 1, reason: 'truncated' } });
    // Removing the stored head too is seen.
    await db.deleteFrom('audit_heads').where('app_id', '=', appId).execute();
    expect((await api('GET', '/api/audit/verify')).body).toMatchObject({ ok: false, broken: { reason: 'head_missing' } });
    // Putting back an older signed head makes the database agree with itself; the head exported later does not.
    await db.insertInto('audit_heads').values(early.head).execute();
    expect((await api('GET', '/api/audit/verify')).body).toMatchObject({ ok: true });
    expect((await api('POST', '/api/audit/verify', { head: exported.head })).body).toMatchObject({ ok: false, broken: { seq: early.head.seq + 1, reason: 'truncated' } });
    // A head whose seq was raised by hand no longer matches its signature.
    const forged = { ...early.head, seq: early.head.seq + 5 };
    expect((await api('POST', '/api/audit/verify', { head: forged })).body).toMatchObject({ ok: false, broken: { reason: 'head_signature_invalid' } });
    const wrongApp = await server.api('POST', '/api/audit/verify', { head: exported.head });
    expect(wrongApp).toMatchObject({ status: 400, body: { error: { code: 'bad_request', message: expect.stringContaining(`belongs to app ${appId}`) } } });
    expect((await api('POST', '/api/audit/verify', { head: { ...exported.head, hash: 'not hex' } })).status).toBe(400);
  });

  it('pages and filters, and refuses hostile queries with a clear error', async () => {
    const page = await server.api('GET', '/api/audit?limit=2');
    expect(page.body.entries).toHaveLength(2);
    const next = await server.api('GET', `/api/audit?limit=2&before_seq=${page.body.next_before_seq}`);
    expect(next.body.entries[0].seq).toBeLessThan(page.body.entries[1].seq + 0.5);
    expect((await server.api('GET', '/api/audit?actor_kind=master_key')).body.entries.every((e: any) => e.actor.kind === 'master_key')).toBe(true);
    const bad = await server.api('GET', '/api/audit?action=%27%20OR%201=1--&limit=99999');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
    const user = await server.user('Nosy');
    expect((await server.api('GET', '/api/audit', undefined, user.token)).status).toBe(403);
  });
});
