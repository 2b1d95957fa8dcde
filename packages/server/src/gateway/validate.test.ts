import { describe, expect, it } from 'vitest';
import { OpenAiError } from './errors.ts';
import { parseChatBody, parseEmbeddingsBody } from './validate.ts';

const user = { role: 'user', content: 'hi' };

function paramOf(fn: () => unknown): string | null | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OpenAiError);
    expect((e as OpenAiError).status).toBe(400);
    return (e as OpenAiError).param;
  }
  throw new Error('expected a 400');
}

describe('parseChatBody', () => {
  it('hands the body on as it is, every field kept for upstream', () => {
    const body = { model: 'm', messages: [user], stream: true, stream_options: { include_usage: true }, temperature: 0.5, logit_bias: { 1: 2 }, user: 'u' };
    const parsed = parseChatBody(body);
    expect(parsed).toEqual({ stream: true, includeUsage: true, request: body });
    expect(parseChatBody({ model: 'm', messages: [user] })).toMatchObject({ stream: false, includeUsage: false });
  });

  it('accepts text and image parts, tools, tool_choice and every response_format', () => {
    expect(() =>
      parseChatBody({
        model: 'm',
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'be brief' }] },
          { role: 'user', content: [{ type: 'text', text: 'what?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,xx', detail: 'low' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c', content: '42' },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } },
      }),
    ).not.toThrow();
    for (const type of ['text', 'json_object']) expect(() => parseChatBody({ model: 'm', messages: [user], response_format: { type } })).not.toThrow();
  });

  it('names the field at fault', () => {
    expect(paramOf(() => parseChatBody({ messages: [user] }))).toBe('model');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [] }))).toBe('messages');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [{ role: 'user' }] }))).toBe('messages[0].content');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user, { role: 'tool', content: 'x' }] }))).toBe('messages[1].tool_call_id');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }))).toBe('messages[0].content[0].image_url.url');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }))).toBe('messages[0].content[0].type');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user], tools: [{ type: 'function', function: {} }] }))).toBe('tools[0]');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user], tool_choice: 'sometimes' }))).toBe('tool_choice');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user], response_format: { type: 'xml' } }))).toBe('response_format.type');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user], temperature: 3 }))).toBe('temperature');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user], max_tokens: 1.5 }))).toBe('max_tokens');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user], stream_options: { include_usage: true } }))).toBe('stream_options');
    expect(paramOf(() => parseChatBody({ model: 'm', messages: [user], stream: true, n: 2 }))).toBe('n');
    expect(paramOf(() => parseChatBody([]))).toBeNull();
  });
});

describe('parseEmbeddingsBody', () => {
  it('takes a string or strings, float or base64', () => {
    expect(parseEmbeddingsBody({ model: 'e', input: 'a' })).toEqual({ model: 'e', input: ['a'], base64: false });
    expect(parseEmbeddingsBody({ model: 'e', input: ['a', 'b'], encoding_format: 'base64', dimensions: 8 })).toEqual({ model: 'e', input: ['a', 'b'], base64: true, dimensions: 8 });
  });

  it('refuses token arrays and empty input', () => {
    expect(paramOf(() => parseEmbeddingsBody({ model: 'e', input: [[1, 2]] }))).toBe('input');
    expect(paramOf(() => parseEmbeddingsBody({ model: 'e', input: [] }))).toBe('input');
    expect(paramOf(() => parseEmbeddingsBody({ model: 'e', input: 'a', encoding_format: 'hex' }))).toBe('encoding_format');
  });
});

describe('the shape of a body', () => {
  const deep = (levels: number) => {
    let v: unknown = 'x';
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };
  const messageOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(OpenAiError);
      expect((e as OpenAiError).status).toBe(400);
      return (e as OpenAiError).message;
    }
    throw new Error('expected a 400');
  };

  it('is refused with a 400 when nested deeper than the gateway reads, wherever the nesting hides', () => {
    for (const body of [
      { model: 'm', messages: [{ ...user, x: deep(10_000) }] },
      { model: 'm', messages: [user], metadata: deep(100) },
      { model: 'm', messages: [user], tools: [{ type: 'function', function: { name: 'f', parameters: { x: deep(100) } } }] },
      { model: 'm', messages: [user], response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { x: deep(100) } } } },
    ]) {
      expect(messageOf(() => parseChatBody(body))).toMatch(/nested deeper than \d+ levels/);
    }
    expect(messageOf(() => parseEmbeddingsBody({ model: 'e', input: 'a', x: deep(10_000) }))).toMatch(/nested deeper/);
  });

  it('is refused with a 400 when it carries NUL characters', () => {
    expect(messageOf(() => parseChatBody({ model: 'm', messages: [{ role: 'user', content: 'a\u0000b' }] }))).toMatch(/NUL/);
  });

  it('lets realistic tool schemas through', () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 10; i++) schema = { type: 'object', properties: { child: schema } };
    expect(() => parseChatBody({ model: 'm', messages: [user], tools: [{ type: 'function', function: { name: 'f', parameters: schema } }] })).not.toThrow();
  });
});
