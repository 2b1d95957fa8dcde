import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserTokens } from '../auth/tokens.ts';
import { KnowledgeBases } from '../kb/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { Apps, Authenticator } from '../tenancy/index.ts';
import { Guards } from './auth.ts';
import type { HttpDeps } from './deps.ts';
import { registerErrorHandling } from './errors.ts';
import { fileRoutes } from './files.ts';
import { knowledgeRoutes } from './knowledge.ts';

const MASTER = 'test-master-key-0123456789';
const MAX = 2 * 1024 * 1024;

const guide = `# Self-hosting

## PostgreSQL
Set WARBLER_DATABASE_URL to a postgres:// URL and every node shares one database.

## Budgets
A monthly budget stops an agent before it calls a model once the limit is spent.
`;

describe('knowledge base routes', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let url: string;
  let secret: string;
  let otherSecret: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warbler-kb-http-'));
    store = openSqliteStore(join(dir, 'kb.db'));
    await store.migrate();
    const apps = new Apps(store);
    secret = (await apps.create('Main', 'main')).secret;
    otherSecret = (await apps.create('Other', 'other')).secret;
    const deps = {
      guards: new Guards(new Authenticator(store, new UserTokens(MASTER), MASTER)),
      knowledge: new KnowledgeBases(store, { maxDocumentBytes: MAX }),
      files: { maxBytes: 1024 },
    } as unknown as HttpDeps;
    app = Fastify({ bodyLimit: 1024 * 1024 }).withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    registerErrorHandling(app);
    await app.register(swagger, { openapi: { info: { title: 'test', version: '0' } }, transform: jsonSchemaTransform });
    // Both plugins register @fastify/multipart, each in its own scope, as buildHttp will.
    await app.register(fileRoutes(deps));
    await app.register(knowledgeRoutes(deps));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${secret}` }) {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(url + path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  const upload = (name: string, content: BlobPart, type = '', fields: Record<string, string> = {}) => {
    const form = new FormData();
    form.append('file', new Blob([content], { type }), name);
    // Fields after the file are read too.
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return form;
  };

  it('documents every route in the OpenAPI document, from the schemas that validate', () => {
    const doc = app.swagger() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/api/knowledge-bases', '/api/knowledge-bases/{kbId}', '/api/knowledge-bases/{kbId}/documents',
      '/api/knowledge-bases/{kbId}/documents/{docId}', '/api/knowledge-bases/{kbId}/documents/{docId}/chunks', '/api/knowledge-bases/{kbId}/search',
    ]));
    expect(doc.paths['/api/knowledge-bases/{kbId}/search']!['post']!.requestBody!.content['application/json']!.schema.properties).toHaveProperty('query');
  });

  it('needs the app secret, or the master key naming the app', async () => {
    expect((await call('GET', '/api/knowledge-bases', undefined, {})).status).toBe(401);
    const master = await call('GET', '/api/knowledge-bases', undefined, { authorization: `Bearer ${MASTER}` });
    expect(master.status).toBe(400);
    expect(master.body.error.message).toMatch(/X-Warbler-App/);
    const named = await call('GET', '/api/knowledge-bases', undefined, { authorization: `Bearer ${MASTER}`, 'x-warbler-app': 'main' });
    expect(named).toEqual({ status: 200, body: { knowledge_bases: [] } });
    const user = await store.createUser({ id: 'alice', app_id: 'main', kind: 'human', name: 'Alice', avatar_url: null, metadata: {}, created_at: 1 });
    const { token } = await new UserTokens(MASTER).mint({ appId: 'main', userId: user.id, version: user.token_version }, 600);
    const asUser = await call('POST', '/api/knowledge-bases', { name: 'Mine' }, { authorization: `Bearer ${token}` });
    expect(asUser.status).toBe(403);
    expect(asUser.body.error.message).toMatch(/app secret/);
  });

  it('manages a knowledge base and its documents end to end, JSON and multipart', async () => {
    const created = await call('POST', '/api/knowledge-bases', { name: 'Warbler docs', description: 'The guide' });
    expect(created.status).toBe(201);
    const kb = created.body;
    expect(kb).toMatchObject({ id: expect.stringMatching(/^kb_/), app_id: 'main', name: 'Warbler docs' });
    expect((await call('GET', `/api/knowledge-bases/${kb.id}`)).body).toEqual(kb);
    expect((await call('GET', `/api/knowledge-bases/${kb.id}`, undefined, { authorization: `Bearer ${otherSecret}` })).status).toBe(404);

    const json = await call('POST', `/api/knowledge-bases/${kb.id}/documents`, { text: guide, source: 'guide/self-hosting.md' });
    expect(json.status).toBe(201);
    expect(json.body).toMatchObject({ title: 'Self-hosting', format: 'markdown', chunk_count: 2 });

    const uploaded = await fetch(`${url}/api/knowledge-bases/${kb.id}/documents`, {
      method: 'POST', headers: { authorization: `Bearer ${secret}` },
      body: upload('退款.txt', '退款审核通过后，款项会在三到五个工作日内原路退回。', 'text/plain', { title: '退款政策' }),
    });
    expect(uploaded.status).toBe(201);
    const zh = await uploaded.json();
    expect(zh).toMatchObject({ title: '退款政策', source: '退款.txt', format: 'text', chunk_count: 1 });

    const list = await call('GET', `/api/knowledge-bases/${kb.id}/documents`);
    expect(list.body.documents.map((d: { id: string }) => d.id)).toEqual([json.body.id, zh.id]);
    expect(list.body.documents[0]).not.toHaveProperty('text');
    expect((await call('GET', `/api/knowledge-bases/${kb.id}/documents/${zh.id}`)).body.text).toBe('退款审核通过后，款项会在三到五个工作日内原路退回。');
    const chunks = await call('GET', `/api/knowledge-bases/${kb.id}/documents/${json.body.id}/chunks`);
    expect(chunks.body.chunks.map((c: { heading_path: string[] }) => c.heading_path.at(-1))).toEqual(['PostgreSQL', 'Budgets']);

    const search = await call('POST', `/api/knowledge-bases/${kb.id}/search`, { query: 'How do I use PostgreSQL?', k: 3 });
    expect(search.status).toBe(200);
    expect(search.body.passages[0]).toMatchObject({
      index: 1, label: 'Self-hosting › PostgreSQL (guide/self-hosting.md)', document_id: json.body.id, heading_path: ['Self-hosting', 'PostgreSQL'],
    });
    expect(search.body.answer.citations[0]).toMatchObject({ index: 1, document_id: json.body.id, heading: 'Self-hosting › PostgreSQL' });
    expect(search.body.answer.text).toContain('[1] Self-hosting › PostgreSQL (guide/self-hosting.md)\n> Set WARBLER_DATABASE_URL');
    const zhSearch = await call('POST', `/api/knowledge-bases/${kb.id}/search`, { query: '退款多久到账' });
    expect(zhSearch.body.passages[0].document_id).toBe(zh.id);
    expect(zhSearch.body.answer.text).toMatch(/^我在知识库中找到了这些段落/);

    expect((await call('DELETE', `/api/knowledge-bases/${kb.id}/documents/${zh.id}`)).status).toBe(204);
    expect((await call('GET', `/api/knowledge-bases/${kb.id}/documents/${zh.id}`)).status).toBe(404);
    expect((await call('POST', `/api/knowledge-bases/${kb.id}/search`, { query: '退款多久到账' })).body.passages).toEqual([]);
    expect((await call('DELETE', `/api/knowledge-bases/${kb.id}`)).status).toBe(204);
    expect((await call('GET', `/api/knowledge-bases/${kb.id}/documents`)).status).toBe(404);
  });

  it('takes JSON documents past the server-wide 1 MiB body limit, up to the document limit', async () => {
    const kb = (await call('POST', '/api/knowledge-bases', { name: 'Big' })).body;
    const paragraph = 'Warbler keeps every message and every token in the ledger.\n\n';
    const text = paragraph.repeat(Math.floor((1.5 * 1024 * 1024) / paragraph.length));
    const ok = await call('POST', `/api/knowledge-bases/${kb.id}/documents`, { text, title: 'Big' });
    expect(ok.status).toBe(201);
    const tooBig = await call('POST', `/api/knowledge-bases/${kb.id}/documents`, { text: 'x'.repeat(MAX + 1) });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toEqual({ code: 'payload_too_large', message: 'Documents are at most 2 MiB; split larger ones into several documents.' });
  });

  it('refuses other file types, oversize uploads and malformed requests with errors that say what to do', async () => {
    const kb = (await call('POST', '/api/knowledge-bases', { name: 'Strict' })).body;
    const post = (body: FormData) => fetch(`${url}/api/knowledge-bases/${kb.id}/documents`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body })
      .then(async (r) => ({ status: r.status, body: await r.json() }));

    const pdf = await post(upload('manual.pdf', '%PDF-1.7', 'application/pdf'));
    expect(pdf.status).toBe(415);
    expect(pdf.body.error.message).toMatch(/Only Markdown \(\.md, \.markdown\) and plain text \(\.txt\)/);
    const big = await post(upload('big.md', new Uint8Array(MAX + 10).fill(97)));
    expect(big).toEqual({ status: 413, body: { error: { code: 'payload_too_large', message: 'Documents are at most 2 MiB; split larger ones into several documents.' } } });
    const noFile = new FormData();
    noFile.append('title', 'nothing');
    expect((await post(noFile)).body.error.message).toMatch(/field named "file"/);
    expect((await post(upload('a.md', '# A\n\nText.', '', { format: 'pdf' }))).body.error.message).toMatch(/format/);

    const missingText = await call('POST', `/api/knowledge-bases/${kb.id}/documents`, { title: 'No text' });
    expect(missingText.status).toBe(400);
    expect(missingText.body.error.message).toMatch(/text/);
    expect((await call('POST', `/api/knowledge-bases/${kb.id}/documents`, { text: '   ' })).body.error.message).toMatch(/empty/);
    expect((await call('POST', `/api/knowledge-bases/${kb.id}/search`, { query: '' })).status).toBe(400);
    expect((await call('POST', '/api/knowledge-bases/nope/search', { query: 'x' })).status).toBe(404);
    expect((await call('POST', '/api/knowledge-bases', { name: 'x', id: 'bad id!' })).status).toBe(400);
    expect((await call('GET', `/api/knowledge-bases/${kb.id}/documents`)).body.documents).toEqual([]);
  });
});
