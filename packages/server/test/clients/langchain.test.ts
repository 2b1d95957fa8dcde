// LangChain's ChatOpenAI and OpenAIEmbeddings, unmodified, against Warbler:
// invoke, stream, bindTools, withStructuredOutput (on chat completions and,
// with useResponsesApi, on the Responses API), embeddings.
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { storeKinds } from '../harness.ts';
import { startGatewayUnderTest, type GatewayUnderTest } from './gateway-under-test.ts';

describe.each(storeKinds())('LangChain @langchain/openai against Warbler on %s', (kind) => {
  let gw: GatewayUnderTest;
  let apiKey: string;

  beforeAll(async () => {
    gw = await startGatewayUnderTest(kind);
    apiKey = (await gw.newKey()).secret;
  });
  afterAll(() => gw?.stop());
  afterEach(() => gw.upstream.reset());

  const chat = (useResponsesApi = false) =>
    new ChatOpenAI({ model: 'gpt-4o-mini', apiKey, configuration: { baseURL: gw.baseURL }, maxRetries: 0, useResponsesApi });
  const both = () => [['chat completions', chat(false)], ['responses', chat(true)]] as const;

  it('invoke and stream', async () => {
    for (const [name, model] of both()) {
      gw.upstream.script({ text: `hi from ${name}`, usage: { prompt_tokens: 7, completion_tokens: 3 } });
      const answer = await model.invoke('Say hi');
      expect(answer.content, name).toEqual(name === 'responses' ? [expect.objectContaining({ type: 'text', text: `hi from ${name}` })] : `hi from ${name}`);
      expect(answer.usage_metadata, name).toMatchObject({ input_tokens: 7, output_tokens: 3, total_tokens: 10 });

      gw.upstream.script({ chunks: ['one ', 'two ', name] });
      let text = '';
      for await (const chunk of await model.stream('Count')) text += typeof chunk.content === 'string' ? chunk.content : chunk.text;
      expect(text, name).toBe(`one two ${name}`);
    }
  });

  it('bindTools: the model asks for a tool with parsed arguments', async () => {
    for (const [name, model] of both()) {
      gw.upstream.script({ text: '', toolCalls: [{ id: 'call_l1', name: 'get_time', arguments: '{"zone":"Asia/Shanghai"}' }] });
      const withTools = model.bindTools([{ type: 'function', function: { name: 'get_time', description: 'Current time in a zone', parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } } }]);
      const answer = await withTools.invoke('What time is it in Shanghai?');
      expect(answer.tool_calls, name).toEqual([expect.objectContaining({ id: 'call_l1', name: 'get_time', args: { zone: 'Asia/Shanghai' } })]);
    }
  });

  it('withStructuredOutput returns the parsed object', async () => {
    for (const [name, model] of both()) {
      gw.upstream.reset();
      gw.upstream.script({ text: '{"city":"Hangzhou","population_millions":12}' });
      const structured = model.withStructuredOutput(z.object({ city: z.string(), population_millions: z.number() }), { name: 'city_facts', method: 'jsonSchema' });
      const out = await structured.invoke('Facts about Hangzhou');
      expect(out, name).toEqual({ city: 'Hangzhou', population_millions: 12 });
      expect(gw.chatBodies()[0].response_format, name).toMatchObject({ type: 'json_schema', json_schema: { name: 'city_facts' } });
    }
  });

  it('OpenAIEmbeddings embeds documents and a query', async () => {
    const embeddings = new OpenAIEmbeddings({ model: 'text-embedding-3-small', apiKey, configuration: { baseURL: gw.baseURL }, dimensions: 32 });
    const docs = await embeddings.embedDocuments(['first', 'second']);
    expect(docs.map((d) => d.length)).toEqual([32, 32]);
    expect(await embeddings.embedQuery('third')).toHaveLength(32);
  });
});
