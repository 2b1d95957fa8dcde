import { describe, expect, it } from 'vitest';
import type { Usage } from '../llm/index.ts';
import { ChunkWriter, embeddingBase64 } from './wire.ts';

const usage: Usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 2, reasoningTokens: 1, estimated: false };

function events(sse: string): unknown[] {
  return sse.split('\n\n').filter(Boolean).map((line) => {
    expect(line.startsWith('data: ')).toBe(true);
    const data = line.slice(6);
    return data === '[DONE]' ? data : JSON.parse(data);
  });
}

describe('ChunkWriter', () => {
  it('writes chat.completion.chunk events like OpenAI, with usage null on each when usage was asked for', () => {
    const w = new ChunkWriter('chatcmpl-1', 'gpt-4o-mini', 1700000000, true);
    const out = [
      w.part({ type: 'start', model: 'gpt-4o-mini', deployment: 'd', upstreamModel: 'gpt-4o-mini', attempt: 1 }),
      w.part({ type: 'text-delta', text: 'He said "hi"\n' }),
      w.part({ type: 'usage', usage }),
      w.part({ type: 'finish', finishReason: 'stop', usage }),
    ].join('');
    const e = events(out) as Array<Record<string, any>>;
    expect(e[0]).toEqual({
      id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini', service_tier: 'default', system_fingerprint: null,
      choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], usage: null,
    });
    expect(e[1]?.choices[0].delta).toEqual({ content: 'He said "hi"\n' });
    expect(e[2]?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(e[3]).toMatchObject({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 1 } } });
    expect(e[4]).toBe('[DONE]');
  });

  it('sends no usage field and no usage chunk unless asked', () => {
    const w = new ChunkWriter('c', 'm', 1, false);
    const e = events(w.part({ type: 'text-delta', text: 'x' }) + w.part({ type: 'finish', finishReason: 'length', usage })) as Array<Record<string, any>>;
    expect(e.map((x) => (typeof x === 'string' ? x : 'usage' in x))).toEqual([false, false, false, '[DONE]']);
    expect(e[2]?.choices[0].finish_reason).toBe('length');
  });

  it('streams tool calls: id, type and name on a call\'s first delta, arguments after', () => {
    const w = new ChunkWriter('c', 'm', 1, false);
    const out =
      w.part({ type: 'tool-call-delta', index: 0, id: 'call_a', name: 'f', argumentsDelta: '' }) +
      w.part({ type: 'tool-call-delta', index: 0, argumentsDelta: '{"a":' }) +
      w.part({ type: 'tool-call-delta', index: 0, argumentsDelta: '1}' }) +
      w.part({ type: 'tool-call', index: 0, id: 'call_a', name: 'f', arguments: '{"a":1}' }) +
      w.part({ type: 'finish', finishReason: 'tool_calls', usage });
    const e = events(out) as Array<Record<string, any>>;
    expect(e[0]?.choices[0].delta).toEqual({ role: 'assistant', content: null, refusal: null });
    expect(e[1]?.choices[0].delta).toEqual({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] });
    expect(e[2]?.choices[0].delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] });
    expect(e[4]?.choices[0].finish_reason).toBe('tool_calls');
    expect(e).toHaveLength(6);
  });
});

describe('embeddingBase64', () => {
  it('is little-endian float32, as OpenAI sends it', () => {
    const b = Buffer.from(embeddingBase64([1, -0.5]), 'base64');
    expect([b.readFloatLE(0), b.readFloatLE(4)]).toEqual([1, -0.5]);
  });
});
