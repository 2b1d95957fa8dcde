import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WarblerError } from '../errors.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { KnowledgeBases } from './service.ts';

const guide = `# Quick start

## Install
Run \`npm ci && npm start\`. Warbler listens on port 8080 and keeps its data in ./data.

## Budgets
A monthly budget stops an agent before it calls a model once the spend reaches the limit.
`;
const refund = `# 退款政策

## 退款到账时间
退款审核通过后，款项会在三到五个工作日内原路退回。
`;

async function rejection(promise: Promise<unknown>): Promise<WarblerError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WarblerError);
  return err as WarblerError;
}

describe('KnowledgeBases on SQLite', () => {
  let dir: string;
  let store: Store;
  let kbs: KnowledgeBases;
  let n = 0;
  let app: string;
  let other: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warbler-kb-service-'));
    store = openSqliteStore(join(dir, 'kb.db'));
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    app = `app${++n}`;
    other = `other${n}`;
    for (const id of [app, other]) await store.createApp({ id, name: id, secret_hash: 'h', created_at: 1, updated_at: 1 });
    kbs = new KnowledgeBases(store, { maxDocumentBytes: 64 * 1024 });
  });

  it('creates, lists, gets and deletes knowledge bases, each app seeing only its own', async () => {
    const kb = await kbs.create(app, { name: ' Help center ', description: 'FAQ' });
    expect(kb).toMatchObject({ app_id: app, name: 'Help center', description: 'FAQ', id: expect.stringMatching(/^kb_/) });
    expect(await kbs.list(app)).toEqual([kb]);
    expect(await kbs.list(other)).toEqual([]);
    expect((await rejection(kbs.get(other, kb.id))).code).toBe('not_found');
    expect((await rejection(kbs.delete(other, kb.id))).code).toBe('not_found');
    expect((await rejection(kbs.create(app, { id: kb.id, name: 'again' }))).code).toBe('conflict');
    expect((await rejection(kbs.create(app, { name: '  ' }))).message).toMatch(/name/);
    await kbs.delete(app, kb.id);
    expect(await kbs.list(app)).toEqual([]);
    const seeded = await kbs.ensure(app, { id: 'docs', name: 'Docs' });
    expect(await kbs.ensure(app, { id: 'docs', name: 'Renamed' })).toEqual(seeded);
  });

  it('adds a Markdown document: stored with its chunks, titled by its heading, and searchable', async () => {
    const kb = await kbs.create(app, { name: 'Docs' });
    const doc = await kbs.addDocument(app, kb.id, { text: guide, source: 'guide/quick-start.md' });
    expect(doc).toMatchObject({ kb_id: kb.id, title: 'Quick start', source: 'guide/quick-start.md', format: 'markdown', bytes: Buffer.byteLength(guide), chunk_count: 2 });
    expect(doc).not.toHaveProperty('text');
    expect((await kbs.getDocument(app, kb.id, doc.id)).text).toBe(guide);
    const chunks = await kbs.listChunks(app, kb.id, doc.id);
    expect(chunks.map((c) => c.heading_path)).toEqual([['Quick start', 'Install'], ['Quick start', 'Budgets']]);
    expect(await kbs.listDocuments(app, kb.id)).toEqual([doc]);

    const [best] = await kbs.search(app, [kb.id], 'what does a budget do?', 3);
    expect(best?.chunk).toMatchObject({ document_id: doc.id, heading_path: ['Quick start', 'Budgets'] });
    expect(await kbs.search(other, [kb.id], 'budget', 3)).toEqual([]);
    expect(await kbs.search(app, [], 'budget', 3)).toEqual([]);
    expect(await kbs.search(app, [kb.id], '   ', 3)).toEqual([]);
    expect((await rejection(kbs.getDocument(app, 'another-kb', doc.id))).code).toBe('not_found');
    expect((await rejection(kbs.getDocument(other, kb.id, doc.id))).code).toBe('not_found');
  });

  it('finds Chinese passages, across the knowledge bases asked for only', async () => {
    const zh = await kbs.create(app, { name: '客服' });
    const en = await kbs.create(app, { name: 'Docs' });
    await kbs.addDocument(app, zh.id, { text: refund, source: '退款.md' });
    await kbs.addDocument(app, en.id, { text: guide });
    const hits = await kbs.search(app, [zh.id, en.id], '退款多久能到账？');
    expect(hits[0]?.chunk).toMatchObject({ kb_id: zh.id, title: '退款政策', heading_path: ['退款政策', '退款到账时间'] });
    expect(await kbs.search(app, [en.id], '退款多久能到账？')).toEqual([]);
  });

  it('titles text documents by file name or first line, and keeps text as text', async () => {
    const kb = await kbs.create(app, { name: 'Notes' });
    const byName = await kbs.addDocument(app, kb.id, { text: '# not a heading in text\nBackups run nightly.', source: 'ops/backups.txt' });
    expect(byName).toMatchObject({ title: 'backups', format: 'text' });
    const byLine = await kbs.addDocument(app, kb.id, { text: 'Backups run nightly at two.\nMore.', format: 'text' });
    expect(byLine).toMatchObject({ title: 'Backups run nightly at two.', source: '' });
    const given = await kbs.addDocument(app, kb.id, { text: '# Heading\n\nBody.', title: 'Given' });
    expect(given.title).toBe('Given');
  });

  it('accepts uploads of .md, .markdown, .txt or a text MIME type, UTF-8 or UTF-16, and refuses the rest clearly', async () => {
    const kb = await kbs.create(app, { name: 'Uploads' });
    const bytes = (s: string) => new TextEncoder().encode(s);
    const md = await kbs.uploadDocument(app, kb.id, { filename: 'C:\\docs\\guide.markdown', mime: 'application/octet-stream', data: bytes(guide) });
    expect(md).toMatchObject({ source: 'guide.markdown', format: 'markdown', title: 'Quick start' });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('退款七天内到账。', 'utf16le')]);
    const txt = await kbs.uploadDocument(app, kb.id, { filename: 'faq', mime: 'text/plain; charset=utf-16', data: utf16, title: 'FAQ' });
    expect(txt).toMatchObject({ format: 'text', title: 'FAQ' });
    expect((await kbs.getDocument(app, kb.id, txt.id)).text).toBe('退款七天内到账。');

    expect((await rejection(kbs.uploadDocument(app, kb.id, { filename: 'manual.pdf', mime: 'application/pdf', data: bytes('%PDF'), format: 'text' }))).code).toBe('unsupported_media_type');
    const pdf = await rejection(kbs.uploadDocument(app, kb.id, { filename: 'manual.pdf', mime: 'application/pdf', data: bytes('%PDF') }));
    expect(pdf.code).toBe('unsupported_media_type');
    expect(pdf.message).toMatch(/Markdown \(\.md, \.markdown\) and plain text \(\.txt\).*manual\.pdf is application\/pdf/);
    const binary = await rejection(kbs.uploadDocument(app, kb.id, { filename: 'x.md', mime: '', data: new Uint8Array([0xc3, 0x28]) }));
    expect(binary).toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(/not UTF-8/) });
    const big = await rejection(kbs.uploadDocument(app, kb.id, { filename: 'big.md', mime: '', data: new Uint8Array(64 * 1024 + 1).fill(97) }));
    expect(big).toMatchObject({ code: 'payload_too_large', message: 'Documents are at most 64 KiB; split larger ones into several documents.' });
    expect((await rejection(kbs.addDocument(app, kb.id, { text: 'a'.repeat(64 * 1024 + 1) }))).code).toBe('payload_too_large');
    expect((await rejection(kbs.addDocument(app, kb.id, { text: ' \n\t' }))).message).toMatch(/empty/);
    expect((await rejection(kbs.addDocument(app, kb.id, { text: '---\ntitle: Only\n---\n' }))).message).toMatch(/no text to index/);
    expect((await rejection(kbs.addDocument(app, 'missing', { text: guide }))).code).toBe('not_found');
    expect(await kbs.listDocuments(app, kb.id)).toHaveLength(2);
  });

  it('replaces a document given the same id, and forgets deleted documents and knowledge bases', async () => {
    const kb = await kbs.create(app, { name: 'Docs' });
    const first = await kbs.addDocument(app, kb.id, { id: 'doc-1', text: guide });
    const second = await kbs.addDocument(app, kb.id, { id: 'doc-1', text: '# Quick start\n\nPorts are configured with WARBLER_PORT.' });
    expect(second.created_at).toBe(first.created_at);
    expect(await kbs.search(app, [kb.id], 'budget')).toEqual([]);
    expect(await kbs.search(app, [kb.id], 'WARBLER_PORT')).toHaveLength(1);
    const other = await kbs.create(app, { name: 'Other' });
    expect((await rejection(kbs.addDocument(app, other.id, { id: 'doc-1', text: guide }))).code).toBe('conflict');

    await kbs.deleteDocument(app, kb.id, 'doc-1');
    expect(await kbs.search(app, [kb.id], 'WARBLER_PORT')).toEqual([]);
    expect((await rejection(kbs.deleteDocument(app, kb.id, 'doc-1'))).code).toBe('not_found');

    await kbs.addDocument(app, kb.id, { text: guide });
    await kbs.delete(app, kb.id);
    expect(await kbs.search(app, [kb.id], 'budget')).toEqual([]);
    expect(await store.listDocuments(app, kb.id)).toEqual([]);
  });

  it('does not leave an indexed document behind when its knowledge base is deleted while it is being added', async () => {
    const kb = await kbs.create(app, { name: 'Racy' });
    const adding = kbs.addDocument(app, kb.id, { text: guide });
    const deleting = kbs.delete(app, kb.id);
    await Promise.allSettled([adding, deleting]);
    expect(await kbs.search(app, [kb.id], 'budget')).toEqual([]);
    expect(await store.listDocuments(app, kb.id)).toEqual([]);
  });

  it('rebuilds the index from the Store at start, page by page', async () => {
    const kb = await kbs.create(app, { name: 'Docs' });
    await kbs.addDocument(app, kb.id, { text: guide });
    await kbs.addDocument(app, kb.id, { text: refund });
    const otherKb = await kbs.create(other, { name: 'Other app' });
    await kbs.addDocument(other, otherKb.id, { text: guide });

    const restarted = new KnowledgeBases(store, { scanPageSize: 2 });
    expect(await restarted.search(app, [kb.id], 'budget')).toEqual([]);
    const loaded = await restarted.load();
    expect(loaded.chunks).toBeGreaterThanOrEqual(5);
    expect((await restarted.search(app, [kb.id], 'budget'))[0]?.chunk.heading_path).toEqual(['Quick start', 'Budgets']);
    expect((await restarted.search(app, [kb.id], '退款到账'))[0]?.chunk.title).toBe('退款政策');
    expect((await restarted.search(other, [otherKb.id], 'budget'))[0]?.chunk.app_id).toBe(other);
    expect(await restarted.search(other, [kb.id], 'budget')).toEqual([]);
  });

  it('imports a folder, re-imports it without rewriting unchanged files, and prunes what was removed', async () => {
    const kb = await kbs.create(app, { name: 'Folder' });
    const folder = join(dir, `folder-${n}`);
    await mkdir(join(folder, 'zh'), { recursive: true });
    await writeFile(join(folder, 'quick-start.md'), guide);
    await writeFile(join(folder, 'zh', '退款.md'), refund);
    await writeFile(join(folder, 'empty.md'), '\n');
    await writeFile(join(folder, 'image.png'), 'png');

    const first = await kbs.importFolder(app, kb.id, folder);
    expect(first.added.map((d) => d.source)).toEqual(['quick-start.md', 'zh/退款.md']);
    expect(first.skipped).toEqual([{ source: 'empty.md', reason: expect.stringMatching(/empty/) }]);
    const again = await kbs.importFolder(app, kb.id, folder);
    expect(again).toMatchObject({ added: [], updated: [], unchanged: 2, removed: 0 });
    // Seeding at start may run before load(): unchanged documents still reach the index.
    const restarted = new KnowledgeBases(store);
    expect(await restarted.importFolder(app, kb.id, folder)).toMatchObject({ unchanged: 2 });
    expect((await restarted.search(app, [kb.id], '退款'))[0]?.chunk.source).toBe('zh/退款.md');

    await writeFile(join(folder, 'quick-start.md'), guide.replace('8080', '9090'));
    await rm(join(folder, 'zh'), { recursive: true });
    const changed = await kbs.importFolder(app, kb.id, folder, { prune: true });
    expect(changed.updated.map((d) => d.source)).toEqual(['quick-start.md']);
    expect(changed.removed).toBe(1);
    expect((await kbs.listDocuments(app, kb.id)).map((d) => d.source)).toEqual(['quick-start.md']);
    expect(await kbs.search(app, [kb.id], '退款')).toEqual([]);
    expect((await kbs.search(app, [kb.id], '9090'))[0]?.chunk.text).toContain('9090');
  });
});
