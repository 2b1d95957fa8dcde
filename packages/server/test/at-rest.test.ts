// Encryption at rest, proven on the bytes an attacker with the disk or a dump
// would hold: no file of the data dir and no PostgreSQL column carries the
// plaintext of a message, an upload or a knowledge document, yet all of it
// reads back, syncs and is retrieved; a rotation under traffic loses nothing;
// a wrong or missing key stops the start.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '@warbler/protocol';
import { buildWarbler, type Warbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { storeKinds, TestSocket, type StoreKind } from './harness.ts';
import { createTestDatabase } from './postgres.ts';

/** A word the search tokenizer keeps whole: letters only, unique per test. */
const marker = (what: string) => `${what}${randomBytes(8).toString('hex').replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]!)}`;

interface Install {
  dataDir: string;
  db?: { url: string; drop: () => Promise<void> };
}

interface Node {
  warbler: Warbler;
  url: string;
  wsUrl: string;
  secret: string;
  api: (method: string, p: string, body?: unknown, credential?: string) => Promise<{ status: number; body: any }>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

async function install(kind: StoreKind): Promise<Install> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-at-rest-'));
  const db = kind === 'postgres' ? await createTestDatabase() : undefined;
  cleanups.push(async () => {
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { dataDir, db };
}

function configFor(at: Install, env: Record<string, string>) {
  return loadConfig({
    WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: at.dataDir, WARBLER_MASTER_KEY: 'test-master-key-0123456789',
    WARBLER_LOG_LEVEL: 'silent', ...(at.db ? { WARBLER_DATABASE_URL: at.db.url } : {}), ...env,
  });
}

async function boot(at: Install, env: Record<string, string> = {}): Promise<Node> {
  const warbler = await buildWarbler(configFor(at, env));
  let closed = false;
  const close = async () => {
    if (!closed) await warbler.close();
    closed = true;
  };
  cleanups.push(close);
  const url = await warbler.listen();
  const secret = await warbler.apps.rotateSecret('default');
  const api: Node['api'] = async (method, p, body, credential = secret) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { warbler, url, wsUrl: url.replace('http', 'ws') + '/ws', secret, api };
}

async function people(node: Node) {
  const ids = [`ann-${randomBytes(3).toString('hex')}`, `ben-${randomBytes(3).toString('hex')}`];
  for (const id of ids) expect((await node.api('POST', '/api/users', { id, name: id })).status).toBe(201);
  const conv = await node.api('POST', '/api/conversations', { kind: 'group', member_ids: ids, created_by: ids[0], title: 'Plans' });
  expect(conv.status).toBe(201);
  const token = (await node.api('POST', `/api/users/${ids[1]}/tokens`, {})).body.token as string;
  return { ann: ids[0]!, ben: ids[1]!, benToken: token, conversationId: conv.body.id as string };
}

async function sendText(node: Node, conversationId: string, sender: string, text: string) {
  const sent = await node.api('POST', `/api/conversations/${conversationId}/messages`, { sender_id: sender, content: { text } });
  expect(sent.status, JSON.stringify(sent.body)).toBe(201);
  return sent.body.message as Message;
}

async function upload(node: Node, conversationId: string, sender: string, text: string) {
  const form = new FormData();
  form.append('sender_id', sender);
  form.append('file', new Blob([text], { type: 'text/plain' }), 'notes.txt');
  const res = await fetch(`${node.url}/api/conversations/${conversationId}/files`, { method: 'POST', headers: { authorization: `Bearer ${node.secret}` }, body: form });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body as { id: string; size: number };
}

async function download(node: Node, fileId: string): Promise<string> {
  const res = await fetch(`${node.url}/api/files/${fileId}`, { headers: { authorization: `Bearer ${node.secret}` } });
  expect(res.status).toBe(200);
  return res.text();
}

async function addDocument(node: Node, text: string) {
  const kb = await node.api('POST', '/api/knowledge-bases', { name: 'Handbook' });
  expect(kb.status).toBe(201);
  const doc = await node.api('POST', `/api/knowledge-bases/${kb.body.id}/documents`, { title: 'Travel policy', text });
  expect(doc.status, JSON.stringify(doc.body)).toBe(201);
  return { kbId: kb.body.id as string, docId: doc.body.id as string };
}

async function search(node: Node, kbId: string, query: string): Promise<string[]> {
  const found = await node.api('POST', `/api/knowledge-bases/${kbId}/search`, { query, k: 3 });
  expect(found.status).toBe(200);
  return (found.body.passages as Array<{ text: string }>).map((p) => p.text);
}

/** Every file under the data dir, read as raw bytes (database, WAL, shared memory, uploads, keys). */
async function rawFiles(dir: string): Promise<Array<{ file: string; bytes: Buffer }>> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push({ file, bytes: await readFile(file) });
  }
  return out;
}

/** Every row of every table, as PostgreSQL renders it to text (bytea as hex). */
async function postgresDump(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
    );
    const dump: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await client.query<{ row: string }>(`select row_to_json(t)::text as row from "${table_name}" t`);
      dump.push(...rows.map((r) => `${table_name}: ${r.row}`));
    }
    return dump;
  } finally {
    await client.end();
  }
}

function expectNowhere(markers: string[], places: Array<{ where: string; text: string }>) {
  for (const m of markers) {
    const forms = [m, Buffer.from(m).toString('hex'), Buffer.from(m).toString('base64').slice(0, 12)];
    const leaks = places.filter((p) => forms.some((f) => p.text.includes(f))).map((p) => p.where);
    expect(leaks, `plaintext of ${m} found in`).toEqual([]);
  }
}

async function expectNoPlaintext(at: Install, markers: string[]) {
  const files = await rawFiles(at.dataDir);
  expect(files.some((f) => f.file.includes(`${path.sep}files${path.sep}`)), 'the upload is on disk').toBe(true);
  const places = files.map((f) => ({ where: path.relative(at.dataDir, f.file), text: f.bytes.toString('latin1') }));
  if (at.db) places.push(...(await postgresDump(at.db.url)).map((row) => ({ where: row.slice(0, row.indexOf(':')), text: row })));
  expectNowhere(markers, places);
}

describe.each(storeKinds())('encryption at rest on %s', { timeout: 120_000 }, (kind) => {
  it('keeps messages, uploads and knowledge out of the data dir and the database, yet reads, syncs and retrieves them', async () => {
    const at = await install(kind);
    const node = await boot(at);
    const chat = await people(node);
    const [m1, m2, m3] = [marker('message'), marker('upload'), marker('handbook')];

    const sent = await sendText(node, chat.conversationId, chat.ann, `Meet at ${m1} on Friday`);
    const file = await upload(node, chat.conversationId, chat.ann, `Packing list: ${m2}\n`.repeat(5_000));
    const doc = await addDocument(node, `# Travel\n\nEvery trip is booked through ${m3} at least two weeks ahead.\n`);

    // Everything reads back: REST history, a socket's sync, the download (several 64 KiB chunks), retrieval.
    const history = await node.api('GET', `/api/conversations/${chat.conversationId}/messages`, undefined, chat.benToken);
    expect(history.body.messages.map((m: Message) => m.content.text)).toContain(`Meet at ${m1} on Friday`);
    const socket = await TestSocket.open(node.wsUrl, chat.benToken);
    const sync = (await socket.request({ type: 'sync', cursors: { [chat.conversationId]: 0 } })) as { data: { conversations: Array<{ conversation: { id: string }; messages: Message[] }> } };
    const synced = sync.data.conversations.find((c) => c.conversation.id === chat.conversationId)!;
    expect(synced.messages.map((m) => m.id)).toContain(sent.id);
    expect(synced.messages.find((m) => m.id === sent.id)?.content.text).toBe(`Meet at ${m1} on Friday`);
    await socket.close();
    expect(file.size).toBe(Buffer.byteLength(`Packing list: ${m2}\n`.repeat(5_000)));
    expect(await download(node, file.id)).toBe(`Packing list: ${m2}\n`.repeat(5_000));
    expect((await search(node, doc.kbId, m3)).join(' ')).toContain(m3);
    expect((await node.api('GET', `/api/knowledge-bases/${doc.kbId}/documents/${doc.docId}`)).body.text).toContain(m3);

    await expectNoPlaintext(at, [m1, m2, m3]);

    // After a restart the search index is rebuilt from the sealed chunks, and the old key opens everything.
    await node.warbler.close();
    const again = await boot(at);
    expect((await search(again, doc.kbId, m3)).join(' ')).toContain(m3);
    expect(await download(again, file.id)).toContain(m2);
    const after = await again.api('GET', `/api/conversations/${chat.conversationId}/messages`);
    expect(after.body.messages.map((m: Message) => m.content.text)).toContain(`Meet at ${m1} on Friday`);
    await expectNoPlaintext(at, [m1, m2, m3]);
  });

  it("seals other rooms' customer text too: memory summaries, stored responses, webhook deliveries, audit values, FAQs", async () => {
    const at = await install(kind);
    const node = await boot(at);
    const chat = await people(node);
    const [mMemory, mResponse, mWebhook, mAudit, mFaq, mBatch] = [marker('memory'), marker('response'), marker('webhook'), marker('audit'), marker('faq'), marker('batch')];
    const mPrompt = marker('prompt');
    // A webhook endpoint that hears every message: its delivery body carries the message text (it waits in the outbox).
    const endpoint = await node.api('POST', '/api/webhooks/endpoints', { url: 'https://hooks.example.com/warbler', event_types: ['message.created'] });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    await sendText(node, chat.conversationId, chat.ann, `Order ${mWebhook} shipped`);
    await upload(node, chat.conversationId, chat.ann, 'an attachment');
    // An agent's configuration: the company's system prompt.
    const agent = await node.api('POST', '/api/agents', { name: 'Helper', model: 'local/kb-answer', system_prompt: `Be brief about ${mPrompt}.` });
    // The agent's memory of a conversation.
    await node.warbler.store.putAgentMemory({
      app_id: 'default', agent_id: agent.body.id, conversation_id: chat.conversationId, summary: `Ann asked about ${mMemory}.`, summary_seq: 1, reset_seq: 0, updated_at: Date.now(),
    });
    // A stored /v1 response (its input and its history).
    const key = await node.api('POST', '/api/gateway/keys', { name: 'at-rest' });
    const created = await fetch(`${node.url}/v1/responses`, {
      method: 'POST', headers: { authorization: `Bearer ${key.body.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local/kb-answer', input: `Where is ${mResponse}?`, store: true }),
    });
    const response = (await created.json()) as { id: string };
    expect(created.status, JSON.stringify(response)).toBe(200);
    // One that continues it: its history holds the first one's input (an empty history, "[]", is left unsealed).
    const followed = await fetch(`${node.url}/v1/responses`, {
      method: 'POST', headers: { authorization: `Bearer ${key.body.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local/kb-answer', input: 'And when?', previous_response_id: response.id, store: true }),
    });
    const second = (await followed.json()) as { id: string };
    expect(followed.status, JSON.stringify(second)).toBe(200);
    // A FAQ pair.
    const kb = await node.api('POST', '/api/knowledge-bases', { name: 'FAQ' });
    const faq = await node.api('POST', `/api/knowledge-bases/${kb.body.id}/faqs`, { question: `What is ${mFaq}?`, answer: `It is ${mFaq}.` });
    expect(faq.status, JSON.stringify(faq.body)).toBe(201);
    // Changed: the audit entry's before and after hold the old and the new pair.
    const faqId = faq.body.id as string;
    const changed = await node.api('PUT', `/api/knowledge-bases/${kb.body.id}/faqs/${faqId}`, { question: `What is ${mFaq}?`, answer: `Now ${mAudit}.` });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);

    // A Batch API input file (data/gateway-files): customers' prompts, sealed as it streams to disk.
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([`${JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'local/kb-answer', messages: [{ role: 'user', content: `About ${mBatch}` }] } })}\n`]), 'input.jsonl');
    const uploaded = await fetch(`${node.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key.body.secret}` }, body: form });
    const batchFile = (await uploaded.json()) as { id: string; bytes: number };
    expect(uploaded.status, JSON.stringify(batchFile)).toBe(200);

    await expectNoPlaintext(at, [mMemory, mResponse, mWebhook, mAudit, mFaq, mBatch, mPrompt]);
    expect((await node.api('GET', `/api/agents/${agent.body.id}`)).body.system_prompt).toBe(`Be brief about ${mPrompt}.`);
    const content = async () => (await fetch(`${node.url}/v1/files/${batchFile.id}/content`, { headers: { authorization: `Bearer ${key.body.secret}` } })).text();
    expect(await content()).toContain(`About ${mBatch}`);

    // All of it reads back as it was written.
    const items = await fetch(`${node.url}/v1/responses/${response.id}/input_items`, { headers: { authorization: `Bearer ${key.body.secret}` } });
    expect(await items.text()).toContain(`Where is ${mResponse}?`);
    const third = await fetch(`${node.url}/v1/responses`, {
      method: 'POST', headers: { authorization: `Bearer ${key.body.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local/kb-answer', input: 'Thanks', previous_response_id: second.id, store: false }),
    });
    expect(third.status, await third.clone().text()).toBe(200);
    const memory = await node.warbler.store.getAgentMemory('default', agent.body.id, chat.conversationId);
    expect(memory?.summary).toBe(`Ann asked about ${mMemory}.`);
    const audit = (await node.api('GET', '/api/audit?resource=faq')).body.entries as Array<{ action: string; after: unknown }>;
    expect(audit[0]).toMatchObject({ action: 'faq.update' });
    expect(JSON.stringify(audit[0]!.after)).toContain(`Now ${mAudit}.`);
    expect((await node.api('GET', '/api/audit/verify')).body).toMatchObject({ ok: true });
    const faqs = await node.api('GET', `/api/knowledge-bases/${kb.body.id}/faqs`);
    expect(JSON.stringify(faqs.body)).toContain(`Now ${mAudit}.`);
    const { WebhookStore } = await import('../src/webhooks/webhook-store.ts');
    const deliveries = await new WebhookStore(node.warbler.store.roomTables(), node.warbler.atRest.rows).listDeliveries('default', endpoint.body.endpoint.id, { limit: 10 });
    expect(deliveries.map((d) => d.body).join('')).toContain(`Order ${mWebhook} shipped`);
    const status = await node.api('GET', '/admin/apps/default/encryption', undefined, node.warbler.masterKey);
    expect(Object.values(status.body.remaining).every((n) => n === 0), JSON.stringify(status.body.remaining)).toBe(true);
    // A rotation re-seals rows named by two columns too (memory: agent/conversation), through their primary key.
    expect((await node.api('POST', '/admin/apps/default/encryption/rotate', undefined, node.warbler.masterKey)).status).toBe(202);
    await node.warbler.atRest.settled(60_000);
    const rotated = await node.api('GET', '/admin/apps/default/encryption', undefined, node.warbler.masterKey);
    expect(Object.values(rotated.body.remaining).every((n) => n === 0), JSON.stringify(rotated.body.remaining)).toBe(true);
    expect((await node.warbler.store.getAgentMemory('default', agent.body.id, chat.conversationId))?.summary).toBe(`Ann asked about ${mMemory}.`);
    // The batch file was re-sealed with the new data key version too, and reads back whole.
    const { fileVersionOnDisk } = await import('../src/at-rest/file-stream.ts');
    expect(await fileVersionOnDisk(path.join(at.dataDir, 'gateway-files', 'default', batchFile.id))).toBe(2);
    expect(await content()).toContain(`About ${mBatch}`);
  });

  it('rotates an app key under traffic: nothing lost, every row re-sealed with the new version, progress visible', async () => {
    const at = await install(kind);
    const node = await boot(at);
    const chat = await people(node);
    const file = await upload(node, chat.conversationId, chat.ann, 'before the rotation\n');
    const doc = await addDocument(node, 'Refunds are paid within five working days.\n');
    const texts: string[] = [];
    for (let i = 0; i < 250; i++) texts.push((await sendText(node, chat.conversationId, chat.ann, `old ${i}`)).content.text as string);

    // Messages keep coming from a socket while the rotation runs (paced under the per-connection send limit).
    const socket = await TestSocket.open(node.wsUrl, chat.benToken);
    let sending = true;
    const refused: unknown[] = [];
    const traffic = (async () => {
      for (let i = 0; sending || i < 20; i++) {
        const ack = await socket.request({ type: 'send', conversation_id: chat.conversationId, client_msg_id: `during-${i}`, content: { text: `during ${i}` } });
        if (ack.type !== 'ack') refused.push(ack);
        else texts.push(`during ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
    })();
    const rotated = await node.api('POST', '/admin/apps/default/encryption/rotate', undefined, node.warbler.masterKey);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(202);
    expect(rotated.body.current_version).toBe(2);
    expect(rotated.body.versions).toEqual([1, 2]);
    await node.warbler.atRest.settled(60_000);
    sending = false;
    await traffic;
    await socket.close();
    expect(refused).toEqual([]);
    await node.warbler.atRest.settled(60_000);

    const status = await node.api('GET', '/admin/apps/default/encryption', undefined, node.warbler.masterKey);
    expect(status.body.job).toMatchObject({ state: 'done', target_version: 2, phase: 'done' });
    expect(status.body.job.resealed).toBeGreaterThanOrEqual(250);
    expect(status.body.remaining).toMatchObject({ 'messages.content': 0, 'kb_documents.text': 0, 'kb_chunks.text': 0 });
    expect(Object.values(status.body.remaining).every((n) => n === 0), JSON.stringify(status.body.remaining)).toBe(true);
    const overview = await node.api('GET', '/admin/encryption', undefined, node.warbler.masterKey);
    expect(overview.body).toMatchObject({ enabled: true, key_source: 'file' });
    expect(overview.body.key_id).toMatch(/^[A-Za-z0-9_-]{11}$/);

    // Every message is there, once, and readable; the upload and the document too.
    const all: string[] = [];
    for (let after = 0; ; ) {
      const page = await node.api('GET', `/api/conversations/${chat.conversationId}/messages?after=${after}&limit=200`);
      all.push(...page.body.messages.map((m: Message) => m.content.text));
      if (!page.body.has_more) break;
      after = page.body.messages.at(-1).seq;
    }
    expect(all.sort()).toEqual([...texts].sort());
    expect(await download(node, file.id)).toBe('before the rotation\n');
    expect((await search(node, doc.kbId, 'refunds paid')).join(' ')).toContain('five working days');
    const onDisk = await rawFiles(path.join(at.dataDir, 'files'));
    expect(onDisk.map((f) => f.bytes.readUInt32BE(8))).toEqual([2]);
  });

  it('refuses to start with a wrong or missing key once data is encrypted, and never with encryption switched off', async () => {
    const at = await install(kind);
    const first = await boot(at, { WARBLER_ENCRYPTION_KEY: 'the-first-key-of-this-install-0123456789' });
    const chat = await people(first);
    await sendText(first, chat.conversationId, chat.ann, 'sealed');
    await first.warbler.close();

    await expect(buildWarbler(configFor(at, { WARBLER_ENCRYPTION_KEY: 'another-key-entirely-0123456789abcdef' }))).rejects.toThrow(
      /not the one this database was encrypted with/,
    );
    // No key at all (no env, no file in the data dir): no new key is generated over encrypted data.
    await expect(buildWarbler(configFor(at, {}))).rejects.toThrow(/holds encrypted data, but no encryption key was given: set WARBLER_ENCRYPTION_KEY/);
    await expect(readFile(path.join(at.dataDir, 'encryption.key'))).rejects.toThrow(/ENOENT/);
    await expect(buildWarbler(configFor(at, { WARBLER_ENCRYPTION: 'off' }))).rejects.toThrow(/WARBLER_ENCRYPTION=off, but this database holds encrypted data/);

    const back = await boot(at, { WARBLER_ENCRYPTION_KEY: 'the-first-key-of-this-install-0123456789' });
    const page = await back.api('GET', `/api/conversations/${chat.conversationId}/messages`);
    expect(page.body.messages.map((m: Message) => m.content.text)).toEqual(['sealed']);
  });

  it('moves to a new master secret: data keys re-sealed under it at start, nothing lost, the old key opens nothing after', async () => {
    const at = await install(kind);
    const oldKey = 'the-old-master-secret-of-this-install-0123';
    const newKey = 'the-new-master-secret-of-this-install-4567';
    const first = await boot(at, { WARBLER_ENCRYPTION_KEY: oldKey });
    const chat = await people(first);
    const m = marker('rewrap');
    await sendText(first, chat.conversationId, chat.ann, `before the change ${m}`);
    const file = await upload(first, chat.conversationId, chat.ann, `upload ${m}`);
    const doc = await addDocument(first, `Policy ${m}: receipts within thirty days.`);
    expect((await first.api('POST', '/admin/apps/default/encryption/rotate', undefined, first.warbler.masterKey)).status).toBe(202);
    await first.warbler.atRest.settled(60_000);
    const oldKeyId = first.warbler.atRest.keyId;
    await first.warbler.close();

    // A wrong previous key changes nothing and says which key ids it expected.
    await expect(buildWarbler(configFor(at, { WARBLER_ENCRYPTION_KEY: newKey, WARBLER_ENCRYPTION_KEY_PREVIOUS: 'not-the-old-secret-at-all-0123456789' }))).rejects.toThrow(
      new RegExp(`not the one this database was encrypted with \\(key id ${oldKeyId}\\).*WARBLER_ENCRYPTION_KEY_PREVIOUS`),
    );
    const moved = await boot(at, { WARBLER_ENCRYPTION_KEY: newKey, WARBLER_ENCRYPTION_KEY_PREVIOUS: oldKey });
    expect(moved.warbler.atRest.rewrapped).toBe(2);
    expect(moved.warbler.atRest.keyId).not.toBe(oldKeyId);
    await sendText(moved, chat.conversationId, chat.ben, `after the change ${m}`);
    await moved.warbler.close();

    // The old key alone no longer starts it; the new one alone reads everything, old and new.
    await expect(buildWarbler(configFor(at, { WARBLER_ENCRYPTION_KEY: oldKey }))).rejects.toThrow(/not the one this database was encrypted with/);
    const after = await boot(at, { WARBLER_ENCRYPTION_KEY: newKey });
    expect(after.warbler.atRest.rewrapped).toBe(0);
    const page = await after.api('GET', `/api/conversations/${chat.conversationId}/messages`);
    expect(page.body.messages.map((msg: Message) => msg.content.text)).toEqual([`before the change ${m}`, `after the change ${m}`]);
    expect(await download(after, file.id)).toBe(`upload ${m}`);
    expect((await search(after, doc.kbId, m)).join(' ')).toContain('thirty days');
    const status = await after.api('GET', '/admin/apps/default/encryption', undefined, after.warbler.masterKey);
    expect(status.body.versions).toEqual([1, 2]);
    // The audit chain's head was signed again with the key from the new secret (the rotation is in the chain).
    const verified = (await after.api('GET', '/api/audit/verify')).body;
    expect(verified).toMatchObject({ ok: true, signed_head: { seq: verified.entries } });
    await expectNoPlaintext(at, [m]);
  });

  it('seals what a database from before encryption holds, in the background, reading it meanwhile', async () => {
    const at = await install(kind);
    const plain = await boot(at, { WARBLER_ENCRYPTION: 'off' });
    const chat = await people(plain);
    const m1 = marker('legacy');
    await sendText(plain, chat.conversationId, chat.ann, `old ${m1}`);
    const file = await upload(plain, chat.conversationId, chat.ann, `old upload ${m1}`);
    const doc = await addDocument(plain, `Old handbook ${m1}.`);
    await plain.warbler.close();

    const sealed = await boot(at);
    await sealed.warbler.atRest.settled(60_000);
    const page = await sealed.api('GET', `/api/conversations/${chat.conversationId}/messages`);
    expect(page.body.messages.map((m: Message) => m.content.text)).toEqual([`old ${m1}`]);
    expect(await download(sealed, file.id)).toBe(`old upload ${m1}`);
    expect((await search(sealed, doc.kbId, m1)).join(' ')).toContain(m1);
    const status = await sealed.api('GET', '/admin/apps/default/encryption', undefined, sealed.warbler.masterKey);
    expect(status.body.remaining).toMatchObject({ 'messages.content': 0, 'kb_documents.text': 0, 'kb_chunks.text': 0 });
    expect(Object.values(status.body.remaining).every((n) => n === 0), JSON.stringify(status.body.remaining)).toBe(true);
    // The upload is re-written sealed; database pages that held the plaintext are the store's to reuse (docs/security.md).
    const upload1 = (await rawFiles(path.join(at.dataDir, 'files')))[0]!;
    expect(upload1.bytes.toString('latin1')).not.toContain(m1);
    if (at.db) expectNowhere([m1], (await postgresDump(at.db.url)).map((row) => ({ where: row.slice(0, row.indexOf(':')), text: row })));
  });
});
