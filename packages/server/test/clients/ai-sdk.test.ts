// The Vercel AI SDK (`ai` + `@ai-sdk/openai`), unmodified, against Warbler:
// its default `openai(model)` speaks the Responses API, `.chat(model)` chat
// completions; both generate, stream, run a tool loop and structured output.
import { createOpenAI } from '@ai-sdk/openai';
import { embedMany, generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { storeKinds } from '../harness.ts';
import { startGatewayUnderTest, type GatewayUnderTest } from './gateway-under-test.ts';

describe.each(storeKinds())('Vercel AI SDK against Warbler on %s', (kind) => {
  let gw: GatewayUnderTest;
  let openai: ReturnType<typeof createOpenAI>;
  let keyId: string;

  beforeAll(async () => {
    gw = await startGatewayUnderTest(kind);
    const key = await gw.newKey();
    keyId = key.id;
    openai = createOpenAI({ apiKey: key.secret, baseURL: gw.baseURL });
  });
  afterAll(() => gw?.stop());
  afterEach(() => gw.upstream.reset());

  const models = () => [
    ['openai(model), the Responses API', openai('gpt-4o-mini')],
    ['openai.chat(model)', openai.chat('gpt-4o-mini')],
  ] as const;

  it('generateText and streamText on both APIs', async () => {
    for (const [name, model] of models()) {
      gw.upstream.script({ text: `plain from ${name}`, usage: { prompt_tokens: 10, completion_tokens: 4 } });
      const done = await generateText({ model, prompt: 'Say something' });
      expect(done.text, name).toBe(`plain from ${name}`);
      expect(done.usage, name).toMatchObject({ inputTokens: 10, outputTokens: 4 });

      gw.upstream.script({ chunks: ['str', 'eam ', name] });
      const streamed = streamText({ model, prompt: 'Stream something' });
      let text = '';
      for await (const delta of streamed.textStream) text += delta;
      expect(text, name).toBe(`stream ${name}`);
      expect((await streamed.finishReason), name).toBe('stop');
    }
    const rows = await gw.ledger(keyId);
    expect(rows.filter((r) => r.model === 'gpt-4o-mini' && r.outcome === 'ok')).toHaveLength(4);
  });

  it('a tool loop: the model calls a tool, the SDK runs it and sends the result back, the model answers', async () => {
    for (const [name, model] of models()) {
      gw.upstream.reset();
      gw.upstream.script(
        { text: '', toolCalls: [{ id: 'call_t1', name: 'weather', arguments: '{"city":"Oslo"}' }] },
        { text: `Oslo is cold (${name}).` },
      );
      const calls: string[] = [];
      const result = await generateText({
        model,
        prompt: 'Weather in Oslo?',
        tools: {
          weather: tool({
            description: 'The weather in a city',
            inputSchema: z.object({ city: z.string() }),
            execute: async ({ city }) => {
              calls.push(city);
              return { city, celsius: -3 };
            },
          }),
        },
        stopWhen: stepCountIs(3),
      });
      expect(calls, name).toEqual(['Oslo']);
      expect(result.text, name).toBe(`Oslo is cold (${name}).`);
      expect(result.steps, name).toHaveLength(2);
      // The second call carried the tool's call and its result as chat messages.
      const second = gw.chatBodies()[1];
      expect(second.messages.at(-2), name).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_t1', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] });
      expect(second.messages.at(-1), name).toMatchObject({ role: 'tool', tool_call_id: 'call_t1' });
      expect(JSON.parse(second.messages.at(-1).content), name).toEqual({ city: 'Oslo', celsius: -3 });
    }
  });

  it('generateObject: a JSON schema goes upstream as response_format, the object comes back typed', async () => {
    for (const [name, model] of models()) {
      gw.upstream.reset();
      gw.upstream.script({ text: '{"name":"Ada","languages":["en","fr"]}' });
      const { object } = await generateObject({ model, schema: z.object({ name: z.string(), languages: z.array(z.string()) }), prompt: 'Describe Ada' });
      expect(object, name).toEqual({ name: 'Ada', languages: ['en', 'fr'] });
      expect(gw.chatBodies()[0].response_format, name).toMatchObject({ type: 'json_schema', json_schema: { schema: { type: 'object' } } });
    }
  });

  it('embedMany with the default text-embedding-3-small', async () => {
    const { embeddings, usage } = await embedMany({ model: openai.embedding('text-embedding-3-small'), values: ['one', 'two', 'three'] });
    expect(embeddings).toHaveLength(3);
    expect(embeddings[0]!.length).toBeGreaterThan(0);
    expect(usage.tokens).toBeGreaterThan(0);
  });
});
