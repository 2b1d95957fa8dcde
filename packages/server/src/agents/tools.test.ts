import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentTool } from './definition.ts';
import { callHttpTool, KNOWLEDGE_TOOL, toolDefinitions } from './tools.ts';

describe('HTTP tools', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
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
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const tool = (path: string, timeout_ms = 2_000) => AgentTool.parse({ name: 'weather', url: `${base}${path}`, timeout_ms });

  it('posts the arguments and returns the answer', async () => {
    expect(await callHttpTool(tool('/weather'), '{"city":"杭州"}', new AbortController().signal)).toBe('{"city":"杭州","temp_c":21}');
  });

  it('turns failures into text the model can relay', async () => {
    expect(await callHttpTool(tool('/fail'), '{}', new AbortController().signal)).toMatch(/HTTP 500: broken/);
    expect(await callHttpTool(tool('/weather'), '{oops', new AbortController().signal)).toMatch(/not valid JSON/);
    expect(await callHttpTool(tool('/slow', 100), '{}', new AbortController().signal)).toMatch(/did not answer within 100 ms/);
  });

  it('describes tools in the OpenAI shape and adds knowledge search when the agent has knowledge', () => {
    const defs = toolDefinitions([tool('/weather')], true);
    expect(defs.map((d) => d.function.name)).toEqual(['weather', KNOWLEDGE_TOOL]);
    expect(toolDefinitions([], false)).toEqual([]);
  });
});
