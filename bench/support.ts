// Support at load: SUPPORT_VISITORS (2,000) widget visitors on one node, each
// with a WebSocket open at once, ask a question; the agent (gpt-4o-mini routed
// to the upstream fixture) streams the answer. SUPPORT_HANDOFF_PCT (10) % of
// them then press "talk to a person"; SUPPORT_STAFF (20) support users, each
// on their own socket, take those from the `support` frames: claim, reply,
// resolve. Every other visitor marks their answer solved. At the end every
// conversation is read back as the app: the right status and outcome, the
// person's reply seen by the visitor, exactly one AI answer each (the AI is
// silent once a person is asked for), nothing failed.
//
// The visitors go through the widget's own API, as the widget does: POST
// /api/widget/session (from an allowed Origin) for a token and a support
// conversation, the socket's `send`, the support routes for handoff and
// resolve. The comparison, in the same run and on the same server: the same
// number of users with the same question, sent on the same schedule to the
// same agent in direct conversations (no support layer). The figure is the
// time from a visitor's send to the first streamed token (`message.delta`)
// on their socket, p50/p99, and the ratio support / direct.
//
// Quick mode: SUPPORT_VISITORS=200 SUPPORT_STAFF=5 npm run bench:support
// Progress goes to stderr; the last stdout line is one JSON object.

import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { replyText, startFixture, type FixtureProcess } from './lib/fixture.ts';
import { waitForQuiet } from './lib/proc.ts';
import { Latency } from './lib/stats.ts';
import { ensureFdLimit, envNumber, log, mapLimit, round, sleep } from './lib/util.ts';
import { api, createApp, pickId, startWarbler, type WarblerProcess } from './lib/warbler.ts';

const VISITORS = envNumber('SUPPORT_VISITORS', 2_000);
const STAFF = Math.max(1, envNumber('SUPPORT_STAFF', 20));
const HANDOFF_PCT = envNumber('SUPPORT_HANDOFF_PCT', 10);
const WORDS = envNumber('SUPPORT_REPLY_WORDS', 12);
const INTERVAL_MS = envNumber('SUPPORT_INTERVAL_MS', 40);
const TTFT_MS = envNumber('SUPPORT_TTFT_MS', 200);
/** Sends are spread evenly over this window (visitors do not all press Enter in the same millisecond). */
const RAMP_MS = envNumber('SUPPORT_RAMP_MS', 10_000);
const TIMEOUT_SECONDS = envNumber('SUPPORT_TIMEOUT_SECONDS', 300);
const WARMUP = envNumber('SUPPORT_WARMUP', 50);

const FIXTURE_KEY = 'sk-bench-fixture';
const ORIGIN = 'https://shop.example';
const QUESTION = 'Hi, where is my parcel? The tracking page has not changed since yesterday.';
const wallNow = () => performance.timeOrigin + performance.now();

type Frame =
  | { type: 'ready' }
  | { type: 'message' | 'message.updated'; message: WireMessage }
  | { type: 'message.delta'; message_id: string }
  | { type: 'ack'; id: string; message: WireMessage }
  | { type: 'error'; id?: string; code: string; message: string }
  | { type: 'support'; event: string; conversation: { conversation_id: string; status: string } }
  | { type: string };

interface WireMessage {
  id: string;
  conversation_id: string;
  sender_id: string;
  type: string;
  state: string;
}

/** One raw socket of a user, as the SDK holds it. */
class Socket {
  ws!: WebSocket;
  closedUnexpectedly = false;
  private closing = false;
  private readonly acks = new Map<string, (f: Frame) => void>();

  constructor(
    private readonly token: string,
    private readonly onFrame: (f: Frame, at: number) => void,
  ) {}

  connect(url: string): Promise<void> {
    this.ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${encodeURIComponent(this.token)}`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`/ws answered ${res.statusCode}`)));
      this.ws.on('close', (code) => {
        reject(new Error(`closed ${code} before ready`));
        if (!this.closing) this.closedUnexpectedly = true;
      });
      this.ws.on('message', (data) => {
        const at = wallNow();
        const f = JSON.parse(data.toString()) as Frame;
        if (f.type === 'ready') {
          this.ws.off('error', reject);
          this.ws.on('error', () => {});
          resolve();
          return;
        }
        const id = (f as { id?: string }).id;
        if ((f.type === 'ack' || f.type === 'error') && id && this.acks.has(id)) {
          this.acks.get(id)!(f);
          this.acks.delete(id);
        }
        this.onFrame(f, at);
      });
    });
  }

  /** Sends a text message; resolves with the ack (or the error frame). */
  send(conversationId: string, id: string, text: string): Promise<Frame> {
    const acked = new Promise<Frame>((resolve) => this.acks.set(id, resolve));
    this.ws.send(JSON.stringify({ type: 'send', id, conversation_id: conversationId, client_msg_id: id, content: { text } }));
    return acked;
  }

  close(): void {
    this.closing = true;
    this.ws?.terminate();
  }
}

/** What one phase (direct or support) saw. */
class Tally {
  firstToken = new Latency();
  /** Send → the server's ack (the message stored). */
  ack = new Latency();
  /** Server CPU time over the phase, ms: contention on a shared machine moves it less than latency. */
  serverCpuMs = 0;
  completed = 0;
  failed = 0;
  refused = 0;
  failures: Record<string, number> = {};
  settled = 0;
}

/** A person asking the agent a question: a widget visitor, or (direct) a user in a direct conversation. */
class Asker {
  socket: Socket;
  askedAt = 0;
  replyId: string | undefined;
  firstTokenAt: number | undefined;
  state: 'idle' | 'asked' | 'streaming' | 'complete' | 'failed' = 'idle';
  /** Text messages from the agent (not system notices) seen on the socket. */
  aiAnswers = new Set<string>();
  /** Messages from a person other than the visitor. */
  staffMessages = 0;
  tally!: Tally;
  onSettled: () => void = () => {};

  constructor(
    readonly index: number,
    readonly userId: string,
    readonly token: string,
    readonly conversationId: string,
    readonly agentId: string,
  ) {
    this.socket = new Socket(token, (f, at) => this.frame(f, at));
  }

  ask(tally: Tally): void {
    this.tally = tally;
    this.state = 'asked';
    this.askedAt = wallNow();
    void this.socket.send(this.conversationId, `q-${this.index}`, QUESTION).then((f) => {
      if (f.type === 'ack') this.tally.ack.recordMs(wallNow() - this.askedAt);
      if (f.type === 'error' && this.state === 'asked') {
        const code = (f as { code: string }).code;
        this.tally.refused++;
        this.tally.failures[code] = (this.tally.failures[code] ?? 0) + 1;
        this.settle('failed');
      }
    });
  }

  private frame(f: Frame, at: number): void {
    if (f.type === 'message' || f.type === 'message.updated') {
      const m = (f as { message: WireMessage }).message;
      if (m.conversation_id !== this.conversationId) return;
      if (m.sender_id === this.agentId && m.type === 'text') {
        this.aiAnswers.add(m.id);
        if (this.state === 'asked' || this.state === 'streaming') {
          this.replyId = m.id;
          if (m.state === 'streaming') this.state = 'streaming';
          else if (m.state === 'complete' || m.state === 'failed') this.settle(m.state);
        }
      } else if (f.type === 'message' && m.sender_id !== this.agentId && m.sender_id !== this.userId && m.type === 'text') {
        this.staffMessages++;
      }
    } else if (f.type === 'message.delta') {
      const d = f as { message_id: string };
      if (this.firstTokenAt === undefined && (this.state === 'asked' || this.state === 'streaming')) {
        if (this.replyId !== undefined && d.message_id !== this.replyId) return;
        this.firstTokenAt = at;
        this.tally.firstToken.recordMs(at - this.askedAt);
      }
    }
  }

  private settle(state: 'complete' | 'failed'): void {
    if (this.state === 'complete' || this.state === 'failed') return;
    this.state = state;
    if (state === 'complete') this.tally.completed++;
    else this.tally.failed++;
    this.tally.settled++;
    this.onSettled();
  }
}

// ---------------------------------------------------------------- setup

interface World {
  server: WarblerProcess;
  secret: string;
  appId: string;
  agentId: string;
}

async function world(server: WarblerProcess): Promise<World> {
  const { appId, secret } = await createApp(server, `support-${Date.now()}`);
  const agentId = pickId(
    await api(server.url, 'POST', '/api/agents', secret, { id: 'bench_rep', name: 'Acme support', model: 'gpt-4o-mini', system_prompt: 'You are the support assistant of Acme Home.' }),
    'agent',
  );
  await api(server.url, 'PUT', '/api/widget/settings', secret, { allowed_origins: [ORIGIN], agent_id: agentId });
  return { server, secret, appId, agentId };
}

async function directAskers(w: World, count: number, prefix: string): Promise<Asker[]> {
  const base = w.server.url;
  return mapLimit(Array.from({ length: count }, (_, i) => i), 16, async (index) => {
    const userId = pickId(await api(base, 'POST', '/api/users', w.secret, { id: `${prefix}${index}`, name: `Direct user ${index}` }), 'user');
    const { token } = await api<{ token: string }>(base, 'POST', `/api/users/${encodeURIComponent(userId)}/tokens`, w.secret, { ttl_seconds: 7200 });
    const conversationId = pickId(
      await api(base, 'POST', '/api/conversations', w.secret, { kind: 'direct', member_ids: [userId, w.agentId], created_by: userId }),
      'conversation',
    );
    return new Asker(index, userId, token, conversationId, w.agentId);
  });
}

/** Visitors as the widget makes them: a session from an allowed origin, half of them in Chinese. */
async function widgetVisitors(w: World, count: number): Promise<Asker[]> {
  return mapLimit(Array.from({ length: count }, (_, i) => i), 16, async (index) => {
    // No credential: the page has none, only its Origin.
    const res = await fetch(`${w.server.url}/api/widget/session`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN },
      body: JSON.stringify({ app_id: w.appId, locale: index % 2 ? 'zh-CN' : 'en' }),
    });
    if (!res.ok) throw new Error(`widget session: ${res.status} ${(await res.text()).slice(0, 300)}`);
    const session = (await res.json()) as { user_id: string; token: string; conversation_id: string; agent: { id: string } };
    return new Asker(index, session.user_id, session.token, session.conversation_id, session.agent.id);
  });
}

// ---------------------------------------------------------------- the support people

interface StaffMember {
  id: string;
  socket: Socket;
  queue: string[];
  busy: boolean;
}

class Team {
  readonly members: StaffMember[] = [];
  private readonly seen = new Set<string>();
  private next = 0;
  handled = 0;
  claimConflicts = 0;
  errors: string[] = [];
  /** Handoff frame seen → the claim answered. */
  pickup = new Latency();
  private readonly handoffSeenAt = new Map<string, number>();

  constructor(private readonly w: World) {}

  async join(count: number): Promise<void> {
    const base = this.w.server.url;
    for (let i = 0; i < count; i++) {
      const id = pickId(await api(base, 'POST', '/api/users', this.w.secret, { id: `bench_staff${i}`, name: `Agent ${i}` }), 'user');
      await api(base, 'PUT', `/api/support/staff/${id}`, this.w.secret);
      const { token } = await api<{ token: string }>(base, 'POST', `/api/users/${id}/tokens`, this.w.secret, { ttl_seconds: 7200 });
      const member: StaffMember = { id, socket: undefined as unknown as Socket, queue: [], busy: false };
      member.socket = new Socket(token, (f, at) => this.frame(f, at));
      await member.socket.connect(base);
      (member as StaffMember & { token: string }).token = token;
      this.members.push(member);
    }
  }

  /** Every member's socket gets every support frame; each handoff goes to one member, in turn. */
  private frame(f: Frame, at: number): void {
    if (f.type !== 'support') return;
    const s = f as { event: string; conversation: { conversation_id: string; status: string } };
    if (s.event !== 'handoff' || s.conversation.status !== 'pending_human' || this.seen.has(s.conversation.conversation_id)) return;
    this.seen.add(s.conversation.conversation_id);
    this.handoffSeenAt.set(s.conversation.conversation_id, at);
    const member = this.members[this.next++ % this.members.length]!;
    member.queue.push(s.conversation.conversation_id);
    void this.work(member);
  }

  private async work(member: StaffMember): Promise<void> {
    if (member.busy) return;
    member.busy = true;
    const token = (member as StaffMember & { token: string }).token;
    const base = this.w.server.url;
    while (member.queue.length > 0) {
      const conversationId = member.queue.shift()!;
      try {
        await api(base, 'POST', `/api/support/conversations/${conversationId}/claim`, token);
        this.pickup.recordMs(wallNow() - this.handoffSeenAt.get(conversationId)!);
        const ack = await member.socket.send(conversationId, `staff-${conversationId}`, 'Hello, I am looking at your parcel now: it is at the local depot and arrives tomorrow.');
        if (ack.type !== 'ack') throw new Error(`reply refused: ${JSON.stringify(ack).slice(0, 200)}`);
        await api(base, 'POST', `/api/support/conversations/${conversationId}/resolve`, token, {});
        this.handled++;
      } catch (err) {
        if (String(err).includes(': 409')) this.claimConflicts++;
        this.errors.push(String(err).slice(0, 200));
      }
    }
    member.busy = false;
  }
}

// ---------------------------------------------------------------- phases

/** Sends every asker's question on an even schedule (RAMP_MS for all the visitors); resolves when all settled or the timeout passed. */
async function phase(server: WarblerProcess, askers: Asker[], tally: Tally): Promise<boolean> {
  let settled = 0;
  const done = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), TIMEOUT_SECONDS * 1000);
    for (const a of askers) {
      a.onSettled = () => {
        if (++settled >= askers.length) {
          clearTimeout(timer);
          resolve(true);
        }
      };
    }
  });
  const start = performance.now();
  const cpu0 = server.cpuMs();
  for (let i = 0; i < askers.length; i++) {
    const due = start + (RAMP_MS * i) / VISITORS;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    askers[i]!.ask(tally);
  }
  const ok = await done;
  tally.serverCpuMs += server.cpuMs() - cpu0;
  return ok;
}

const isHandoff = (a: Asker) => HANDOFF_PCT > 0 && a.index % Math.round(100 / HANDOFF_PCT) === 0;

interface EndStates {
  right: number;
  wrong: number;
  examples: string[];
  by_outcome: Record<string, number>;
}

/** Reads every conversation back as the app, and checks what each visitor saw. */
async function checkEnd(w: World, visitors: Asker[]): Promise<EndStates> {
  const out: EndStates = { right: 0, wrong: 0, examples: [], by_outcome: {} };
  await mapLimit(visitors, 16, async (v) => {
    const s = await api<{ status: string; outcome: string | null; human_messages: number; handoff_reason: string | null }>(
      w.server.url, 'GET', `/api/support/conversations/${v.conversationId}`, w.secret,
    );
    const key = `${s.status}/${s.outcome}`;
    out.by_outcome[key] = (out.by_outcome[key] ?? 0) + 1;
    const problems: string[] = [];
    if (v.state !== 'complete') problems.push(`AI answer ${v.state}`);
    if (v.aiAnswers.size !== 1) problems.push(`${v.aiAnswers.size} AI answers`);
    if (isHandoff(v)) {
      if (s.status !== 'resolved' || s.outcome !== 'resolved_by_human' || s.handoff_reason !== 'customer_button' || s.human_messages !== 1) problems.push(`state ${JSON.stringify(s).slice(0, 160)}`);
      if (v.staffMessages !== 1) problems.push(`saw ${v.staffMessages} staff replies`);
    } else if (s.status !== 'resolved' || s.outcome !== 'resolved_by_ai') problems.push(`state ${key}`);
    if (problems.length === 0) out.right++;
    else {
      out.wrong++;
      if (out.examples.length < 5) out.examples.push(`${v.conversationId}: ${problems.join('; ')}`);
    }
  });
  return out;
}

function summary(t: Tally) {
  return {
    first_token_p50_ms: t.firstToken.percentileMs(50),
    first_token_p99_ms: t.firstToken.percentileMs(99),
    first_token_max_ms: t.firstToken.percentileMs(100),
    ack_p50_ms: t.ack.percentileMs(50),
    ack_p99_ms: t.ack.percentileMs(99),
    server_cpu_ms_per_question: round(t.serverCpuMs / Math.max(1, t.settled), 2),
    completed: t.completed,
    failed: t.failed,
    refused: t.refused,
    failures: t.failures,
  };
}

async function main(): Promise<void> {
  ensureFdLimit(VISITORS * 6 + 2048);
  log(
    `support: ${VISITORS} widget visitors (and as many direct users), ${HANDOFF_PCT}% handed to ${STAFF} support users; ` +
      `replies of ${WORDS} chunks every ${INTERVAL_MS} ms after ${TTFT_MS} ms; sends spread over ${RAMP_MS} ms`,
  );
  const fixture: FixtureProcess = await startFixture({ apiKey: FIXTURE_KEY, ttftMs: TTFT_MS, intervalMs: INTERVAL_MS, text: replyText(WORDS) });
  await waitForQuiet();
  const server = await startWarbler({
    env: {
      OPENAI_API_KEY: FIXTURE_KEY, OPENAI_BASE_URL: fixture.baseUrl,
      // Every visitor comes from 127.0.0.1 here; on the web each has their own address.
      WARBLER_WIDGET_SESSIONS_PER_IP: String(VISITORS * 4), WARBLER_WS_HANDSHAKE_RATE: '100000', WARBLER_WS_HANDSHAKE_BURST: '100000',
      WARBLER_LOG_LEVEL: 'warn',
    },
  });
  const sockets: Socket[] = [];
  let result: Record<string, unknown>;
  try {
    const w = await world(server);
    let t = performance.now();
    const team = new Team(w);
    await team.join(STAFF);
    const warm = await directAskers(w, WARMUP, 'bench_warm');
    const direct = await directAskers(w, VISITORS, 'bench_direct');
    log(`direct: ${VISITORS} users and conversations in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    const visitors = await widgetVisitors(w, VISITORS);
    log(`support: ${VISITORS} widget sessions in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    for (const a of [...warm, ...direct, ...visitors]) sockets.push(a.socket);
    for (const m of team.members) sockets.push(m.socket);
    await mapLimit([...warm, ...direct, ...visitors], 50, (a) => a.socket.connect(server.url));
    log(`${sockets.length} sockets open, server rss ${Math.round(server.rssKb() / 1024)} MB`);

    if (warm.length) {
      const ok = await phase(server, warm, new Tally());
      log(`warm-up: ${warm.length} ${ok ? 'done' : 'TIMED OUT'}`);
      await sleep(1_000);
    }

    // Direct, support, support, direct (half of each side at a time, at the same send rate): whatever drifts over the
    // run on this shared machine (its load, the server warming up, tables growing) weighs on both sides alike.
    const directTally = new Tally();
    const supportTally = new Tally();
    const half = Math.ceil(VISITORS / 2);
    const seconds = { direct: 0, support: 0 };
    let allOk = true;
    const run = async (side: 'direct' | 'support', askers: Asker[]) => {
      await waitForQuiet();
      const tally = side === 'direct' ? directTally : supportTally;
      const at = performance.now();
      const ok = await phase(server, askers, tally);
      allOk &&= ok;
      seconds[side] += (performance.now() - at) / 1000;
      log(`${side}: ${askers.length} asked, ${ok ? 'all settled' : 'TIMED OUT'}; so far first token p50 ${tally.firstToken.percentileMs(50)} ms, p99 ${tally.firstToken.percentileMs(99)} ms`);
      await sleep(2_000);
    };
    await run('direct', direct.slice(0, half));
    await run('support', visitors.slice(0, half));
    await run('support', visitors.slice(half));
    await run('direct', direct.slice(half));
    const directSeconds = seconds.direct;
    const supportSeconds = seconds.support;
    const followUps: Promise<unknown>[] = [];
    let followUpErrors = 0;
    // Then the widget's "talk to a person", or the visitor's "solved": after the measured window, so both sides of the
    // comparison carry the same traffic (a question and its answer) while they are measured.
    for (const v of visitors) {
      if (v.state !== 'complete') continue;
      const path = `/api/support/conversations/${v.conversationId}/${isHandoff(v) ? 'handoff' : 'resolve'}`;
      followUps.push(api(server.url, 'POST', path, v.token, {}).catch(() => followUpErrors++));
      if (followUps.length % 32 === 0) await Promise.all(followUps.slice(-32));
    }
    log(`direct: ${directTally.completed}/${VISITORS} complete; support: ${supportTally.completed}/${VISITORS} complete${allOk ? '' : ' (TIMED OUT)'}`);
    await Promise.all(followUps);
    const handoffs = visitors.filter(isHandoff).length;
    const deadline = Date.now() + TIMEOUT_SECONDS * 1000;
    while (team.handled + team.errors.length < handoffs && Date.now() < deadline) await sleep(50);
    // The person's reply reaches the visitor's socket a moment after their ack.
    while (visitors.some((v) => isHandoff(v) && v.staffMessages === 0) && Date.now() < deadline) await sleep(50);
    log(`support: ${team.handled}/${handoffs} handed-off conversations claimed, answered and resolved by ${STAFF} people (${team.errors.length} errors)`);
    const end = await checkEnd(w, visitors);
    log(`end states: ${end.right} right, ${end.wrong} wrong ${JSON.stringify(end.by_outcome)}${end.examples.length ? ` e.g. ${end.examples.join(' | ')}` : ''}`);

    const d = summary(directTally);
    const s = summary(supportTally);
    const ratio = (a: number | null, b: number | null) => (a !== null && b ? round(a / b, 2) : null);
    const closed = sockets.filter((x) => x.closedUnexpectedly).length;
    result = {
      bench: 'support',
      visitors: VISITORS,
      staff: STAFF,
      handoffs,
      direct: { ...d, seconds: round(directSeconds, 1) },
      support: { ...s, seconds: round(supportSeconds, 1), follow_up_errors: followUpErrors },
      first_token_p99_ratio: ratio(s.first_token_p99_ms, d.first_token_p99_ms),
      first_token_p50_ratio: ratio(s.first_token_p50_ms, d.first_token_p50_ms),
      people: { resolved: team.handled, claim_conflicts: team.claimConflicts, errors: team.errors.slice(0, 5), pickup_p50_ms: team.pickup.percentileMs(50), pickup_p99_ms: team.pickup.percentileMs(99) },
      end_states: end,
      all_right: end.wrong === 0 && team.handled === handoffs && followUpErrors === 0 && closed === 0,
      sockets_closed_by_server: closed,
      server_rss_mb: round(server.rssKb() / 1024, 1),
      setup: { reply_chunks: WORDS, interval_ms: INTERVAL_MS, ttft_ms: TTFT_MS, ramp_ms: RAMP_MS, cores: availableParallelism(), store: 'sqlite' },
    };
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
    await fixture.stop();
  }
  // Exit explicitly: keep-alive fetch sockets would otherwise hold the process.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

await main();
