import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbound, OutboundPolicy } from '../outbound/index.ts';
import { AgentTool } from './definition.ts';
import { HttpTools, KNOWLEDGE_TOOL, toolDefinitions } from './tools.ts';

describe('HTTP tools', () => {
  let server: Server;
  let base: string;
  let hits = 0;
  const refusals: unknown[] = [];
  const allowed = new Outbound(new OutboundPolicy({ allowHosts: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] }));
  const strict = new Outbound(new OutboundPolicy({ allowHttpHosts: ['127.0.0.1'] }));
  const agent = { id: 'helper', app_id: 'app_1' };
  const callHttpTool = (t: AgentTool, args: string, signal: AbortSignal) => new HttpTools(allowed).call(agent, t, args, signal);
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      hits++;
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.url === '/weather') return res.end(JSON.stringify({ city: JSON.parse(body).city, temp_c: 21 }));
        if (req.url === '/slow') return setTimeout(() => res.end('late'), 500);
        res.statusCode = 500;
        res.end('broken');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all([allowed.close(), strict.close()]);
    await new Promise<void>((r) => server.close(() => r()));
  });

  const tool = (path: string, timeout_ms = 2_000) => AgentTool.parse({ name: 'weather', url: `${base}${path}`, timeout_ms });

  it('posts the arguments and returns the answer', async () => {
    expect(await callHttpTool(tool('/weather'), '{"city":"杭州"}', new AbortController().signal)).toBe('{"city":"杭州","temp_c":21}');
  });

  it('turns failures into text the model can relay', async () => {
    expect(await callHttpTool(tool('/fail'), '{}', new AbortController().signal)).toMatch(/HTTP 500: broken/);
    expect(await callHttpTool(tool('/weather'), '{oops', new AbortController().signal)).toMatch(/not valid JSON/);
    expect(await callHttpTool(tool('/slow', 100), '{}', new AbortController().signal)).toMatch(/did not answer within 100 ms/);
  });

  it('refuses a private address at call time, tells the model why and reports it', async () => {
    hits = 0;
    const tools = new HttpTools(strict, (details, message) => refusals.push({ details, message }));
    const answer = await tools.call(agent, tool('/weather'), '{"city":"x"}', new AbortController().signal);
    expect(answer).toMatch(/^Tool error: weather is not allowed: 127\.0\.0\.1 is a loopback address/);
    expect(hits).toBe(0);
    expect(refusals).toEqual([{ details: { app_id: 'app_1', agent_id: 'helper', tool: 'weather', url: `${base}/weather`, reason: '127.0.0.1 is a loopback address (this machine)' }, message: 'outbound request refused: agent tool' }]);
  });

  it('describes tools in the OpenAI shape and adds knowledge search when the agent has knowledge', () => {
    const defs = toolDefinitions([tool('/weather')], true);
    expect(defs.map((d) => d.function.name)).toEqual(['weather', KNOWLEDGE_TOOL]);
    expect(toolDefinitions([], false)).toEqual([]);
  });
});
