// The OpenAI Agents SDK (@openai/agents 0.14, the last line that runs on
// Node 20), unmodified, against Warbler: an agent with a tool, on its default
// Responses API and on chat completions.
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { storeKinds } from '../harness.ts';
import { startGatewayUnderTest, type GatewayUnderTest } from './gateway-under-test.ts';

describe.each(storeKinds())('OpenAI Agents SDK against Warbler on %s', (kind) => {
  let gw: GatewayUnderTest;
  let client: OpenAI;

  beforeAll(async () => {
    gw = await startGatewayUnderTest(kind);
    const key = await gw.newKey();
    // Traces would go to OpenAI's servers; there are none here.
    setTracingDisabled(true);
    // A provider per run rather than setDefaultOpenAIClient: the default provider keeps the first client it made,
    // and each store kind has its own server.
    client = new OpenAI({ apiKey: key.secret, baseURL: gw.baseURL, maxRetries: 0 });
  });
  afterAll(() => gw?.stop());
  afterEach(() => gw.upstream.reset());

  for (const api of ['responses', 'chat_completions'] as const) {
    it(`runs an agent that calls a tool (${api})`, async () => {
      const looked: string[] = [];
      const stock = tool({
        name: 'stock_level',
        description: 'How many of a product are in stock',
        parameters: z.object({ sku: z.string() }),
        execute: async ({ sku }) => {
          looked.push(sku);
          return `${sku}: 42 in stock`;
        },
      });
      const agent = new Agent({ name: 'Shop assistant', instructions: 'Answer stock questions with the tool.', model: 'gpt-4o-mini', tools: [stock] });
      gw.upstream.script(
        { text: '', toolCalls: [{ id: 'call_a1', name: 'stock_level', arguments: '{"sku":"WB-1"}' }] },
        { text: `There are 42 of WB-1 (${api}).` },
      );
      const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: api === 'responses' }) });
      const result = await runner.run(agent, 'How many WB-1 do we have?');
      expect(looked).toEqual(['WB-1']);
      expect(result.finalOutput).toBe(`There are 42 of WB-1 (${api}).`);
      const [first, second] = gw.chatBodies();
      expect(first.messages[0]).toEqual({ role: 'system', content: 'Answer stock questions with the tool.' });
      expect(first.tools[0].function.name).toBe('stock_level');
      expect(second.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_a1', content: 'WB-1: 42 in stock' });
    });
  }
});
