// The transport against a hand-driven HTTP server, for what the fixture does
// not script: bytes split inside a character, errors sent inside a stream,
// error bodies of every shape, and connection reuse.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmError } from './errors.ts';
import { statusError, UpstreamHttp } from './upstream-http.ts';

let server: Server;
let baseURL: string;
let connections = 0;
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('{}');
const seen: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      handler(req, res);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const never = () => new AbortController().signal;

async function collect(gen: AsyncGenerator<unknown[]>): Promise<{ batches: unknown[][]; error?: unknown }> {
  const batches: unknown[][] = [];
  try {
    for await (const b of gen) batches.push(b);
    return { batches };
  } catch (error) {
    return { batches, error };
  }
}

describe('UpstreamHttp', () => {
  it('posts JSON under the base path with the key, and reuses one keep-alive connection', async () => {
    const http = new UpstreamHttp({ baseURL, apiKey: 'sk-test', headers: { 'x-extra': 'yes' } });
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    };
    const before = connections;
    for (let i = 0; i < 10; i++) expect(await http.postJson('/chat/completions', { n: i }, never())).toEqual({ ok: true });
    // undici may open a second socket while the first is being handed back; after that, sockets are reused.
    expect(connections - before).toBeLessThanOrEqual(2);
    const last = seen.at(-1)!;
    expect(last.url).toBe('/v1/chat/completions');
    expect(last.headers).toMatchObject({ authorization: 'Bearer sk-test', 'x-extra': 'yes', 'content-type': 'application/json' });
    expect(JSON.parse(last.body)).toEqual({ n: 9 });
    await http.close();
  });

  it('reassembles a character split across two socket reads', async () => {
    const http = new UpstreamHttp({ baseURL });
    const event = Buffer.from(`data: ${JSON.stringify({ text: '你好，世界' })}\n\n`);
    const cut = event.indexOf(Buffer.from('好')) + 1; // inside the three bytes of 好
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(event.subarray(0, cut));
      setTimeout(() => {
        res.write(event.subarray(cut));
        res.end('data: [DONE]\n\n');
      }, 20);
    };
    const { batches, error } = await collect(http.postEvents('/chat/completions', {}, never()));
    expect(error).toBeUndefined();
    expect(batches.flat()).toEqual([{ text: '你好，世界' }]);
    await http.close();
  });

  it('hands over the events that came before an error sent inside the stream, then fails as a server error', async () => {
    const http = new UpstreamHttp({ baseURL });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"n":1}\n\ndata: {"n":2}\n\ndata: {"error":{"message":"overloaded","type":"server_error"}}\n\n');
    };
    const { batches, error } = await collect(http.postEvents('/chat/completions', {}, never()));
    expect(batches.flat()).toEqual([{ n: 1 }, { n: 2 }]);
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ kind: 'server', code: 'server_error', message: expect.stringContaining('overloaded') });
    await http.close();
  });

  it('ignores comments and keep-alive lines between events', async () => {
    const http = new UpstreamHttp({ baseURL });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(': OPENROUTER PROCESSING\n\ndata: {"n":1}\r\n\r\n: ping\n\ndata: [DONE]\n\n');
    };
    const { batches, error } = await collect(http.postEvents('/chat/completions', {}, never()));
    expect(error).toBeUndefined();
    expect(batches.flat()).toEqual([{ n: 1 }]);
    await http.close();
  });

  it('says the stream was cut when the server closes the socket mid-answer', async () => {
    const http = new UpstreamHttp({ baseURL });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\n');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const { batches, error } = await collect(http.postEvents('/chat/completions', {}, never()));
    expect(batches.flat()).toEqual([{ n: 1 }]);
    expect(error).toMatchObject({ kind: 'cut_stream' });
    await http.close();
  });

  it('gives up on a silent server after its timeout', async () => {
    const http = new UpstreamHttp({ baseURL, timeoutMs: 100 });
    handler = () => {}; // never answers
    await expect(http.postJson('/chat/completions', {}, never())).rejects.toMatchObject({ kind: 'timeout' });
    await http.close();
  });
});

describe('proxies', () => {
  it('goes through the HTTP_PROXY of the env it is given, and straight to hosts in its NO_PROXY', async () => {
    const tunnels: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req, client, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    handler = (_req, res) => res.end('{"ok":true}');
    try {
      const via = new UpstreamHttp({ baseURL, env: { HTTP_PROXY: proxyUrl } });
      expect(await via.postJson('/chat/completions', {}, never())).toEqual({ ok: true });
      await via.close();
      expect(tunnels).toEqual([new URL(baseURL).host]);

      const direct = new UpstreamHttp({ baseURL, env: { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' } });
      expect(await direct.postJson('/chat/completions', {}, never())).toEqual({ ok: true });
      await direct.close();
      expect(tunnels).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

describe('statusError', () => {
  it('takes the message and code from an OpenAI error body', () => {
    const e = statusError(429, { 'retry-after': '2' }, '{"error":{"message":"Slow down","type":"requests","code":"rate_limit_exceeded"}}');
    expect(e).toMatchObject({ kind: 'rate_limited', status: 429, code: 'rate_limit_exceeded', retryAfterMs: 2000 });
    expect(e.message).toContain('Slow down');
  });

  it('reads the other shapes compatible servers send', () => {
    expect(statusError(400, {}, '{"error":"model is required"}').message).toContain('model is required');
    expect(statusError(404, {}, '{"message":"no such model"}')).toMatchObject({ kind: 'not_found' });
    expect(statusError(502, {}, '<html>Bad Gateway</html>')).toMatchObject({ kind: 'server', message: expect.stringContaining('Bad Gateway') });
    expect(statusError(401, {}, '')).toMatchObject({ kind: 'auth', message: expect.stringContaining('HTTP 401') });
  });
});
