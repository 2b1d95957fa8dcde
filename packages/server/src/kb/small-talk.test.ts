import { describe, expect, it } from 'vitest';
import { createKbAnswerProvider } from './kb-answer-provider.ts';
import { formatKnowledgeBlock } from './knowledge-block.ts';
import { assistantName, smallTalk } from './small-talk.ts';
import { collectChat } from '../llm/index.ts';

describe('small talk of local/kb-answer', () => {
  it('knows a greeting and a capability question in English and Chinese, and nothing else', () => {
    for (const q of ['hi', 'Hello!', 'good morning', '你好', '您好！', '在吗？']) expect(smallTalk(q), q).toBe('greeting');
    for (const q of ['What can you do?', 'who are you', '你能做什么？', '你是谁']) expect(smallTalk(q), q).toBe('capabilities');
    for (const q of ['hi, how do I install Warbler?', 'What can you do about refunds?', '你好，怎么退款？']) expect(smallTalk(q), q).toBeUndefined();
    expect(assistantName('You are Warbler Assistant, the guide to Warbler.')).toBe('Warbler Assistant');
  });

  it('answers in the question\'s language, by its name, with what its knowledge covers, and quotes nothing', async () => {
    const provider = createKbAnswerProvider();
    const block = formatKnowledgeBlock([
      { score: 1, chunk: { id: 'd#0', app_id: 'a', kb_id: 'k', document_id: 'd', ordinal: 0, title: 'Warbler user guide', source: 'guide/en.md', heading_path: ['Quick start'], text: 'Run npm start.', tokens: 3 } },
    ]);
    const ask = async (q: string) => (await collectChat(provider.chat({ model: 'local/kb-answer', messages: [{ role: 'system', content: `You are Warbler Assistant, the guide.\n\n${block}` }, { role: 'user', content: q }] }))).text;
    expect(await ask('Hello!')).toBe("Hello! I'm Warbler Assistant. I answer questions by quoting the knowledge base, with the source of each passage; I don't write answers of my own. You can ask me about: Warbler user guide.");
    expect(await ask('你能做什么？')).toBe('我是Warbler Assistant。我通过引用知识库中的原文来回答问题，并标注出处；我不会自己编写回答。你可以问我这些方面的问题：Warbler user guide。');
    expect(await ask('How do I start it?')).toContain('[1]');
  });
});
