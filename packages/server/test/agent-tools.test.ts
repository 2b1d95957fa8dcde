// Agent tools as an attacker with an app secret would use them (SSRF), and
// the secrets tools carry, over real sockets on each store.
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MessageFrame, MessageUpdatedFrame } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

/** An HTTP server on 127.0.0.1 that records what reaches it. */
async function toolServer(handle: (res: import('node:http').ServerResponse) => void) {
  const hits: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ url: req.url ?? '', headers: req.headers, body });
      handle(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, hits, port: (server.address() as AddressInfo).port };
}

type ToolServer = Awaited<ReturnType<typeof toolServer>>;

describe.each(storeKinds())('agent tools on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let internal: ToolServer; // stands for an admin endpoint on the server's own network: never allowed
  let allowed: ToolServer; // a tool host the operator allowed in warbler.yaml
  let redirector: ToolServer; // an allowed host that bounces callers to the internal one

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 2 } });
    internal = await toolServer((res) => res.end('{"admin":"all user data"}'));
    allowed = await toolServer((res) => res.end('{"status":"shipped"}'));
    redirector = await toolServer((res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${internal.port}/internal/admin` });
      res.end();
    });
    const configPath = path.join(tmpdir(), `warbler-agent-tools-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'outbound:',
      `  allow_hosts: ["127.0.0.1:${allowed.port}", "127.0.0.1:${redirector.port}"]`,
      '  allow_http_hosts: ["127.0.0.1", "localhost"]',
      '',
    ].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
    for (const s of [internal, allowed, redirector]) s?.server.close();
  });
  afterEach(() => {
    upstream.reset();
    for (const s of [internal, allowed, redirector]) s.hits.length = 0;
  });

  const orderTool = (url: string, headers: Record<string, string> = {}) => ({
    name: 'order_status', description: 'Look up an order', parameters: { type: 'object', properties: { order_id: { type: 'string' } } }, url, headers,
  });

  /** An agent stored before tool URLs and headers were checked (an upgrade), which the server loads as it would at start. */
  async function storedAgent(tools: Array<Record<string, unknown>>): Promise<string> {
    const id = `legacy-${Math.random().toString(36).slice(2, 8)}`;
    await server.warbler.users.create('default', { id, name: id, kind: 'agent', avatar_url: null, metadata: {} });
    const now = Date.now();
    await server.warbler.store.putAgent({ app_id: 'default', id, config: { name: id, model: 'gpt-4o-mini', tools }, created_at: now, updated_at: now });
    await server.warbler.agents.load();
    return id;
  }

  /** Alice asks the agent; the model calls `calls`; resolves with what the model was told by each tool, and the reply. */
  async function askWithTools(agentId: string, calls: Array<{ name: string; arguments: string }>) {
    const alice = await server.user('Alice');
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, alice.token);
    const socket = await TestSocket.open(server.wsUrl, alice.token);
    upstream.script(
      { chunks: [], toolCalls: calls, usage: { prompt_tokens: 50, completion_tokens: 10 } },
      { text: 'Done.', usage: { prompt_tokens: 60, completion_tokens: 2 } },
    );
    await socket.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: 'q1', content: { text: 'where is order A-17?' } });
    const started = (await socket.next((f) => f.type === 'message' && f.message.sender_id === agentId)) as MessageFrame;
    const done = (await socket.next((f) => f.type === 'message.updated' && f.message.id === started.message.id)) as MessageUpdatedFrame;
    await socket.close();
    const told = (upstream.requests.at(-1)!.body.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'tool').map((m) => m.content);
    return { told, reply: done.message };
  }

  it('refuses to save a tool URL that is private, plain http or never public, saying how to allow it', async () => {
    for (const [url, why] of [
      [`http://127.0.0.1:${internal.port}/internal/admin`, /127\.0\.0\.1 is a loopback address \(this machine\)\. .*outbound\.allow_hosts/],
      ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata address/],
      ['https://[::ffff:10.0.0.1]/x', /private network/],
      ['https://localhost/x', /localhost is never a public host/],
      ['http://tools.example.com/x', /plain http to tools\.example\.com is not allowed; use https/],
    ] as const) {
      const res = await server.api('POST', '/api/agents', { name: 'Sneaky', model: 'gpt-4o-mini', tools: [orderTool(url)] });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
      expect(res.body.error.message).toMatch(/^Invalid agent: tools\[0\]\.url: /);
      expect(res.body.error.message).toMatch(why);
    }
  });

  it('does not call a loopback tool URL stored earlier, and tells the model why', async () => {
    const agentId = await storedAgent([
      orderTool(`http://127.0.0.1:${internal.port}/internal/admin`),
      { ...orderTool(`http://localhost:${internal.port}/internal/admin`), name: 'by_name' },
    ]);
    const { told, reply } = await askWithTools(agentId, [
      { name: 'order_status', arguments: '{"order_id":"A-17"}' },
      { name: 'by_name', arguments: '{"order_id":"A-17"}' },
    ]);
    expect(internal.hits).toHaveLength(0);
    expect(told[0]).toMatch(/^Tool error: order_status is not allowed: 127\.0\.0\.1 is a loopback address/);
    // A name is judged by what it resolves to, when connecting.
    expect(told[1]).toMatch(/^Tool error: by_name is not allowed: localhost resolves to (127\.0\.0\.1|::1), and .* loopback address/);
    expect(reply).toMatchObject({ state: 'complete', content: { text: 'Done.' } });
  });

  it('does not follow an allowed host\'s redirect to a private address', async () => {
    const created = await server.api('POST', '/api/agents', { name: 'Bounced', model: 'gpt-4o-mini', tools: [orderTool(`http://127.0.0.1:${redirector.port}/tool`)] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { told } = await askWithTools(created.body.id, [{ name: 'order_status', arguments: '{"order_id":"A-17"}' }]);
    expect(redirector.hits).toHaveLength(1);
    expect(internal.hits).toHaveLength(0);
    expect(told[0]).toMatch(/^Tool error: order_status is not allowed: 127\.0\.0\.1 is a loopback address/);
  });

  it('calls an allowed tool host, with header secrets stored sealed and shown masked', async () => {
    const secret = 'Bearer sk-tool-secret-9876';
    const created = await server.api('POST', '/api/agents', { name: 'Orders', model: 'gpt-4o-mini', tools: [orderTool(`http://127.0.0.1:${allowed.port}/status`, { authorization: secret })] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const agentId: string = created.body.id;
    expect(created.body.tools[0].headers).toEqual({ authorization: '••••9876' });
    expect((await server.api('GET', `/api/agents/${agentId}`)).body.tools[0].headers).toEqual({ authorization: '••••9876' });
    const listed = (await server.api('GET', '/api/agents')).body.agents.find((a: { id: string }) => a.id === agentId);
    expect(JSON.stringify(listed)).not.toContain('sk-tool-secret');
    const row = await server.warbler.store.getAgent('default', agentId);
    const stored = (row!.config.tools as Array<{ headers: Record<string, string> }>)[0]!.headers.authorization!;
    expect(stored).toMatch(/^wsb1\./);
    expect(JSON.stringify(row)).not.toContain('sk-tool-secret');

    // A console saving the agent as shown (masked) keeps the secret.
    const patched = await server.api('PATCH', `/api/agents/${agentId}`, { name: 'Orders v2', tools: created.body.tools });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.tools[0].headers).toEqual({ authorization: '••••9876' });
    const { told } = await askWithTools(agentId, [{ name: 'order_status', arguments: '{"order_id":"A-17"}' }]);
    expect(told).toEqual(['{"status":"shipped"}']);
    expect(allowed.hits).toHaveLength(1);
    expect(allowed.hits[0]!.headers.authorization).toBe(secret);
    expect(JSON.parse(allowed.hits[0]!.body)).toEqual({ order_id: 'A-17' });

    const wrongMask = await server.api('PATCH', `/api/agents/${agentId}`, { tools: [orderTool(`http://127.0.0.1:${allowed.port}/status`, { authorization: '••••0000' })] });
    expect(wrongMask.status).toBe(400);
    expect(wrongMask.body.error.message).toMatch(/is how Warbler shows a stored secret/);
  });

  it('seals header secrets stored in plain text before, and keeps using them', async () => {
    const agentId = await storedAgent([orderTool(`http://127.0.0.1:${allowed.port}/status`, { 'x-api-key': 'legacy-plain-key-4321' })]);
    const row = await server.warbler.store.getAgent('default', agentId);
    expect(JSON.stringify(row)).not.toContain('legacy-plain-key');
    expect((await server.api('GET', `/api/agents/${agentId}`)).body.tools[0].headers).toEqual({ 'x-api-key': '••••4321' });
    await askWithTools(agentId, [{ name: 'order_status', arguments: '{}' }]);
    expect(allowed.hits[0]!.headers['x-api-key']).toBe('legacy-plain-key-4321');
  });

  it("refuses another app's knowledge base, naming it", async () => {
    const other = await server.warbler.apps.create('Other app');
    const theirs = await server.api('POST', '/api/knowledge-bases', { name: 'Their secrets' }, other.secret);
    expect(theirs.status).toBe(201);
    const kbId: string = theirs.body.id;
    const res = await server.api('POST', '/api/agents', { name: 'Thief', model: 'gpt-4o-mini', knowledge_base_ids: [kbId] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(`Invalid agent: knowledge_base_ids: there is no knowledge base "${kbId}" in this app. Create it first (POST /api/knowledge-bases), or leave it out.`);

    const mine = await server.api('POST', '/api/knowledge-bases', { name: 'Our docs' });
    const agent = await server.api('POST', '/api/agents', { name: 'Honest', model: 'gpt-4o-mini', knowledge_base_ids: [mine.body.id] });
    expect(agent.status).toBe(201);
    const patched = await server.api('PATCH', `/api/agents/${agent.body.id}`, { knowledge_base_ids: [mine.body.id, kbId] });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toContain(`"${kbId}"`);
    expect((await server.api('GET', `/api/agents/${agent.body.id}`)).body.knowledge_base_ids).toEqual([mine.body.id]);
  });
});
