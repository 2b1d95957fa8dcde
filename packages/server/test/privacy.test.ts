import { existsSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const DAY = 86_400_000;

async function upload(server: TestServer, conversationId: string, token: string, text: string, name: string) {
  const form = new FormData();
  form.append('file', new Blob([text], { type: 'text/plain' }), name);
  const res = await fetch(`${server.url}/api/conversations/${conversationId}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() };
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(storeKinds())("a user's data on %s", (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(kind, { WARBLER_RETENTION_INTERVAL_MS: '1000' });
  });
  afterAll(async () => server?.stop());

  const send = (conversationId: string, token: string, text: string, id: string) =>
    server.api('POST', `/api/conversations/${conversationId}/messages`, { client_msg_id: id, content: { text } }, token);

  it('exports everything about one user of a group, then erases them while the others keep a readable conversation', async () => {
    const marker = `MARKER-${kind}-${Date.now()}`;
    const alice = await server.user('Alice');
    const bob = await server.user('Bob');
    const agent = await server.api('POST', '/api/agents', { name: 'Privacy helper', model: 'local/kb-answer', system_prompt: 'Answer.' });
    expect(agent.status).toBe(201);
    const group = (await server.api('POST', '/api/conversations', { kind: 'group', member_ids: [bob.id, agent.body.id], title: 'Team' }, alice.token)).body;
    const direct = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [bob.id] }, alice.token)).body;
    expect((await send(group.id, alice.token, `hello ${marker} one`, 'a1')).status).toBe(201);
    expect((await send(group.id, bob.token, 'hi Alice', 'b1')).status).toBe(201);
    expect((await send(direct.id, alice.token, `private ${marker} two`, 'a2')).status).toBe(201);
    expect((await send(group.id, alice.token, '@Privacy helper what is our refund policy?', 'a3')).status).toBe(201);
    const reply = await waitFor('the agent reply', async () => {
      const history = await server.api('GET', `/api/conversations/${group.id}/messages?limit=50`, undefined, bob.token);
      return history.body.messages.find((m: any) => m.sender_id === agent.body.id && m.state === 'complete');
    });
    const rated = await server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: 'up' }, alice.token);
    expect(rated.status).toBe(200);
    const file = await upload(server, group.id, alice.token, `file body ${marker}`, 'notes.txt');
    expect(file.status).toBe(201);
    await server.warbler.ledger.flush();
    const db = server.warbler.store.roomTables();
    const ledgerBefore = await db.selectFrom('ledger').select(['id', 'cost_nanos', 'prompt_tokens']).where('app_id', '=', 'default').where('user_id', '=', alice.id).execute();
    expect(ledgerBefore.length).toBeGreaterThan(0);

    // Export: one zip with everything.
    const res = await fetch(`${server.url}/api/privacy/users/${alice.id}/export`, { method: 'POST', headers: { authorization: `Bearer ${server.appSecret}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const zip = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const text = (name: string) => new TextDecoder().decode(zip[name]);
    expect(Object.keys(zip)).toEqual(expect.arrayContaining(['README.txt', 'profile.json', 'conversations.json', 'messages.jsonl', 'feedback.json', 'ledger.jsonl', 'files.json']));
    expect(JSON.parse(text('profile.json'))).toMatchObject({ id: alice.id, name: 'Alice' });
    expect(JSON.parse(text('conversations.json')).map((c: any) => c.id).sort()).toEqual([group.id, direct.id].sort());
    const sent = text('messages.jsonl').trim().split('\n').map((l) => JSON.parse(l));
    expect(sent.map((m) => m.content.text).sort()).toEqual([`hello ${marker} one`, `private ${marker} two`, '@Privacy helper what is our refund policy?'].sort());
    expect(sent.every((m) => m.sender_id === alice.id)).toBe(true);
    expect(JSON.parse(text('feedback.json'))).toEqual([{ message_id: reply.id, conversation_id: group.id, rating: 'up' }]);
    expect(text('ledger.jsonl').trim().split('\n').map((l) => JSON.parse(l).id).sort()).toEqual(ledgerBefore.map((r) => r.id).sort());
    const files = JSON.parse(text('files.json'));
    expect(files).toHaveLength(1);
    expect(text(files[0].archive_path)).toBe(`file body ${marker}`);

    // Erase.
    const fileRow = await db.selectFrom('files').select('path').where('app_id', '=', 'default').where('id', '=', file.body.id).executeTakeFirstOrThrow();
    const filePath = path.join(server.warbler.config.dataDir, 'files', fileRow.path);
    expect(existsSync(filePath)).toBe(true);
    const erased = await server.api('POST', `/api/privacy/users/${alice.id}/erase`);
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ messages_replaced: 3, files_removed: 1, memberships_removed: 2, ledger_rows_anonymized: ledgerBefore.length });
    const pseudonym = erased.body.user_id as string;
    expect(pseudonym).toMatch(/^erased_/);

    // Bob still reads both conversations, with placeholders where Alice's messages were.
    const history = (await server.api('GET', `/api/conversations/${group.id}/messages?limit=50`, undefined, bob.token)).body.messages;
    expect(history.find((m: any) => m.content.text === 'hi Alice')).toBeDefined();
    const placeholders = history.filter((m: any) => m.sender_id === pseudonym);
    expect(placeholders).toHaveLength(2);
    expect(placeholders.every((m: any) => m.state === 'recalled' && m.content.erased === true && m.content.text === undefined)).toBe(true);
    expect(history.find((m: any) => m.id === reply.id).content.feedback ?? {}).toEqual({});
    const dm = (await server.api('GET', `/api/conversations/${direct.id}/messages`, undefined, bob.token)).body.messages;
    expect(dm).toHaveLength(1);
    expect(dm[0]).toMatchObject({ sender_id: pseudonym, state: 'recalled' });
    expect((await server.api('GET', `/api/conversations/${group.id}/members`, undefined, bob.token)).body.members.map((m: any) => m.user_id).sort()).toEqual([agent.body.id, bob.id].sort());

    // Nothing names Alice any more except the anonymized ledger rows (which keep their tokens and cost).
    const named = async (table: string, column: string) =>
      (await db.selectFrom(table).select(column).where('app_id', '=', 'default').where(column, 'like', `%${alice.id}%`).execute()).length;
    for (const [table, column] of [['users', 'id'], ['members', 'user_id'], ['messages', 'sender_id'], ['files', 'uploader_id'], ['conversations', 'created_by'], ['conversations', 'direct_key'], ['ledger', 'user_id']]) {
      expect(await named(table!, column!), `${table}.${column}`).toBe(0);
    }
    const ledgerAfter = await db.selectFrom('ledger').select(['id', 'cost_nanos', 'prompt_tokens']).where('app_id', '=', 'default').where('user_id', '=', pseudonym).execute();
    expect(ledgerAfter.map((r) => `${r.id}:${r.cost_nanos}:${r.prompt_tokens}`).sort()).toEqual(ledgerBefore.map((r) => `${r.id}:${r.cost_nanos}:${r.prompt_tokens}`).sort());
    const everyMessage = [...(await server.warbler.store.listMessages('default', group.id, { limit: 100 })).messages, ...(await server.warbler.store.listMessages('default', direct.id, { limit: 100 })).messages];
    expect(JSON.stringify(everyMessage)).not.toContain(marker);
    expect(existsSync(filePath)).toBe(false);
    expect((await server.api('GET', '/api/conversations', undefined, alice.token)).status).toBe(401);
    expect((await server.api('POST', `/api/privacy/users/${alice.id}/erase`)).status).toBe(404);

    // Both requests are in the audit log, naming Alice only by a keyed hash; the chain still verifies.
    const trail = (await server.api('GET', '/api/audit?resource=user_data')).body.entries;
    expect(trail.map((e: any) => e.action)).toEqual(['user_data.erase', 'user_data.export']);
    expect(trail[0].resource_id).toMatch(/^subject_[0-9a-f]{24}$/);
    expect(trail[0].resource_id).toBe(trail[1].resource_id);
    expect(JSON.stringify(trail)).not.toContain(alice.id);
    expect((await server.api('GET', '/api/audit/verify')).body.ok).toBe(true);
  });

  it('erases a user who never joined a conversation (PostgreSQL once answered 500 here; found by the fuzz suite)', async () => {
    const loner = await server.user('Loner');
    const res = await server.api('POST', `/api/privacy/users/${loner.id}/erase`, true);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ messages_replaced: 0, memberships_removed: 0 });
    expect((await server.api('GET', `/api/users/${loner.id}`)).status).toBe(404);
  });

  it('previews and enforces retention per conversation kind, in the background on the node holding the lease', async () => {
    const carol = await server.user('Carol');
    const dan = await server.user('Dan');
    const old = (await server.api('POST', '/api/conversations', { kind: 'group', member_ids: [dan.id], title: 'Old project' }, carol.token)).body;
    const fresh = (await server.api('POST', '/api/conversations', { kind: 'group', member_ids: [dan.id], title: 'This week' }, carol.token)).body;
    const oldDirect = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [dan.id] }, carol.token)).body;
    for (const c of [old, fresh, oldDirect]) expect((await send(c.id, carol.token, 'status?', `r-${c.id}`)).status).toBe(201);
    const file = await upload(server, old.id, carol.token, 'old plan', 'plan.txt');
    const db = server.warbler.store.roomTables();
    const filePath = path.join(server.warbler.config.dataDir, 'files', (await db.selectFrom('files').select('path').where('id', '=', file.body.id).executeTakeFirstOrThrow()).path);
    // Another node takes the retention lease (this one's ran out): this node's background job must then leave everything alone.
    const otherNodeHoldsLease = async () => {
      await db.deleteFrom('leases').where('name', '=', 'retention').execute();
      expect(await server.warbler.store.takeLease('retention', 'another-node', Date.now(), 60_000)).toBe(true);
    };
    await otherNodeHoldsLease();
    await db.updateTable('conversations').set({ last_message_at: Date.now() - 40 * DAY }).where('app_id', '=', 'default').where('id', 'in', [old.id, oldDirect.id]).execute();

    const bad = await server.api('PUT', '/api/retention', { policies: [{ kind: 'group', days: 30 }, { kind: 'group', days: 60 }] });
    expect(bad.status).toBe(400);
    const set = await server.api('PUT', '/api/retention', { policies: [{ kind: 'group', days: 30 }, { kind: 'all', days: 365 }] });
    expect(set.status).toBe(200);
    const preview = (await server.api('GET', '/api/retention/preview')).body;
    expect(preview).toMatchObject({ conversations: 1, messages: 1, files: 1 });
    expect(preview.sample.map((c: any) => c.id)).toEqual([old.id]);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await server.api('GET', `/api/conversations/${old.id}`, undefined, carol.token)).status).toBe(200);

    // The lease is free: the background job removes the old group (not the 40-day-old direct chat, kept 365 days; not the fresh group).
    // The other node is gone: its lease is let go, and this node's job takes it at its next run.
    await server.warbler.store.dropLease('retention', 'another-node');
    await waitFor('retention to run', async () => ((await server.api('GET', `/api/conversations/${old.id}`, undefined, carol.token)).status === 404 ? true : undefined));
    // The rows go first, then the upload's bytes, then the audit entry: wait for the last step, not the first.
    const trail = await waitFor('retention to finish', async () => {
      const entries = (await server.api('GET', '/api/audit?action=retention.enforce')).body.entries;
      return entries.length ? entries : undefined;
    });
    expect(existsSync(filePath)).toBe(false);
    expect((await server.api('GET', `/api/conversations/${fresh.id}/messages`, undefined, dan.token)).body.messages).toHaveLength(1);
    expect((await server.api('GET', `/api/conversations/${oldDirect.id}/messages`, undefined, dan.token)).body.messages).toHaveLength(1);
    expect((await server.api('GET', '/api/retention/preview')).body).toMatchObject({ conversations: 0, messages: 0, files: 0 });
    expect(trail[0]).toMatchObject({ actor: { kind: 'system', id: 'retention' }, after: { conversations: 1, messages: 1, files: 1 } });
    expect((await server.api('GET', '/api/audit?action=retention_policy.update')).body.entries[0].after).toEqual({ policies: [{ kind: 'all', days: 365 }, { kind: 'group', days: 30 }] });

    // Enforcing by hand with a tighter policy takes the direct chat too.
    await server.api('PUT', '/api/retention', { policies: [{ kind: 'all', days: 10 }] });
    await otherNodeHoldsLease();
    expect((await server.api('POST', '/api/retention/enforce')).body).toMatchObject({ conversations: 1, messages: 1 });
    expect((await server.api('GET', `/api/conversations/${oldDirect.id}`, undefined, dan.token)).status).toBe(404);
  });
});
