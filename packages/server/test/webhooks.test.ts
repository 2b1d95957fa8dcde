// Webhooks end to end: a real Warbler (SQLite and PostgreSQL) delivering to a
// real receiver on 127.0.0.1, with a short retry schedule for the test.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyWebhook } from '@warbler/sdk/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWarbler, type Warbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { storeKinds, type StoreKind } from './harness.ts';
import { createTestDatabase } from './postgres.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** What the receiver answered (0: it never answered, the attempt timed out). */
  answered: number;
}

type Behaviour = (hit: number) => { status: number; delayMs?: number };

/** A webhook receiver: each path answers as the test says, and every request is kept. */
class Receiver {
  readonly received: Received[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly hits = new Map<string, number>();
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const p = req.url ?? '/';
        const hit = (this.hits.get(p) ?? 0) + 1;
        this.hits.set(p, hit);
        const behaviour: Behaviour = this.behaviours.get(p) ?? (() => ({ status: 200 }));
        const { status, delayMs = 0 } = behaviour(hit);
        const record: Received = { path: p, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(), answered: 0 };
        this.received.push(record);
        setTimeout(() => {
          if (res.destroyed) return;
          record.answered = status;
          res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'x'.repeat(5_000));
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  on(p: string, behaviour: Behaviour): string {
    this.behaviours.set(p, behaviour);
    return `http://127.0.0.1:${this.port}${p}`;
  }

  at(p: string): Received[] {
    return this.received.filter((r) => r.path === p);
  }

  async until(p: string, check: (rs: Received[]) => boolean, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.at(p))) {
      if (Date.now() > deadline) throw new Error(`receiver ${p}: condition not met in ${timeoutMs} ms; got ${this.at(p).length} requests`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.at(p);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** One Warbler that can be closed and rebuilt on the same data dir and database, as a restart. */
class Node {
  warbler!: Warbler;
  url = '';
  secret = '';
  private db: { url: string; drop: () => Promise<void> } | undefined;
  private dataDir = '';

  constructor(
    private readonly kind: StoreKind,
    private readonly env: Record<string, string>,
    /** Another node's database: this one shares it (and leaves dropping it to that node). */
    private readonly sharedDb?: { url: string },
  ) {}

  get databaseUrl(): string | undefined {
    return this.db?.url;
  }

  async start(configPath: string): Promise<void> {
    if (!this.dataDir) {
      this.dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-webhooks-'));
      if (this.kind === 'postgres') this.db = this.sharedDb ? { url: this.sharedDb.url, drop: async () => {} } : await createTestDatabase();
    }
    this.warbler = await buildWarbler(loadConfig({
      WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: this.dataDir, WARBLER_MASTER_KEY: 'webhooks-test-master-key-1',
      WARBLER_LOG_LEVEL: 'silent', WARBLER_CONFIG: configPath, ...(this.db && { WARBLER_DATABASE_URL: this.db.url }), ...this.env,
    }));
    this.url = await this.warbler.listen();
    if (!this.secret) this.secret = await this.warbler.apps.rotateSecret('default');
  }

  async api(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(this.url + p, {
      method,
      headers: { authorization: `Bearer ${this.secret}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async close(): Promise<void> {
    await this.warbler.close();
  }

  async destroy(): Promise<void> {
    await this.db?.drop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

const TEST_ENV = {
  // Several nodes on one database must share the key that seals data at rest.
  WARBLER_ENCRYPTION_KEY: 'webhooks-test-encryption-key-0123456789abcdef',
  WARBLER_WEBHOOK_RETRY_SCHEDULE_MS: '300,600',
  // Generous for a loaded test machine: a timeout here means the receiver may have taken an event Warbler then retries.
  WARBLER_WEBHOOK_TIMEOUT_MS: '2000',
  WARBLER_WEBHOOK_POLL_MS: '100',
  WARBLER_WEBHOOK_CONCURRENCY_PER_ENDPOINT: '2',
};

async function outboundConfig(name: string, allow: string[]): Promise<string> {
  const file = path.join(tmpdir(), `warbler-webhooks-${name}-${process.pid}.yaml`);
  await writeFile(file, ['outbound:', `  allow_hosts: ${JSON.stringify(allow)}`, `  allow_http_hosts: ${JSON.stringify(allow)}`, ''].join('\n'));
  return file;
}

const verified = (node: Node, secret: string, r: Received) =>
  verifyWebhook({ body: r.body, headers: r.headers as Record<string, string>, secret });

describe.each(storeKinds())('webhooks on %s', (kind) => {
  const receiver = new Receiver();
  let node: Node;
  let allowed: string;
  let conversationId: string;

  beforeAll(async () => {
    await receiver.start();
    allowed = await outboundConfig(`${kind}-allowed`, [`127.0.0.1:${receiver.port}`]);
    node = new Node(kind, TEST_ENV);
    await node.start(allowed);
    for (const id of ['ann', 'ben']) expect((await node.api('POST', '/api/users', { id, name: id })).status).toBe(201);
    const c = await node.api('POST', '/api/conversations', { kind: 'group', member_ids: ['ann', 'ben'], title: 'Orders' });
    conversationId = c.body.id;
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await node?.destroy();
    await receiver.stop();
  });

  const send = (text: string) => node.api('POST', `/api/conversations/${conversationId}/messages`, { sender_id: 'ann', type: 'text', content: { text } });

  it('delivers each event once, signed, to the endpoints that want it; the secret is shown once', async () => {
    const created = await node.api('POST', '/api/webhooks/endpoints', { url: receiver.on('/messages', () => ({ status: 200 })), event_types: ['message.created'], description: 'CRM' });
    expect(created.status).toBe(201);
    const { endpoint, secret } = created.body;
    expect(secret).toMatch(/^whsec_/);
    const listed = await node.api('GET', '/api/webhooks/endpoints');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(listed.body.endpoints).toEqual([expect.objectContaining({ id: endpoint.id, enabled: true, event_types: ['message.created'], secret_prefix: secret.slice(0, 10) })]);

    for (const text of ['你好', 'order A-1', 'thanks']) expect((await send(text)).status).toBe(201);
    await node.warbler.events.emit({ type: 'conversation.handoff', appId: 'default', data: { conversation_id: conversationId, reason: 'customer_asked' } });
    const got = await receiver.until('/messages', (rs) => rs.length >= 3);
    await new Promise((r) => setTimeout(r, 600)); // nothing more comes: not a duplicate, not the handoff it did not ask for
    expect(receiver.at('/messages')).toHaveLength(3);

    const events = await Promise.all(got.map((r) => verified(node, secret, r)));
    expect(events.map((e) => e.type)).toEqual(['message.created', 'message.created', 'message.created']);
    expect(events.map((e) => (e.data.content as { text: string }).text).sort()).toEqual(['order A-1', 'thanks', '你好'].sort());
    expect(events[0]!.data).toMatchObject({ conversation_id: conversationId, sender_id: 'ann', type: 'text' });
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    expect(got.map((r) => r.headers['warbler-webhook-id'])).toEqual(events.map((e) => e.id));
    await expect(verified(node, 'whsec_wrong', got[0]!)).rejects.toThrow(/No signature matches/);

    const log = await node.api('GET', `/api/webhooks/endpoints/${endpoint.id}/deliveries`);
    expect(log.body.deliveries).toHaveLength(3);
    for (const d of log.body.deliveries) {
      expect(d).toMatchObject({ status: 'delivered', attempts: 1, event_type: 'message.created' });
      expect(d.log).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, response: 'ok', error: null })]);
    }
    await node.api('DELETE', `/api/webhooks/endpoints/${endpoint.id}`);
  });

  it('announces an AI agent\'s streamed reply once, when it completes, with its whole text', async () => {
    const { body: { endpoint, secret } } = await node.api('POST', '/api/webhooks/endpoints', { url: receiver.on('/agent', () => ({ status: 200 })), event_types: ['message.created'] });
    const direct = await node.api('POST', '/api/conversations', { kind: 'direct', member_ids: ['ben', 'warbler-assistant'] });
    expect(direct.status).toBe(201);
    await node.api('POST', `/api/conversations/${direct.body.id}/messages`, { sender_id: 'ben', type: 'text', content: { text: 'What is Warbler?' } });
    const got = await receiver.until('/agent', (rs) => rs.length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.at('/agent')).toHaveLength(2);
    const [question, reply] = await Promise.all(got.map((r) => verified(node, secret, r)));
    expect(question!.data).toMatchObject({ sender_id: 'ben', conversation_id: direct.body.id });
    expect(reply!.data).toMatchObject({ sender_id: 'warbler-assistant', conversation_id: direct.body.id, seq: 2 });
    expect(String((reply!.data.content as { text?: unknown }).text ?? '').length).toBeGreaterThan(10);
    await node.api('DELETE', `/api/webhooks/endpoints/${endpoint.id}`);
  });

  it('retries after 500s and timeouts with backoff, keeps the first 2 KB of each answer, then fails for good', async () => {
    const { body: { endpoint, secret } } = await node.api('POST', '/api/webhooks/endpoints', {
      url: receiver.on('/flaky', (hit) => (hit === 1 ? { status: 500 } : hit === 2 ? { status: 200, delayMs: 2_600 } : { status: 200 })),
      event_types: ['csat.submitted'],
    });
    const down = (await node.api('POST', '/api/webhooks/endpoints', { url: receiver.on('/down', () => ({ status: 503 })), event_types: ['csat.submitted'] })).body.endpoint;
    await node.warbler.events.emit({ type: 'csat.submitted', appId: 'default', data: { conversation_id: conversationId, rating: 4 } });

    const flaky = await receiver.until('/flaky', (rs) => rs.some((r) => r.answered === 200));
    expect(flaky).toHaveLength(3);
    const ids = new Set(flaky.map((r) => r.headers['warbler-webhook-id']));
    expect(ids.size).toBe(1); // one event, tried three times
    for (const r of flaky) await verified(node, secret, r); // each attempt signed afresh
    // 300 ms ±20 % after the 500; 600 ms ±20 % after the 2 s timeout.
    expect(flaky[1]!.at - flaky[0]!.at).toBeGreaterThanOrEqual(240);
    expect(flaky[2]!.at - flaky[1]!.at).toBeGreaterThanOrEqual(2_000 + 480 - 50);

    const waitFor = async (endpointId: string, status: string) => {
      for (let i = 0; i < 100; i++) {
        const [d] = (await node.api('GET', `/api/webhooks/endpoints/${endpointId}/deliveries`)).body.deliveries;
        if (d?.status === status) return d;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${status} delivery`);
    };
    const done = await waitFor(endpoint.id, 'delivered');
    expect(done.log.map((a: { status_code: number | null }) => a.status_code)).toEqual([500, null, 200]);
    expect(done.log[0].response).toHaveLength(2048);
    expect(done.log[1].error).toMatch(/no answer within 2000 ms/);
    expect(done.log[1].latency_ms).toBeGreaterThanOrEqual(1_950);

    const failed = await waitFor(down.id, 'failed');
    expect(failed.attempts).toBe(3); // the first try and the schedule's two retries
    expect(receiver.at('/down')).toHaveLength(3);
    expect(failed.log.every((a: { error: string }) => /answered 503/.test(a.error))).toBe(true);

    // Manual redelivery: the same event id and body, as a new delivery.
    receiver.on('/down', () => ({ status: 200 }));
    const again = await node.api('POST', `/api/webhooks/deliveries/${failed.id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ event_id: failed.event_id, status: 'pending' });
    const redelivered = await receiver.until('/down', (rs) => rs.some((r) => r.answered === 200));
    expect(redelivered.at(-1)!.headers['warbler-webhook-id']).toBe(failed.event_id);
    expect(redelivered.at(-1)!.body).toBe(receiver.at('/down')[0]!.body);
    for (const id of [endpoint.id, down.id]) await node.api('DELETE', `/api/webhooks/endpoints/${id}`);
  }, 30_000);

  it('sends a test event to one endpoint, and rotates its secret (the old one signs for a while beside the new)', async () => {
    const { body: { endpoint, secret } } = await node.api('POST', '/api/webhooks/endpoints', { url: receiver.on('/test', () => ({ status: 200 })), enabled: false });
    expect((await node.api('POST', `/api/webhooks/endpoints/${endpoint.id}/test`)).status).toBe(202);
    const [first] = await receiver.until('/test', (rs) => rs.length === 1);
    expect((await verified(node, secret, first!)).type).toBe('webhook.test');

    const rotated = await node.api('POST', `/api/webhooks/endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.body.secret).not.toBe(secret);
    await node.api('POST', `/api/webhooks/endpoints/${endpoint.id}/test`);
    const [, second] = await receiver.until('/test', (rs) => rs.length === 2);
    await verified(node, rotated.body.secret, second!);
    await verified(node, secret, second!);
    expect(String(second!.headers['warbler-webhook-signature']).split(' ')).toHaveLength(2);

    // A test button pressed in a loop is refused, and nothing is queued for it.
    let refused: { status: number; body: any } | undefined;
    for (let i = 0; i < 25 && !refused; i++) {
      const r = await node.api('POST', `/api/webhooks/endpoints/${endpoint.id}/test`);
      if (r.status !== 202) refused = r;
    }
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    await node.api('DELETE', `/api/webhooks/endpoints/${endpoint.id}`);
  });

  it('refuses URLs the outbound policy forbids, when saved', async () => {
    const refusals: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${receiver.port + 1}/hook`, /loopback/],
      ['https://localhost/hook', /never a public host/],
      ['https://169.254.169.254/latest/meta-data', /metadata/],
      ['https://10.0.0.7/hook', /private/],
      ['http://example.com/hook', /plain http/],
      ['https://user:pw@example.com/hook', /credentials/],
    ];
    for (const [url, reason] of refusals) {
      const r = await node.api('POST', '/api/webhooks/endpoints', { url });
      expect(r.status, url).toBe(400);
      expect(r.body.error.message, url).toMatch(reason);
    }
    expect((await node.api('POST', '/api/webhooks/endpoints', { url: 'file:///etc/passwd' })).status).toBe(400);
    expect((await node.api('GET', '/api/webhooks/endpoints')).body.endpoints).toEqual([]);
  });

  it('a slow endpoint does not delay another endpoint\'s deliveries', async () => {
    const slow = (await node.api('POST', '/api/webhooks/endpoints', { url: receiver.on('/slow', () => ({ status: 200, delayMs: 600 })), event_types: ['conversation.assigned'] })).body.endpoint;
    const fast = (await node.api('POST', '/api/webhooks/endpoints', { url: receiver.on('/fast', () => ({ status: 200 })), event_types: ['conversation.assigned'] })).body.endpoint;
    const started = Date.now();
    for (let i = 0; i < 20; i++) await node.warbler.events.emit({ type: 'conversation.assigned', appId: 'default', data: { conversation_id: conversationId, assignee_id: `agent-${i}` } });
    const fastDone = (await receiver.until('/fast', (rs) => rs.length === 20)).at(-1)!.at - started;
    const slowDone = (await receiver.until('/slow', (rs) => rs.filter((r) => r.answered === 200).length === 20, 20_000)).at(-1)!.at - started;
    // The slow one, two at a time, takes 10 × 600 ms; the fast one is not held behind it.
    // Compared with each other, not with a clock: held behind the slow one, the fast one would end after it.
    expect(slowDone).toBeGreaterThan(5_000);
    expect(fastDone).toBeLessThan(slowDone / 2);
    for (const id of [slow.id, fast.id]) await node.api('DELETE', `/api/webhooks/endpoints/${id}`);
  }, 30_000);

  it('a restart in the middle loses nothing and sends nothing already acknowledged again; delivery re-checks the policy', async () => {
    // The receiver takes 300 ms per event, two at a time: when Warbler stops, two are in flight and most are still in the outbox.
    const url = receiver.on('/restart', () => ({ status: 200, delayMs: 300 }));
    const { body: { endpoint, secret } } = await node.api('POST', '/api/webhooks/endpoints', { url, event_types: ['conversation.created'] });
    const emit = (i: number) => node.warbler.events.emit({ type: 'conversation.created', appId: 'default', data: { conversation_id: `cnv_${i}` } });
    for (let i = 0; i < 10; i++) await emit(i);
    await receiver.until('/restart', (rs) => rs.length >= 2);
    await node.close(); // the two in flight finish and are recorded as delivered; the rest stay in the outbox
    const beforeRestart = receiver.at('/restart').filter((r) => r.answered === 200).length;
    expect(beforeRestart).toBeGreaterThanOrEqual(2);
    expect(beforeRestart).toBeLessThan(10);

    await node.start(allowed);
    await receiver.until('/restart', (rs) => new Set(rs.filter((r) => r.answered === 200).map((r) => r.headers['warbler-webhook-id'])).size === 10);
    await new Promise((r) => setTimeout(r, 700)); // and nothing more comes
    const acknowledged = receiver.at('/restart').filter((r) => r.answered === 200);
    expect(acknowledged).toHaveLength(10); // each event once: none lost, none acknowledged before the restart sent again
    const conversations = await Promise.all(acknowledged.map(async (r) => (await verified(node, secret, r)).data.conversation_id));
    expect(new Set(conversations).size).toBe(10);
    const log = (await node.api('GET', `/api/webhooks/endpoints/${endpoint.id}/deliveries`)).body.deliveries;
    // (An attempt may time out on a loaded machine and be retried; what was acknowledged is never sent again.)
    expect(log.map((d: { status: string }) => d.status)).toEqual(Array(10).fill('delivered'));

    // Restarted with a policy that no longer allows the receiver: the stored URL is refused when delivering, and nothing reaches it.
    await node.close();
    const strict = await outboundConfig(`${kind}-strict`, []);
    await node.start(strict);
    const before = receiver.at('/restart').length;
    await emit(99);
    let last: any;
    for (let i = 0; i < 100 && !last?.log?.length; i++) {
      last = (await node.api('GET', `/api/webhooks/endpoints/${endpoint.id}/deliveries?limit=1`)).body.deliveries[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last.log[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/refused by the outbound policy.*plain http|loopback/) });
    expect(receiver.at('/restart')).toHaveLength(before);
    await node.close();
    await node.start(allowed);
    await node.api('DELETE', `/api/webhooks/endpoints/${endpoint.id}`);
  }, 60_000);

  it.skipIf(kind !== 'postgres')('two nodes on one database deliver each event once between them', async () => {
    const other = new Node(kind, TEST_ENV, { url: node.databaseUrl! });
    other.secret = node.secret;
    await other.start(allowed);
    // A node started on a fresh data dir gives the default app a new secret (it keeps it in that dir): take one both know.
    node.secret = other.secret = await node.warbler.apps.rotateSecret('default');
    try {
      const url = receiver.on('/two-nodes', () => ({ status: 200, delayMs: 100 }));
      const { body: { endpoint } } = await node.api('POST', '/api/webhooks/endpoints', { url, event_types: ['conversation.resolved'] });
      // Half the events are written on each node; both deliverers poll the one outbox, two at a time each.
      for (let i = 0; i < 30; i++) {
        const on = i % 2 === 0 ? node : other;
        await on.warbler.events.emit({ type: 'conversation.resolved', appId: 'default', data: { conversation_id: `cnv_${i}`, outcome: 'resolved_by_ai' } });
      }
      await receiver.until('/two-nodes', (rs) => rs.filter((r) => r.answered === 200).length >= 30);
      await new Promise((r) => setTimeout(r, 700));
      const ids = receiver.at('/two-nodes').map((r) => r.headers['warbler-webhook-id']);
      expect(ids).toHaveLength(30);
      expect(new Set(ids).size).toBe(30);
      await node.api('DELETE', `/api/webhooks/endpoints/${endpoint.id}`);
    } finally {
      await other.close();
      await other.destroy();
    }
  }, 60_000);
});
