// Property-based fuzzing of the WebSocket protocol (issue 10, "Build also"):
// random and mutated frames, binary frames and oversized ones, each run on a
// fresh socket. Every frame is answered (or knowingly not: typing), refusals
// never say `internal`, a run whose frames were all refused changes nothing,
// a socket closed for abuse closes with 4009 and a reason (never 1006/1009/1011),
// and a user of another tenant still gets a new socket and a pong.
import { ClientFrame, MAX_CLIENT_FRAME_BYTES } from '@warbler/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, storeKinds, type TestServer } from '../harness.ts';
import { applyMutation, checkProperty, FuzzFigures, fuzzRuns, hostileKey, hostileValue, longRun, mutation, short, toJsonText } from './arbitraries.ts';
import { parseBoundedJson } from '../../src/json-shape.ts';
import { buildWorld, snapshotDiff, type Person, type World } from './world.ts';

const RUNS = 100;
const FLOOD_RUNS = 10;
const timeoutFor = (runs: number) => Math.max(90_000, fuzzRuns(runs) * 1_500);
/** Request frames a socket may get wrong before it is closed (session.ts). */
const MAX_VIOLATIONS = 20;
const REPLY_WITHIN_MS = 5_000;
/** The largest message the server's socket reads at all (maxPayload in realtime/gateway.ts); a bigger one closes it with 4009. */
const MAX_SOCKET_READ_BYTES = 1024 * 1024;

type Frame = Record<string, unknown> & { type?: unknown; id?: unknown };
/** What goes on the wire in one message. */
type Payload = { kind: 'text'; text: string; label: string } | { kind: 'binary'; bytes: Uint8Array; label: string };

/** A socket that keeps every frame and how it closed. */
class FuzzSocket {
  readonly frames: Array<Frame> = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => {});
  }

  static open(wsUrl: string, token: string): Promise<FuzzSocket> {
    const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
    const socket = new FuzzSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      socket.until(() => socket.frames.some((f) => f.type === 'ready') || socket.closed !== undefined)
        .then(() => (socket.closed ? reject(new Error(`closed before ready: ${JSON.stringify(socket.closed)} ${short(socket.frames)}`)) : resolve(socket)), reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `done()` holds, checked on every frame and on close; a timeout is a hang. */
  until(done: () => boolean, what = 'a frame'): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${REPLY_WITHIN_MS} ms; last frames: ${short(this.frames.slice(-3))}`)), REPLY_WITHIN_MS);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  send(payload: Payload): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (payload.kind === 'text') this.ws.send(payload.text);
    else this.ws.send(payload.bytes, { binary: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await this.until(() => this.closed !== undefined, 'close');
  }
}

/** How the server must treat a payload, judged by the protocol's own schema. */
function expectation(payload: Payload): { refused: true; codes: string[]; id: string | undefined } | { refused: false; frame: ClientFrame; id: string | undefined } {
  if (payload.kind === 'binary') return { refused: true, codes: ['bad_request', 'rate_limited'], id: undefined };
  if (Buffer.byteLength(payload.text) > MAX_CLIENT_FRAME_BYTES) return { refused: true, codes: ['payload_too_large', 'rate_limited'], id: undefined };
  const parsed = parseBoundedJson(payload.text);
  const raw = (parsed.ok ? parsed.value : parsed.value) as Frame | undefined;
  const id = typeof raw?.id === 'string' && raw.id.length <= 64 && !raw.id.includes('\u0000') ? raw.id : undefined;
  if (!parsed.ok) return { refused: true, codes: ['bad_request', 'rate_limited'], id };
  const valid = ClientFrame.safeParse(parsed.value);
  if (!valid.success) return { refused: true, codes: ['bad_request', 'unknown_frame', 'rate_limited'], id };
  return { refused: false, frame: valid.data, id: 'id' in valid.data ? valid.data.id : undefined };
}

describe.each(storeKinds())('WebSocket fuzz on %s', (kind) => {
  let server: TestServer;
  let world: World;
  let members: Person[];
  const figures = new FuzzFigures();
  let marks = 0;
  let turn = 0;

  beforeAll(async () => {
    // Every run opens sockets; the per-address handshake limit is for attackers, not for this test.
    server = await startServer(kind, { WARBLER_WS_HANDSHAKE_RATE: '100000', WARBLER_WS_HANDSHAKE_BURST: '100000' });
    world = await buildWorld(server);
    // Budgets are per user: runs take turns among many members, so a run is rarely refused for the previous one's spending.
    members = [world.a.alice, world.a.bob];
    for (let i = 0; i < 16; i++) {
      const id = `fw-${i}`;
      expect((await server.api('POST', '/api/users', { id, name: `Member ${i}` })).status).toBe(201);
      const token = (await server.api('POST', `/api/users/${id}/tokens`, {})).body.token as string;
      members.push({ id, token });
    }
    const added = await server.api('POST', `/api/conversations/${world.a.conversationIds[0]}/members`, { user_ids: members.slice(2).map((m) => m.id) });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
  });
  afterAll(async () => {
    if (longRun()) console.log(figures.summary(`WebSocket fuzz on ${kind}`));
    await server?.stop();
  });

  async function snapshot(user: Person): Promise<Record<string, unknown>> {
    const read = async (appId: string, path: string) => {
      const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.masterKey}`, 'x-warbler-app': appId }, signal: AbortSignal.timeout(15_000) });
      return res.status === 200 ? res.json() : { status: res.status };
    };
    const [g, d, other, inbox, gMembers] = await Promise.all([
      read(world.a.appId, `/api/conversations/${world.a.conversationIds[0]}/messages?limit=200`),
      read(world.a.appId, `/api/conversations/${world.a.conversationIds[1]}/messages?limit=200`),
      read(world.b.appId, `/api/conversations/${world.b.conversationIds[0]}/messages?limit=200`),
      read(world.a.appId, `/api/conversations?user_id=${user.id}&limit=200`),
      read(world.a.appId, `/api/conversations/${world.a.conversationIds[0]}/members`),
    ]);
    return { g, d, other, inbox, gMembers };
  }

  const frameIds = fc.stringMatching(/^f[a-z0-9]{1,8}$/);
  const text = fc.string({ minLength: 1, maxLength: 40 });
  function validFrame(): fc.Arbitrary<Frame> {
    const conv = fc.constantFrom(...world.a.conversationIds, ...world.b.conversationIds, 'cnv_missing');
    const msg = fc.constantFrom(...world.a.messageIds, world.a.agentReplyId, ...world.b.messageIds, 'msg_missing');
    const seq = fc.integer({ min: 0, max: 20 });
    return fc.oneof(
      fc.record({ type: fc.constant('send'), id: frameIds, conversation_id: conv, client_msg_id: frameIds, msg_type: fc.constant('text'), content: fc.record({ text }) }, { requiredKeys: ['type', 'id', 'conversation_id', 'client_msg_id', 'content'] }),
      fc.record({ type: fc.constant('sync'), id: frameIds, cursors: fc.dictionary(fc.constantFrom(...world.a.conversationIds), seq), since: fc.nat(), limit: fc.integer({ min: 1, max: 500 }) }, { requiredKeys: ['type', 'id'] }),
      fc.record({ type: fc.constant('history'), id: frameIds, conversation_id: conv, before: seq, after: seq, limit: fc.integer({ min: 1, max: 200 }) }, { requiredKeys: ['type', 'id', 'conversation_id'] }),
      fc.record({ type: fc.constantFrom('read', 'delivered'), id: frameIds, conversation_id: conv, seq: fc.integer({ min: 1, max: 20 }) }, { requiredKeys: ['type', 'conversation_id', 'seq'] }),
      fc.record({ type: fc.constant('typing'), conversation_id: conv }),
      fc.record({ type: fc.constant('edit'), id: frameIds, message_id: msg, content: fc.record({ text }) }),
      fc.record({ type: fc.constantFrom('recall', 'stop'), id: frameIds, message_id: msg }),
      fc.record({ type: fc.constant('ping'), id: frameIds }, { requiredKeys: ['type'] }),
    );
  }

  function payload(): fc.Arbitrary<Payload> {
    const ids = [...world.b.conversationIds, ...world.b.messageIds, world.b.victim.id, world.a.carol.id];
    const textPayload = (value: unknown): Payload => {
      const t = toJsonText(value);
      return { kind: 'text', text: t, label: short(t, 300) };
    };
    return fc.oneof(
      { weight: 2, arbitrary: validFrame().map(textPayload) },
      { weight: 6, arbitrary: fc.tuple(validFrame(), fc.array(fc.tuple(mutation(ids), fc.nat()), { minLength: 1, maxLength: 2 })).map(([f, steps]) => textPayload(steps.reduce<unknown>((v, [m, pick]) => applyMutation(v, m, pick), f))) },
      { weight: 1, arbitrary: fc.tuple(validFrame(), hostileKey, hostileValue).map(([f, k, v]) => textPayload({ ...f, [k]: v })) },
      { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 3 }).map(textPayload), fc.string({ maxLength: 60 }).map((t): Payload => ({ kind: 'text', text: t, label: short(t) }))) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((bytes): Payload => ({ kind: 'binary', bytes, label: `${bytes.length} binary bytes` })) },
      { weight: 1, arbitrary: fc.constantFrom(MAX_CLIENT_FRAME_BYTES + 1, 200_000, 1_000_000, 1_100_000).map((n): Payload => {
        const t = JSON.stringify({ type: 'send', id: 'big', conversation_id: world.a.conversationIds[0], client_msg_id: 'big', content: { text: 'x'.repeat(n) } });
        return { kind: 'text', text: t, label: `${t.length}-byte send` };
      }) },
    );
  }

  /** Sends one payload and a marker ping behind it; checks the server's answer to the payload, and says whether it may have changed anything. */
  async function exchange(socket: FuzzSocket, p: Payload): Promise<'changed' | 'unchanged' | 'closed'> {
    const expected = expectation(p);
    const mark = `§mark-${++marks}`;
    const from = socket.frames.length;
    socket.send(p);
    socket.send({ kind: 'text', text: JSON.stringify({ type: 'ping', id: mark }), label: 'mark' });
    const markReply = () => socket.frames.slice(from).find((f) => f.id === mark);
    await socket.until(() => markReply() !== undefined || socket.closed !== undefined, `reply to the ping after ${p.label}`);
    for (const f of socket.frames.slice(from)) {
      expect(f.type === 'error' && (f.code === 'internal' || f.code === 'unavailable'), `${p.label} → ${short(f)}`).toBe(false);
    }
    if (socket.closed) return 'closed';
    const before = socket.frames.slice(from, socket.frames.indexOf(markReply()!));
    if (expected.refused) {
      // Refused before any await in the session, so the error comes before the marker's pong.
      // Errors without an id may also be late answers to an earlier valid frame that had none: look for ours among them.
      const error = before.find((f) => f.type === 'error' && (f.id === expected.id || f.id === undefined) && expected.codes.includes(String(f.code)));
      if (markReply()!.type === 'error') return 'unchanged'; // Over budget: the marker itself was throttled; the payload may have been dropped unanswered.
      expect(error, `${p.label} should be refused with one of ${expected.codes.join(', ')}; got ${short(before)}`).toBeDefined();
      figures.record('refused', String(error!.code));
      return 'unchanged';
    }
    const { frame, id } = expected;
    if (frame.type === 'typing' || id === undefined) {
      figures.record('no reply', frame.type);
      return frame.type === 'typing' ? 'unchanged' : 'changed';
    }
    const replyOf = () => socket.frames.slice(from).find((f) => f.id === id && f.type !== undefined && f !== markReply());
    await socket.until(() => replyOf() !== undefined || socket.closed !== undefined, `reply to ${p.label}`);
    const reply = replyOf();
    if (!reply) return 'closed';
    expect(reply.type === 'error' && (reply.code === 'internal' || reply.code === 'unavailable'), `${p.label} → ${short(reply)}`).toBe(false);
    figures.record(reply.type === 'error' ? 'refused' : 'answered', reply.type === 'error' ? String(reply.code) : `${frame.type} ${String(reply.type)}`);
    return reply.type === 'error' || frame.type === 'ping' || frame.type === 'sync' || frame.type === 'history' ? 'unchanged' : 'changed';
  }

  /** Closed for abuse (too many bad frames, flooding, a frame over the 1 MiB the socket reads at all): 4009 with the reason. Never 1006, 1009 or 1011. */
  function expectPolicyClose(socket: FuzzSocket, payloads: Payload[]): void {
    const what = payloads.map((p) => p.label).join(' | ').slice(0, 400);
    expect(socket.closed, what).toBeDefined();
    expect(socket.closed!.code, `${what}: closed ${JSON.stringify(socket.closed)}`).toBe(4009);
    expect(socket.closed!.reason.length, `${what}: a 4009 close says why`).toBeGreaterThan(0);
  }

  /** A user of the other tenant gets a new socket and a pong, and their inbox over REST. */
  async function victimIsServed(): Promise<void> {
    const socket = await FuzzSocket.open(server.wsUrl, world.b.victim.token);
    socket.send({ kind: 'text', text: JSON.stringify({ type: 'ping', id: 'victim' }), label: 'victim ping' });
    await socket.until(() => socket.frames.some((f) => f.type === 'pong' && f.id === 'victim'), 'victim pong');
    await socket.close();
    expect((await server.api('GET', '/api/conversations', undefined, world.b.victim.token)).status).toBe(200);
  }

  async function run(payloads: Payload[]): Promise<void> {
    const user = members[turn++ % members.length]!;
    const before = await snapshot(user);
    const socket = await FuzzSocket.open(server.wsUrl, user.token);
    let changed = false;
    for (const p of payloads) {
      const outcome = await exchange(socket, p);
      if (outcome === 'changed') changed = true;
      if (outcome === 'closed') {
        expectPolicyClose(socket, payloads.slice(0, payloads.indexOf(p) + 1));
        figures.record('closed', String(socket.closed!.code));
        break;
      }
    }
    await socket.close();
    if (!changed) expect(snapshotDiff(before, await snapshot(user)), `refused frames changed state: ${payloads.map((p) => p.label).join(' | ')}`).toEqual([]);
    await victimIsServed();
  }

  it('random and mutated frames on fresh sockets: always answered, never internal, refusals change nothing, others served',
    () => checkProperty(`WS frames on ${kind}`, fc.array(payload(), { minLength: 1, maxLength: 6 }), run, RUNS), timeoutFor(RUNS));

  it('a socket that keeps sending invalid frames is closed with 4009 and a reason, and the server answers a new socket',
    () => checkProperty(`WS floods on ${kind}`, fc.array(payload().filter((p) => expectation(p).refused && (p.kind === 'binary' || Buffer.byteLength(p.text) <= MAX_SOCKET_READ_BYTES)), { minLength: MAX_VIOLATIONS + 1, maxLength: MAX_VIOLATIONS + 4 }), async (payloads) => {
      const user = members[turn++ % members.length]!;
      const socket = await FuzzSocket.open(server.wsUrl, user.token);
      for (const p of payloads) socket.send(p);
      await socket.until(() => socket.closed !== undefined, 'the close of a flooding socket');
      expectPolicyClose(socket, payloads);
      figures.record('closed', String(socket.closed!.code));
      expect(socket.frames.some((f) => f.type === 'error' && f.code === 'internal')).toBe(false);
      await victimIsServed();
    }, FLOOD_RUNS), timeoutFor(FLOOD_RUNS));
});
