import { describe, expect, it } from 'vitest';
import type { Usage } from '../../llm/index.ts';
import { parseResponsesBody } from './request.ts';
import { outputFromChatBody, ResponseEventWriter, responseIdOfItem, type ResponseHead } from './wire.ts';

const usage: Usage = { promptTokens: 5, completionTokens: 3, totalTokens: 8, cachedTokens: 1, reasoningTokens: 0, estimated: false };
const head = (): ResponseHead => ({ id: 'resp_abc', created_at: 1, model: 'm', instructions: null, previous_response_id: null, store: true, echo: parseResponsesBody({ model: 'm', input: 'x' }).echo });
const events = (sse: string) => sse.split('\n\n').filter(Boolean).map((b) => JSON.parse(b.split('\ndata: ')[1]!));

describe('ResponseEventWriter', () => {
  it('text then a function call: each item opened, streamed and closed in order, numbered from 0', () => {
    const w = new ResponseEventWriter(head());
    let sse = w.opening();
    sse += w.part({ type: 'text-delta', text: 'Let me check. ' });
    sse += w.part({ type: 'tool-call-delta', index: 0, id: 'call_1', name: 'f', argumentsDelta: '{"a":' });
    sse += w.part({ type: 'tool-call-delta', index: 0, argumentsDelta: '1}' });
    const done = w.finish('tool_calls', usage);
    sse += done.text;
    const list = events(sse);
    expect(list.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
      'response.completed',
    ]);
    expect(list.map((e) => e.sequence_number)).toEqual(list.map((_, i) => i));
    expect(done.response).toMatchObject({
      status: 'completed',
      output: [
        { id: 'msg_abc_0', type: 'message', content: [{ type: 'output_text', text: 'Let me check. ' }] },
        { id: 'fc_abc_0', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}' },
      ],
      usage: { input_tokens: 5, output_tokens: 3, input_tokens_details: { cached_tokens: 1 } },
    });
  });

  it('length ends as response.incomplete (max_output_tokens); a failure keeps the partial text, marked incomplete', () => {
    const w = new ResponseEventWriter(head());
    w.part({ type: 'text-delta', text: 'cut' });
    expect(w.finish('length', usage).response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    const f = new ResponseEventWriter(head());
    f.part({ type: 'text-delta', text: 'partial' });
    const failed = f.fail({ code: 'upstream_cut_stream', message: 'cut', type: 'server_error', param: null }, null);
    expect(events(failed.text).map((e) => e.type)).toEqual(['error', 'response.failed']);
    expect(failed.response).toMatchObject({ status: 'failed', error: { code: 'upstream_cut_stream' }, output: [{ status: 'incomplete', content: [{ text: 'partial' }] }] });
  });

  it('the final event carries the Response as the JSON the store keeps, in the shape of every other event', () => {
    const w = new ResponseEventWriter(head());
    w.part({ type: 'text-delta', text: 'Hi "there" ✓\n' });
    const done = w.finish('stop', usage);
    const last = done.text.split('\n\n').filter(Boolean).at(-1)!;
    expect(last).toBe(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: 6, response: done.response })}`);
    expect(JSON.parse(done.json)).toEqual(done.response);
    const failed = new ResponseEventWriter(head()).fail({ code: null, message: 'cut', type: 'server_error', param: null }, null);
    expect(failed.text.split('\n\n').filter(Boolean).at(-1)).toBe(`event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', sequence_number: 1, response: failed.response })}`);
    expect(JSON.parse(failed.json)).toEqual(failed.response);
  });

  it('an empty answer still has one (empty) message, as OpenAI sends', () => {
    const w = new ResponseEventWriter(head());
    expect(w.finish('stop', usage).response.output).toEqual([expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: '' })] })]);
  });
});

describe('ids and chat bodies', () => {
  it('item ids name their response', () => {
    expect(responseIdOfItem('msg_abc_0')).toBe('resp_abc');
    expect(responseIdOfItem('fc_x_y_12')).toBe('resp_x_y');
    expect(responseIdOfItem('rs_other')).toBeUndefined();
  });

  it('a chat.completion body becomes message and function_call items', () => {
    const out = outputFromChatBody('resp_q', { choices: [{ message: { content: 'Hi', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] });
    expect(out.output.map((o) => [o.id, o.type])).toEqual([['msg_q_0', 'message'], ['fc_q_0', 'function_call']]);
  });
});
