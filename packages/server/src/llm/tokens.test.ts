import { countTokens as gpt4oCount } from 'gpt-tokenizer/model/gpt-4o';
import { describe, expect, it } from 'vitest';
import { countChatTokens, countTextTokens, estimateUsage, jsonBytes, quickPromptTokens } from './tokens.ts';
import type { ChatMessage } from './types.ts';

describe('tokens', () => {
  it('counts text with o200k', () => {
    expect(countTextTokens('')).toBe(0);
    expect(countTextTokens('Hello, world!')).toBe(4);
    expect(countTextTokens('你好，世界')).toBeGreaterThan(0);
  });

  it('counts a megabyte without whitespace in bounded time, within a token per 256 characters of exact', () => {
    const started = performance.now();
    expect(countTextTokens('z'.repeat(1_100_000))).toBe(550_000);
    expect(performance.now() - started).toBeLessThan(2_000);
    const mixed = `intro ${'ab1!'.repeat(2_000)} outro 😀${'😀'.repeat(300)}`;
    expect(Math.abs(countTextTokens(mixed) - gpt4oCount(mixed))).toBeLessThanOrEqual(Math.ceil(mixed.length / 256));
  });

  it('treats special-token lookalikes in user text as plain text', () => {
    expect(() => countTextTokens('see <|endoftext|> here')).not.toThrow();
  });

  it('counts a chat the way gpt-tokenizer counts a gpt-4o chat', () => {
    const chat: ChatMessage[] = [
      { role: 'system', content: 'You are Warbler Assistant. Answer from the docs.' },
      { role: 'user', content: 'How do I mint a user token?' },
      { role: 'assistant', content: 'Call POST /v1/tokens with your app secret.' },
      { role: 'user', content: '谢谢！' },
    ];
    const reference = gpt4oCount(chat.map((m) => ({ role: m.role, content: m.content as string })));
    expect(countChatTokens(chat)).toBe(reference);
  });

  it('counts content parts, images and tool calls', () => {
    const text = countChatTokens([{ role: 'user', content: 'what is this?' }]);
    const withImage = countChatTokens([
      { role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'data:,', detail: 'low' } }] },
    ]);
    expect(withImage - text).toBe(85);
    const call = countChatTokens([
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }] },
    ]);
    expect(call).toBeGreaterThan(countChatTokens([{ role: 'assistant', content: null }]));
  });

  it('estimates usage and flags it', () => {
    const u = estimateUsage({ messages: [{ role: 'user', content: 'Hello, world!' }] }, { text: 'Hello, world!', reasoning: 'think' });
    expect(u.estimated).toBe(true);
    expect(u.promptTokens).toBe(3 + 3 + 1 + 4);
    expect(u.reasoningTokens).toBe(countTextTokens('think'));
    expect(u.completionTokens).toBe(4 + u.reasoningTokens);
    expect(u.totalTokens).toBe(u.promptTokens + u.completionTokens);
  });
});

describe('quickPromptTokens', () => {
  const samples = {
    english: 'Warbler keeps an exact ledger of every model call: prompt, cached, completion and reasoning tokens, priced in nano-units. '.repeat(8),
    chinese: '请根据知识库回答用户的问题，并在回答中用方括号标注引用的段落编号。如果知识库没有涉及，请直接说明。'.repeat(6),
    japanese: 'この会話の要約を三行で書いてください。重要な決定事項を必ず含めてください。'.repeat(6),
    code: 'function add(a: number, b: number): number {\n  return a + b; // 🙂 emoji and symbols {}[]<>\n}\n'.repeat(6),
  };
  it.each(Object.entries(samples))('never falls below the exact o200k count (%s), nor far above it', (_name, text) => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: text },
    ];
    const exact = countChatTokens(messages);
    const quick = quickPromptTokens({ messages });
    expect(quick).toBeGreaterThanOrEqual(exact);
    expect(quick).toBeLessThan(exact * 4);
  });
});

describe('jsonBytes', () => {
  it('is the UTF-8 size of JSON.stringify for prompts of every shape', () => {
    const texts = ['', 'plain', 'quote " and \\ backslash', 'line\nbreak\ttab\u0001\u001f', '中文 ünïcödé', 'emoji 😀 pair', 'lone \ud800 high', 'lone \udc00 low', '</script>\u2028'];
    const values: unknown[] = [
      [],
      {},
      [{ role: 'user', content: 'hi' }],
      [{ role: 'system', content: texts[3] }, { role: 'user', content: [{ type: 'text', text: texts[4] }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] }],
      [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }],
      [{ role: 'user', content: 'x', name: undefined, skip: () => 1 }, [undefined, () => 1, Symbol('s'), null, true, false]],
      [0, -0, 1.5, -2e-7, 1e21, NaN, Infinity, 123456789012345680000],
      { nested: { deeper: [{ k: texts }] }, 'key "quoted"': 1, 中: '文' },
      [{ when: new Date(0) }, Object.assign(Object.create({ inherited: 1 }), { own: 'x' }), new String('boxed')],
      ...texts,
    ];
    for (const v of values) expect(jsonBytes(v), JSON.stringify(v)).toBe(Buffer.byteLength(JSON.stringify(v)));
  });
});
