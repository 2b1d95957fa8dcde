import { describe, expect, it } from 'vitest';
import { OpenAiError } from '../errors.ts';
import { parseResponsesBody, toChatMessages } from './request.ts';

const refused = (body: unknown): OpenAiError => {
  try {
    parseResponsesBody(body);
  } catch (e) {
    return e as OpenAiError;
  }
  throw new Error('accepted');
};

describe('parseResponsesBody', () => {
  it('maps the Responses fields to chat fields and echoes what the Response shows', () => {
    const b = parseResponsesBody({
      model: 'm', input: 'hi', instructions: 'be brief', max_output_tokens: 10, temperature: 0.5, store: false, stream: true,
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }], tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 's', schema: { type: 'object' }, strict: true } }, reasoning: { effort: 'low' },
    });
    expect(b).toMatchObject({ model: 'm', instructions: 'be brief', store: false, stream: true, input: [{ type: 'message', role: 'user', content: 'hi' }] });
    expect(b.chatFields).toEqual({
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' }, strict: true } },
      temperature: 0.5, max_tokens: 10, reasoning_effort: 'low',
    });
    expect(b.echo).toMatchObject({ temperature: 0.5, top_p: 1, max_output_tokens: 10, text: { format: { type: 'json_schema', name: 's' } } });
  });

  it('refuses what chat cannot carry, naming the field', () => {
    expect(refused({ model: 'm', input: 'x', tools: [{ type: 'file_search' }] })).toMatchObject({ status: 400, param: 'tools[0].type' });
    expect(refused({ model: 'm', input: [{ type: 'computer_call' }] })).toMatchObject({ param: 'input[0].type' });
    expect(refused({ model: 'm', input: 'x', background: true })).toMatchObject({ param: 'background' });
    expect(refused({ model: 'm', input: 'x', text: { format: { type: 'json_schema' } } })).toMatchObject({ param: 'text.format.name' });
    expect(refused({ input: 'x' })).toMatchObject({ param: 'model' });
    expect(refused({ model: 'm', input: [] })).toMatchObject({ param: 'input' });
  });
});

describe('toChatMessages', () => {
  it('instructions first; assistant text and its function calls in one message; outputs as tool messages; reasoning dropped', () => {
    const messages = toChatMessages([
      { type: 'message', role: 'developer', content: 'rules' },
      { role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'https://x/y.png', detail: 'high' }] },
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
      { type: 'function_call', call_id: 'c1', name: 'a', arguments: '{}' },
      { type: 'function_call', call_id: 'c2', name: 'b', arguments: '{"x":1}' },
      { type: 'function_call_output', call_id: 'c1', output: 'A' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'B' }] },
    ], 'sys');
    expect(messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'system', content: 'rules' },
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'high' } }] },
      { role: 'assistant', content: 'Checking.', tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } },
        { id: 'c2', type: 'function', function: { name: 'b', arguments: '{"x":1}' } },
      ] },
      { role: 'tool', tool_call_id: 'c1', content: 'A' },
      { role: 'tool', tool_call_id: 'c2', content: 'B' },
    ]);
  });

  it('refuses images by file id (no file store behind chat)', () => {
    expect(() => toChatMessages([{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }], null)).toThrow(/file_id images/);
  });
});
