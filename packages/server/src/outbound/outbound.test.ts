import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Outbound, OutboundRefused, type OutboundRequest, type Resolve } from './outbound.ts';
import { OutboundPolicy } from './policy.ts';

/** A server on 127.0.0.1 that records every request it gets. */
async function listen(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Array<{ url: string; method: string; headers: IncomingMessage['headers'] }> = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers });
    req.resume().on('end', () => handle(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen, port: (server.address() as AddressInfo).port };
}

/** A resolver with fixed answers, like a DNS server the attacker controls. */
const fakeDns = (table: Record<string, string[]>): Resolve => async (hostname) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const post = (headers: Record<string, string> = {}): OutboundRequest => ({
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}', signal: AbortSignal.timeout(5_000), maxBytes: 1_000,
});

async function refusal(p: Promise<unknown>): Promise<OutboundRefused> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(OutboundRefused);
  return err as OutboundRefused;
}

describe('Outbound', () => {
  let target: Awaited<ReturnType<typeof listen>>;
  let redirector: Awaited<ReturnType<typeof listen>>;
  let redirectTo = '';
  const clients: Outbound[] = [];
  const client = (rules: ConstructorParameters<typeof OutboundPolicy>[0], dns: Record<string, string[]> = {}) => {
    const c = new Outbound(new OutboundPolicy(rules), { resolve: fakeDns(dns) });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    target = await listen((req, res) => res.end(req.url === '/big' ? 'x'.repeat(5_000) : 'secret internal answer'));
    redirector = await listen((_req, res) => {
      res.writeHead(302, { location: redirectTo });
      res.end();
    });
  });
  beforeEach(() => {
    target.seen.length = 0;
    redirector.seen.length = 0;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    target.server.close();
    redirector.server.close();
  });

  it('refuses a loopback address in the URL without connecting', async () => {
    const err = await refusal(client({ allowHttpHosts: ['127.0.0.1'] }).send(`http://127.0.0.1:${target.port}/internal/admin`, post()));
    expect(err.reason).toBe('127.0.0.1 is a loopback address (this machine)');
    expect(err.message).toMatch(/outbound\.allow_hosts/);
    expect(target.seen).toHaveLength(0);
  });

  it('refuses a name that resolves to a loopback address, after resolving it', async () => {
    const c = client({ allowHttpHosts: ['tools.example', 'mixed.example'] }, { 'tools.example': ['127.0.0.1'], 'mixed.example': ['93.184.216.34', '127.0.0.1'] });
    expect((await refusal(c.send(`http://tools.example:${target.port}/`, post()))).reason).toBe('tools.example resolves to 127.0.0.1, and 127.0.0.1 is a loopback address (this machine)');
    // One bad address among good ones is enough: the connection could land on it.
    expect((await refusal(c.send(`http://mixed.example:${target.port}/`, post()))).reason).toMatch(/resolves to 127\.0\.0\.1/);
    expect(target.seen).toHaveLength(0);
  });

  it('refuses "localhost" through the system resolver', async () => {
    const c = new Outbound(new OutboundPolicy({ allowHttpHosts: ['localhost'] }));
    clients.push(c);
    expect((await refusal(c.send(`http://localhost:${target.port}/`, post()))).reason).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), and .*loopback/);
    expect(target.seen).toHaveLength(0);
  });

  it('calls a host the operator allowed, wherever it resolves', async () => {
    const c = client({ allowHosts: [`tools.internal:${target.port}`], allowHttpHosts: ['tools.internal'] }, { 'tools.internal': ['127.0.0.1'] });
    const answer = await c.send(`http://tools.internal:${target.port}/status`, post());
    expect(answer).toMatchObject({ status: 200, text: 'secret internal answer' });
    expect(target.seen).toMatchObject([{ url: '/status', method: 'POST' }]);
  });

  it('judges every redirect hop: an allowed host cannot bounce the request to a private one', async () => {
    const c = client({ allowHosts: [`public.example:${redirector.port}`], allowHttpHosts: ['public.example', '127.0.0.1', 'rebound.example'] }, {
      'public.example': ['127.0.0.1'], 'rebound.example': ['10.0.0.7', '127.0.0.1'],
    });
    for (const [to, why] of [
      [`http://127.0.0.1:${target.port}/internal/admin`, /^127\.0\.0\.1 is a loopback/],
      [`http://rebound.example:${target.port}/`, /^rebound\.example resolves to 10\.0\.0\.7/],
      ['http://169.254.169.254/latest/meta-data/', /metadata/],
      ['file:///etc/passwd', /file: URLs cannot be called/],
    ] as const) {
      redirectTo = to;
      expect((await refusal(c.send(`http://public.example:${redirector.port}/tool`, post()))).reason).toMatch(why);
    }
    expect(redirector.seen).toHaveLength(4);
    expect(target.seen).toHaveLength(0);
  });

  it('keeps secrets to the origin they were meant for, and stops after three redirects', async () => {
    const c = client({ allowHosts: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] });
    redirectTo = `http://127.0.0.1:${target.port}/moved`;
    const answer = await c.send(`http://127.0.0.1:${redirector.port}/tool`, post({ authorization: 'Bearer sk-tool-secret' }));
    expect(answer).toMatchObject({ status: 200, url: `http://127.0.0.1:${target.port}/moved` });
    expect(redirector.seen[0]!.headers.authorization).toBe('Bearer sk-tool-secret');
    expect(target.seen[0]).toMatchObject({ method: 'GET' });
    expect(target.seen[0]!.headers.authorization).toBeUndefined();

    redirectTo = `http://127.0.0.1:${redirector.port}/again`;
    await expect(c.send(`http://127.0.0.1:${redirector.port}/tool`, post())).rejects.toThrow(/redirected more than 3 times/);
    expect(redirector.seen).toHaveLength(1 + 4);
  });

  it('reads at most maxBytes of an answer', async () => {
    const c = client({ allowHosts: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] });
    expect((await c.send(`http://127.0.0.1:${target.port}/big`, post())).text).toHaveLength(1_000);
  });
});
