import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store/index.ts';
import { createKbAnswerProvider } from './kb-answer-provider.ts';
import { formatKnowledgeBlock } from './knowledge-block.ts';
import { isDeveloperRecord, seedDocsDir } from './seed.ts';
import { KnowledgeBases } from './service.ts';

describe('seedDocsDir', () => {
  it('finds the repository docs from this module, wherever the process started', () => {
    const docs = seedDocsDir();
    expect(docs).toMatch(/[/\\]docs$/);
    expect(existsSync(join(docs!, 'guide', 'en.md'))).toBe(true);
    expect(existsSync(join(docs!, 'guide', 'zh.md'))).toBe(true);
    expect(seedDocsDir(tmpdir())).toBeUndefined();
  });
});

// The demo agent's knowledge base: Warbler's own docs, answered by local/kb-answer.
describe('the demo knowledge base', () => {
  let dir: string;
  let store: Store;
  let kbs: KnowledgeBases;
  const provider = createKbAnswerProvider();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warbler-kb-seed-'));
    store = openSqliteStore(join(dir, 'seed.db'));
    await store.migrate();
    await store.createApp({ id: 'default', name: 'Default', secret_hash: 'h', created_at: 1, updated_at: 1 });
    kbs = new KnowledgeBases(store);
    await kbs.ensure('default', { id: 'warbler-docs', name: 'Warbler docs' });
    const imported = await kbs.importFolder('default', 'warbler-docs', seedDocsDir()!, { prune: true, exclude: isDeveloperRecord });
    expect(imported.skipped).toEqual([]);
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function ask(question: string) {
    const passages = await kbs.search('default', ['warbler-docs'], question, 4);
    const reply = await provider.complete({
      model: 'kb-answer',
      messages: [{ role: 'system', content: `You are Warbler Assistant.\n\n${formatKnowledgeBlock(passages)}` }, { role: 'user', content: question }],
    });
    return { top: passages[0]?.chunk, text: reply.text };
  }

  it.each([
    ['How do I use PostgreSQL?', 'guide/en.md', 'Self-hosting with PostgreSQL', 'WARBLER_DATABASE_URL'],
    ['How do I create a user token?', 'guide/en.md', 'Creating user tokens', 'ttl_seconds'],
    // The knowledge guide, which has the table of formats, answers before the user guide's short paragraph.
    ['Which file types can I add to a knowledge base?', 'knowledge.md', 'Formats: which file types you can add', '.docx'],
    ['What happens when an agent runs out of budget?', 'guide/en.md', 'Budgets', 'monthly_budget_usd'],
    ['怎么给用户签发令牌？', 'guide/zh.md', '为用户签发令牌', '60 秒到 30 天'],
    ['知识库支持哪些文件类型？', 'guide/zh.md', '添加文档', '5 MiB'],
    ['怎么停止智能体的回复？', 'guide/zh.md', '流式回复、停止和重置', 'client.stop'],
  ])('%s → %s › %s', async (question, source, heading, quoted) => {
    const { top, text } = await ask(question);
    expect(top).toMatchObject({ source });
    expect(top!.heading_path.at(-1)).toBe(heading);
    const title = source === 'knowledge.md' ? 'Knowledge bases: files, uploads, settings and FAQs' : source.endsWith('zh.md') ? 'Warbler 用户指南' : 'Warbler user guide';
    expect(text).toContain(`[1] ${title} › `);
    expect(text).toContain(`${heading} (${source})`);
    expect(text).toContain(quoted);
  });

  it('answers in the language of the question even where both guides match', async () => {
    const { text } = await ask('How do I use PostgreSQL?');
    expect(text).not.toContain('guide/zh.md');
  });
});
