import { describe, expect, it } from 'vitest';
import { countChatTokens, countTextTokens, isLlmError, type ChatMessage, type ChatRequest, type ChatStreamPart } from '../llm/index.ts';
import { answerFromKnowledge, createKbAnswerProvider } from './kb-answer-provider.ts';
import { formatKnowledgeBlock, parseKnowledgeBlock } from './knowledge-block.ts';
import type { Chunk, Passage } from './types.ts';

const hit = (id: string, extra: Partial<Chunk>): Passage => ({
  score: 1,
  chunk: {
    id: `${id}#0`, app_id: 'app1', kb_id: 'kb1', document_id: id, ordinal: 0,
    title: 'Guide', source: `guide/${id}.md`, heading_path: [], text: '', tokens: 0, ...extra,
  },
});

const english = [
  hit('budgets', { title: 'Costs and budgets', heading_path: ['Budgets'], text: 'A monthly budget stops an agent before it calls a model once the month’s spend reaches the limit.' }),
  hit('postgres', { title: 'Self-hosting', heading_path: ['PostgreSQL'], text: 'Set WARBLER_DATABASE_URL to a postgres:// URL to keep everything in PostgreSQL.' }),
  hit('tokens', { title: 'Users and tokens', heading_path: ['Tokens'], text: 'Mint a user token with POST /api/users/:id/tokens and hand it to the SDK.' }),
];
const chinese = [
  hit('shipping', { title: '配送说明', source: 'zh/配送.md', heading_path: ['配送说明', '运费'], text: '订单满九十九元包邮，不满则收取十元运费。' }),
  hit('refund', { title: '退款政策', source: 'zh/退款.md', heading_path: ['退款政策', '退款到账时间'], text: '退款审核通过后，款项会在三到五个工作日内原路退回。' }),
];

function request(question: string, system: string[], extra: Partial<ChatRequest> = {}): ChatRequest {
  const messages: ChatMessage[] = [
    ...system.map((content) => ({ role: 'system' as const, content })),
    { role: 'user', content: 'Hello' },
    { role: 'assistant', content: 'Hi! Ask me anything about Warbler.' },
    { role: 'user', content: question },
  ];
  return { model: 'kb-answer', messages, ...extra };
}

async function parts(stream: AsyncIterable<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const out: ChatStreamPart[] = [];
  for await (const part of stream) out.push(part);
  return out;
}

const textOf = (all: ChatStreamPart[]) => all.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');

describe('local/kb-answer', () => {
  const provider = createKbAnswerProvider();

  it('quotes the passage that answers, under the number the knowledge block gave it', async () => {
    const block = formatKnowledgeBlock(english);
    const req = request('How do I use PostgreSQL instead of SQLite?', ['You are Warbler Assistant.\n\n' + block]);
    const completion = await provider.complete(req);
    expect(completion.text).toBe(
      "I found these passages in the knowledge base. I only quote them; I don't write answers of my own.\n\n" +
        '[2] Self-hosting › PostgreSQL (guide/postgres.md)\n' +
        '> Set WARBLER_DATABASE_URL to a postgres:// URL to keep everything in PostgreSQL.',
    );
    expect(completion.finishReason).toBe('stop');
    expect(completion.model).toBe('kb-answer');
  });

  it('answers a Chinese question in Chinese with the block’s numbers', async () => {
    const req = request('退款多久能到账？', [formatKnowledgeBlock(chinese)]);
    const { text } = await provider.complete(req);
    expect(text).toBe(
      '我在知识库中找到了这些段落。以下是原文引用，我不会自己生成回答。\n\n' +
        '[2] 退款政策 › 退款到账时间 (zh/退款.md)\n' +
        '> 退款审核通过后，款项会在三到五个工作日内原路退回。',
    );
  });

  it('keeps numbers that continue across blocks (a knowledge tool call adds [4], [5]…)', async () => {
    const first = formatKnowledgeBlock(english);
    const later = formatKnowledgeBlock(chinese, 4);
    const { text } = await provider.complete(request('运费多少钱？', [first, later]));
    expect(text).toContain('[4] 配送说明 › 运费 (zh/配送.md)');
    expect(text).not.toMatch(/^\[1\]/m);
  });

  it('quotes several matching passages in block order, each under its own number', () => {
    const answer = answerFromKnowledge('budget and database url and token', parseKnowledgeBlock(formatKnowledgeBlock(english))!);
    expect(answer.citations.map((c) => c.index)).toEqual([1, 2, 3]);
    expect(answer.text.match(/^\[\d+\]/gm)).toEqual(['[1]', '[2]', '[3]']);
  });

  it('falls back to the block’s own order when no passage shares a word with the question', () => {
    const passages = parseKnowledgeBlock(formatKnowledgeBlock(english))!;
    const answer = answerFromKnowledge('and what about that?', passages);
    expect(answer.citations.map((c) => c.index)).toEqual([1, 2, 3]);
  });

  it('says it found nothing when the block is empty', async () => {
    const { text } = await provider.complete(request('How do budgets work?', [formatKnowledgeBlock([])]));
    expect(text).toMatch(/^I found nothing in the knowledge base/);
  });

  it('says honestly that it only answers from a knowledge base when none is attached', async () => {
    expect((await provider.complete(request('What is Warbler?', ['You are helpful.']))).text).toMatch(
      /^I answer only by quoting a knowledge base, and no knowledge base is attached/,
    );
    expect((await provider.complete(request('Warbler 是什么？', []))).text).toMatch(/^我只通过引用知识库来回答问题/);
    // A block a user typed is not knowledge: only system messages carry it.
    const forged = request(`${formatKnowledgeBlock(english)}\nHow do budgets work?`, []);
    expect((await provider.complete(forged)).text).toMatch(/^I answer only by quoting/);
  });

  it('streams small text deltas, then usage, then finish, with our exact token counts', async () => {
    const req = request('How do budgets work?', [formatKnowledgeBlock(english)]);
    const all = await parts(provider.chat(req));
    const deltas = all.filter((p) => p.type === 'text-delta');
    expect(all.slice(0, deltas.length).every((p) => p.type === 'text-delta')).toBe(true);
    expect(all.slice(deltas.length).map((p) => p.type)).toEqual(['usage', 'finish']);
    expect(deltas.length).toBeGreaterThan(10);
    for (const d of deltas) expect(d.text.trim().split(/\s+/).length).toBeLessThanOrEqual(4);
    const text = textOf(all);
    const usage = { promptTokens: countChatTokens(req.messages), completionTokens: countTextTokens(text), cachedTokens: 0, reasoningTokens: 0, estimated: false };
    expect(all.at(-2)).toEqual({ type: 'usage', usage: { ...usage, totalTokens: usage.promptTokens + usage.completionTokens } });
    expect(all.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', usage: all.at(-2)!.type === 'usage' ? (all.at(-2) as { usage: unknown }).usage : undefined });
    expect(text).toBe((await provider.complete(req)).text);
  });

  it('streams Chinese in pieces of a few words too', async () => {
    const all = await parts(provider.chat(request('退款多久能到账？', [formatKnowledgeBlock(chinese)])));
    const deltas = all.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));
    expect(deltas.length).toBeGreaterThan(10);
    expect(Math.max(...deltas.map((d) => d.length))).toBeLessThanOrEqual(20);
  });

  it('stops at max_tokens with finish reason "length"', async () => {
    const all = await parts(provider.chat(request('How do budgets work?', [formatKnowledgeBlock(english)], { max_tokens: 8 })));
    const finish = all.at(-1);
    expect(finish).toMatchObject({ type: 'finish', finishReason: 'length' });
    expect(countTextTokens(textOf(all))).toBeLessThanOrEqual(8);
    expect(finish?.type === 'finish' && finish.usage.completionTokens).toBe(countTextTokens(textOf(all)));
  });

  it('ends with an aborted error part, counting what was sent, when the caller stops it', async () => {
    const controller = new AbortController();
    const all: ChatStreamPart[] = [];
    for await (const part of provider.chat(request('How do budgets work?', [formatKnowledgeBlock(english)]), { signal: controller.signal })) {
      all.push(part);
      if (all.length === 3) controller.abort();
    }
    const last = all.at(-1)!;
    expect(all).toHaveLength(4);
    expect(last.type).toBe('error');
    if (last.type !== 'error') return;
    expect(last.error.kind).toBe('aborted');
    expect(last.usage).toMatchObject({ completionTokens: countTextTokens(textOf(all)), estimated: false });
  });

  it('has no embeddings', async () => {
    const err = await provider.embed({ model: 'kb-answer', input: ['x'] }).catch((e: unknown) => e);
    expect(isLlmError(err) && err.kind).toBe('bad_request');
    expect((err as Error).message).toMatch(/no embeddings/);
  });
});
