import { countTokens as gpt4oCount } from 'gpt-tokenizer/model/gpt-4o';
import { describe, expect, it } from 'vitest';
import { countChatTokens, countTextTokens, estimateUsage, quickPromptTokens } from './tokens.ts';
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
