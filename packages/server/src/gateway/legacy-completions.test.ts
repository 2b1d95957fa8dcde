import { describe, expect, it } from 'vitest';
import { legacyToChat, TextCompletionChunks, textCompletionBody } from './legacy-completions.ts';

const usage = { promptTokens: 2, completionTokens: 1, totalTokens: 3, cachedTokens: 0, reasoningTokens: 0, estimated: false };

describe('legacy completions', () => {
  it('a prompt becomes one user message; max_tokens defaults to the legacy 16', () => {
    const chat = legacyToChat({ model: 'm', prompt: ['Once upon'], temperature: 0, stop: ['\n'], stream: true });
    expect(chat.request).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Once upon' }], temperature: 0, stop: ['\n'], stream: true, max_tokens: 16 });
    expect(chat.stream).toBe(true);
  });

  it('refuses what chat models cannot do, by name', () => {
    expect(() => legacyToChat({ model: 'm', prompt: ['a', 'b'] })).toThrow(/one prompt per request/);
    expect(() => legacyToChat({ model: 'm', prompt: 'a', echo: true })).toThrow(/echo/);
    expect(() => legacyToChat({ model: 'm', prompt: 'a', suffix: 'z' })).toThrow(/suffix/);
    expect(() => legacyToChat({ model: 'm', prompt: [1, 2] })).toThrow(/token arrays/);
  });

  it('answers as text_completion, in a body and in chunks', () => {
    const body = textCompletionBody({ created: 5, model: 'm', choices: [{ index: 0, message: { content: 'time' }, finish_reason: 'length' }], usage: { total_tokens: 3 } }, 'cmpl-1');
    expect(body).toMatchObject({ id: 'cmpl-1', object: 'text_completion', choices: [{ text: 'time', index: 0, logprobs: null, finish_reason: 'length' }] });
    const w = new TextCompletionChunks('cmpl-2', 'm', 5, true);
    const sse = w.part({ type: 'text-delta', text: 'a' }) + w.part({ type: 'finish', finishReason: 'stop', usage });
    const lines = sse.split('\n\n').filter(Boolean);
    expect(lines.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(lines[0]!.slice(6)).choices[0]).toEqual({ text: 'a', index: 0, logprobs: null, finish_reason: null });
    expect(JSON.parse(lines[2]!.slice(6)).usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 1 });
  });
});
