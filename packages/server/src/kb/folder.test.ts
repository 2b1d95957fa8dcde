import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentTitle, importFolder } from './folder.ts';

describe('importFolder', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warbler-kb-'));
    const files: Record<string, string | Uint8Array> = {
      'README.md': '# Warbler\n\nA chat server.',
      'guide/install.markdown': '---\ntitle: Installing\n---\n# Install\n\nRun npm i.',
      'guide/faq.TXT': 'Plain questions.',
      'guide/zh/退款.md': '# 退款政策\n\n七天无理由退货。',
      'notes.md': 'No heading here.',
      'image.png': 'not text',
      'bad.md': new Uint8Array([0xff, 0xfe, 0x00, 0x41]),
      '.hidden/secret.md': '# Hidden',
      'node_modules/pkg/README.md': '# Dependency',
    };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    await symlink(dir, join(dir, 'guide', 'loop'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads Markdown and text files recursively, sorted, skipping hidden folders, node_modules and links', async () => {
    const { documents, skipped } = await importFolder(dir, { appId: 'app1', kbId: 'kb1' });
    expect(documents.map((d) => [d.source, d.title, d.format])).toEqual([
      ['README.md', 'Warbler', 'markdown'],
      ['guide/faq.TXT', 'faq', 'text'],
      ['guide/install.markdown', 'Installing', 'markdown'],
      ['guide/zh/退款.md', '退款政策', 'markdown'],
      ['notes.md', 'notes', 'markdown'],
    ]);
    expect(skipped).toEqual([{ source: 'bad.md', reason: 'not UTF-8 text' }]);
    expect(documents[0]).toMatchObject({ app_id: 'app1', kb_id: 'kb1', text: '# Warbler\n\nA chat server.' });
  });

  it('gives the same ids on a second import, distinct per knowledge base', async () => {
    const first = await importFolder(dir, { appId: 'app1', kbId: 'kb1' });
    const again = await importFolder(dir, { appId: 'app1', kbId: 'kb1' });
    const other = await importFolder(dir, { appId: 'app1', kbId: 'kb2' });
    expect(again.documents.map((d) => d.id)).toEqual(first.documents.map((d) => d.id));
    expect(new Set(first.documents.map((d) => d.id)).size).toBe(first.documents.length);
    expect(other.documents[0]!.id).not.toBe(first.documents[0]!.id);
    expect(first.documents[0]!.id).toMatch(/^doc_[\w-]{22}$/);
  });

  it('uses the id minter and size limit it is given', async () => {
    const { documents, skipped } = await importFolder(dir, {
      appId: 'app1',
      kbId: 'kb1',
      documentId: (source) => `id:${source}`,
      maxBytes: 20,
    });
    expect(documents.map((d) => d.id)).toEqual(['id:guide/faq.TXT', 'id:notes.md']);
    expect(skipped.map((s) => s.source)).toEqual(['README.md', 'bad.md', 'guide/install.markdown', 'guide/zh/退款.md']);
    expect(skipped[0]!.reason).toBe('larger than 20 bytes');
  });
});

describe('documentTitle', () => {
  it('prefers front matter, then the first heading, then the file name', () => {
    expect(documentTitle('a/b.md', '---\ntitle: Front\n---\n# Heading')).toBe('Front');
    expect(documentTitle('a/b.md', 'intro\n\n# Heading')).toBe('Heading');
    expect(documentTitle('a/b.md', 'intro')).toBe('b');
    expect(documentTitle('a/b.txt', '# Heading')).toBe('b');
  });
});
