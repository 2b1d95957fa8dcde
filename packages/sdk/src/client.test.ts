import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertOnceInOrder, clientFor, sleep, waitFor } from '../test/helpers.ts';
import { ScriptedPeer } from '../test/peer.ts';
import type { WarblerClient } from './client.ts';
import type { WarblerStorage } from './outbox.ts';

let peer: ScriptedPeer;
const clients: WarblerClient[] = [];

beforeEach(async () => {
  peer = await ScriptedPeer.start();
  peer.tokens.set('tok-alice', 'alice');
  peer.tokens.set('tok-bob', 'bob');
  peer.addConversation('c1', ['alice', 'bob']);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await peer.stop();
});

function setup(overrides: Parameters<typeof clientFor>[1] = {}) {
  const t = clientFor(peer, overrides);
  clients.push(t.client);
  return t;
}

describe('connecting', () => {
  it('opens after ready and a first sync, then emits live pushes', async () => {
    peer.post('c1', 'bob', 'before');
    const t = setup();
    await t.client.connect();
    expect(t.statuses.map((s) => s.status)).toEqual(['connecting', 'open']);
    expect(t.client.userId).toBe('alice');
    expect(peer.framesOf('sync')[0]).toMatchObject({ cursors: {} });
    // The first sync starts tracking from now: older history is the app's to page.
    expect(t.messages).toEqual([]);
    expect(t.client.cursors()).toEqual({ c1: 1 });

    peer.post('c1', 'bob', 'hello');
    await waitFor(() => t.messages.length === 1, 'the live message');
    expect(t.texts()).toEqual(['hello']);
  });
});

describe('reconnect', () => {
  it('backs off exponentially with jitter while the server is away, then resumes', async () => {
    const t = setup({ reconnect: { minDelayMs: 40, maxDelayMs: 400 } });
    await t.client.connect();
    peer.refuse = true;
    peer.dropAll();
    await waitFor(() => peer.handshakes.filter((h) => h.outcome === 503).length >= 4, 'four refused attempts');
    peer.refuse = false;
    await waitFor(() => t.client.status === 'open' && t.statuses.filter((s) => s.status === 'open').length === 2, 'reopen');

    const waits = t.statuses.filter((s) => s.status === 'reconnecting');
    expect(waits[0]).toMatchObject({ reason: 'connection_lost', attempt: 1 });
    expect(waits[1]).toMatchObject({ reason: 'connect_failed', attempt: 2 });
    // attempt n waits within [ceiling/2, ceiling], ceiling = min(max, min·2^(n-1)).
    waits.slice(0, 4).forEach((w, i) => {
      const ceiling = Math.min(400, 40 * 2 ** i);
      expect(w.delayMs).toBeGreaterThanOrEqual(ceiling / 2);
      expect(w.delayMs).toBeLessThanOrEqual(ceiling);
    });
    // And it really waited: the gaps between handshakes grow.
    const at = peer.handshakes.map((h) => h.at);
    const gaps = at.slice(1).map((v, i) => v - (at[i] as number));
    expect(gaps[1]).toBeGreaterThanOrEqual(35);
    expect(gaps[3]).toBeGreaterThanOrEqual(150);
  });

  it('comes back soon after a restart (1012), after the wait the bye asked for', async () => {
    const t = setup();
    await t.client.connect();
    peer.closeAll(1012, 'restarting', 100);
    await waitFor(() => t.statuses.some((s) => s.reason === 'restart'), 'restart status');
    const restart = t.statuses.find((s) => s.reason === 'restart');
    expect(restart).toMatchObject({ status: 'reconnecting', code: 1012 });
    expect(restart?.delayMs).toBeGreaterThanOrEqual(100);
    expect(restart?.delayMs).toBeLessThanOrEqual(120);
    await waitFor(() => t.statuses.filter((s) => s.status === 'open').length === 2, 'reopen');
  });

  it('backs off longer after a policy close (4009)', async () => {
    const t = setup({ reconnect: { minDelayMs: 20, maxDelayMs: 200 } });
    await t.client.connect();
    peer.closeAll(4009, 'too many bad frames');
    await waitFor(() => t.statuses.some((s) => s.reason === 'policy'), 'policy status');
    const policy = t.statuses.find((s) => s.reason === 'policy');
    // 16× the base delay, where an ordinary drop would wait 10–20 ms.
    expect(policy?.delayMs).toBeGreaterThanOrEqual(160);
  });

  it('reconnects and resumes after a slow-consumer close (4008)', async () => {
    const t = setup();
    await t.client.connect();
    peer.closeAll(4008, 'too slow');
    peer.post('c1', 'bob', 'missed while closed');
    await waitFor(() => t.messages.length === 1, 'the missed message');
    expect(t.statuses.find((s) => s.status === 'reconnecting')).toMatchObject({ reason: 'slow_consumer', code: 4008 });
    expect(t.texts()).toEqual(['missed while closed']);
  });

  it('close() stops reconnecting', async () => {
    const t = setup();
    await t.client.connect();
    t.client.close();
    expect(t.client.status).toBe('closed');
    await sleep(100);
    expect(peer.handshakes).toHaveLength(1);
    expect(t.statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'client' });
  });
});

describe('resume', () => {
  it('sends its cursors and since, and emits what it missed once, in order, paging with history', async () => {
    const t = setup({ syncLimit: 2 });
    await t.client.connect();
    const first = peer.post('c1', 'bob', 'm1');
    peer.post('c1', 'bob', 'm2');
    await waitFor(() => t.messages.length === 2, 'live messages');

    peer.refuse = true;
    peer.dropAll();
    for (let i = 3; i <= 7; i++) peer.post('c1', 'bob', `m${i}`);
    peer.edit(first.id, 'm1 (edited)');
    await sleep(60);
    peer.refuse = false;
    await waitFor(() => t.messages.length === 7 && t.client.status === 'open', 'the missed messages');

    const sync = peer.framesOf('sync').at(-1);
    expect(sync).toMatchObject({ cursors: { c1: 2 }, limit: 2 });
    expect(typeof sync?.since).toBe('number');
    // Two came with the sync; the rest were paged after the newest held.
    expect(peer.framesOf('history').map((f) => f.after)).toEqual([4]);
    expect(t.texts()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    assertOnceInOrder(t.messages);
    expect(t.updates.map((m) => m.content.text)).toEqual(['m1 (edited)']);

    // A second resume with nothing new emits nothing again.
    peer.dropAll();
    await waitFor(() => t.statuses.filter((s) => s.status === 'open').length === 3, 'third open');
    expect(peer.framesOf('sync').at(-1)).toMatchObject({ cursors: { c1: 7 } });
    expect(t.messages).toHaveLength(7);
    expect(t.updates).toHaveLength(1);
  });

  it('resumes from cursors saved by an earlier run', async () => {
    for (let i = 1; i <= 3; i++) peer.post('c1', 'bob', `m${i}`);
    const t = setup({ cursors: { c1: 1 } });
    await t.client.connect();
    expect(peer.framesOf('sync')[0]).toMatchObject({ cursors: { c1: 1 } });
    expect(t.texts()).toEqual(['m2', 'm3']);
  });

  it('tells the app about conversations it was added to or removed from while away', async () => {
    const t = setup();
    const joined: string[] = [];
    const removed: string[] = [];
    t.client.on('conversation', (f) => joined.push(f.conversation.id));
    t.client.on('member', (f) => f.user_id === 'alice' && f.event === 'removed' && removed.push(f.conversation_id));
    await t.client.connect();
    joined.length = 0;
    peer.dropAll();
    peer.removeMember('c1', 'alice');
    peer.addConversation('c2', ['alice', 'bob']);
    peer.post('c2', 'bob', 'welcome');
    await waitFor(() => t.messages.length === 1, 'the new conversation backfilled');
    expect(joined).toEqual(['c2']);
    expect(removed).toEqual(['c1']);
    expect(t.texts('c2')).toEqual(['welcome']);
    expect(t.client.cursors()).toEqual({ c2: 1 });
  });
});

describe('ordering while live', () => {
  it('pulls history when a push skips a seq, and emits in order', async () => {
    const t = setup();
    await t.client.connect();
    peer.post('c1', 'bob', 'one');
    peer.post('c1', 'bob', 'two (push lost)', { push: false });
    peer.post('c1', 'bob', 'three (push lost)', { push: false });
    peer.post('c1', 'bob', 'four');
    await waitFor(() => t.messages.length === 4, 'the gap filled');
    expect(peer.framesOf('history')).toEqual([expect.objectContaining({ conversation_id: 'c1', after: 1 })]);
    expect(t.texts()).toEqual(['one', 'two (push lost)', 'three (push lost)', 'four']);
  });

  it('never emits a duplicated push twice', async () => {
    const t = setup();
    await t.client.connect();
    const m = peer.post('c1', 'bob', 'once');
    peer.pushToUser('alice', { type: 'message', message: m, ts: m.created_at });
    peer.pushToUser('alice', { type: 'message', message: m, ts: m.created_at });
    const next = peer.post('c1', 'bob', 'twice');
    peer.pushToUser('alice', { type: 'message', message: m, ts: m.created_at });
    peer.pushToUser('alice', { type: 'message', message: next, ts: next.created_at });
    await waitFor(() => t.messages.length === 2, 'both messages');
    await sleep(50);
    expect(t.texts()).toEqual(['once', 'twice']);
    expect(peer.framesOf('history')).toEqual([]);
  });

  it('backfills a conversation it is added to live, then follows it', async () => {
    const t = setup();
    await t.client.connect();
    peer.addConversation('c3', ['bob']);
    peer.post('c3', 'bob', 'old 1');
    peer.post('c3', 'bob', 'old 2');
    peer.addMember('c3', 'alice');
    peer.post('c3', 'bob', 'new');
    await waitFor(() => t.messages.length === 3, 'backfill and the new message');
    expect(t.texts('c3')).toEqual(['old 1', 'old 2', 'new']);
    assertOnceInOrder(t.messages);
  });
});

describe('sending', () => {
  it('acks a send, emits it as a message once, and keeps per-conversation order', async () => {
    const t = setup();
    await t.client.connect();
    const sends = [t.client.send('c1', 'a'), t.client.send('c1', 'b'), t.client.send('c1', { type: 'text', content: { text: 'c' } })];
    const stored = await Promise.all(sends);
    expect(stored.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(stored.map((m) => m.client_msg_id)).toEqual(sends.map((s) => s.client_msg_id));
    expect(peer.messages('c1').map((m) => m.content.text)).toEqual(['a', 'b', 'c']);
    expect(t.texts()).toEqual(['a', 'b', 'c']);
  });

  it('queues sends made while offline and sends them after reconnect and sync, in order, with their ids', async () => {
    const t = setup();
    await t.client.connect();
    peer.refuse = true;
    peer.dropAll();
    await waitFor(() => t.client.status === 'reconnecting', 'reconnecting');
    const first = t.client.send('c1', 'written offline 1');
    const second = t.client.send('c1', 'written offline 2');
    let settled = 0;
    void first.then(() => settled++);
    await sleep(80);
    expect(t.client.pending().map((p) => p.client_msg_id)).toEqual([first.client_msg_id, second.client_msg_id]);
    expect(peer.framesOf('send')).toEqual([]);

    peer.refuse = false;
    const [a, b] = await Promise.all([first, second]);
    expect(a.client_msg_id).toBe(first.client_msg_id);
    expect(b.seq).toBe(a.seq + 1);
    // Sync first, then the sends.
    const order = peer.received.map((r) => r.frame.type).filter((type) => type === 'sync' || type === 'send');
    expect(order).toEqual(['sync', 'sync', 'send', 'send']);
    expect(peer.framesOf('send').map((f) => f.client_msg_id)).toEqual([first.client_msg_id, second.client_msg_id]);
    expect(t.client.pending()).toEqual([]);
    expect(t.texts()).toEqual(['written offline 1', 'written offline 2']);
    expect(settled).toBe(1);
  });

  it('resends with the same client_msg_id when the socket drops before the server saw the send', async () => {
    const t = setup();
    await t.client.connect();
    let cut = false;
    peer.hook = (frame) => (frame.type === 'send' && !cut ? ((cut = true), 'drop-before') : undefined);
    const sent = t.client.send('c1', 'lost on the wire');
    const message = await sent;
    const ids = peer.framesOf('send').map((f) => f.client_msg_id);
    expect(ids).toEqual([sent.client_msg_id, sent.client_msg_id]);
    expect(peer.messages('c1')).toHaveLength(1);
    expect(message.seq).toBe(1);
    expect(t.texts()).toEqual(['lost on the wire']);
  });

  it('resolves once and stores once when the ack is lost after the server stored it', async () => {
    const t = setup();
    await t.client.connect();
    let cut = false;
    peer.hook = (frame) => (frame.type === 'send' && !cut ? ((cut = true), 'drop-after') : undefined);
    let resolved = 0;
    const sent = t.client.send('c1', 'stored, ack lost');
    void sent.then(() => resolved++);
    const message = await sent;
    await waitFor(() => t.client.status === 'open', 'reopen');
    // A resend after reconnect, with the same id, gets the stored message back.
    t.client.send('c1', 'again', { clientMsgId: sent.client_msg_id });
    await waitFor(() => peer.framesOf('send').length === 2, 'the explicit resend');
    await sleep(30);
    expect(peer.messages('c1')).toHaveLength(1);
    expect(message.client_msg_id).toBe(sent.client_msg_id);
    expect(resolved).toBe(1);
    expect(t.texts()).toEqual(['stored, ack lost']);
  });

  it('fills a gap that its own ack reveals before emitting its message', async () => {
    const t = setup();
    await t.client.connect();
    peer.post('c1', 'bob', 'push lost', { push: false });
    const mine = await t.client.send('c1', 'mine');
    expect(mine.seq).toBe(2);
    await waitFor(() => t.messages.length === 2, 'both messages');
    expect(t.texts()).toEqual(['push lost', 'mine']);
  });

  it('rejects only when the server refuses the send for good', async () => {
    peer.addConversation('c9', ['bob']);
    const t = setup();
    await t.client.connect();
    await expect(t.client.send('c9', 'not my conversation')).rejects.toMatchObject({ code: 'not_member' });
    expect(t.client.pending()).toEqual([]);
  });

  it('retries a rate-limited send after a wait, keeping order', async () => {
    const t = setup();
    await t.client.connect();
    let limited = 0;
    peer.hook = (frame) => (frame.type === 'send' && limited++ === 0 ? { error: 'rate_limited' } : undefined);
    const [a, b] = await Promise.all([t.client.send('c1', 'first'), t.client.send('c1', 'second')]);
    expect([a.content.text, b.content.text]).toEqual(['first', 'second']);
    expect(b.seq).toBe(a.seq + 1);
    expect(peer.framesOf('send').map((f) => (f.content as { text: string }).text)).toEqual(['first', 'first', 'second']);
  });

  it('keeps the queue in storage so another run can send it', async () => {
    const saved = new Map<string, string>();
    const storage: WarblerStorage = { get: (k) => saved.get(k), set: (k, v) => void saved.set(k, v) };
    peer.refuse = true;
    const before = setup({ storage, storageKey: 'outbox' });
    before.client.connect().catch(() => {});
    const sent = before.client.send('c1', 'survives a reload');
    await waitFor(() => (saved.get('outbox') ?? '').includes(sent.client_msg_id), 'the queue saved');
    before.client.close();

    peer.refuse = false;
    const after = setup({ storage, storageKey: 'outbox' });
    await after.client.connect();
    await waitFor(() => peer.messages('c1').length === 1 && saved.get('outbox') === '[]', 'sent and cleared');
    expect(peer.framesOf('send').map((f) => f.client_msg_id)).toEqual([sent.client_msg_id]);
    expect(after.texts()).toEqual(['survives a reload']);
  });
});

describe('tokens', () => {
  it('gets a fresh token after a 4001 close and reconnects with it', async () => {
    let calls = 0;
    peer.tokens.set('tok-alice-2', 'alice');
    const t = setup({ token: async () => (++calls === 1 ? 'tok-alice' : 'tok-alice-2') });
    await t.client.connect();
    peer.tokens.delete('tok-alice');
    peer.closeAll(4001, 'token revoked');
    await waitFor(() => t.statuses.filter((s) => s.status === 'open').length === 2, 'reopen');
    expect(calls).toBe(2);
    expect(peer.handshakes.map((h) => h.token)).toEqual(['tok-alice', 'tok-alice-2']);
    expect(t.statuses.find((s) => s.status === 'reconnecting')).toMatchObject({ reason: 'unauthorized', code: 4001 });
  });

  it('gets a fresh token when the handshake is refused with 401', async () => {
    let calls = 0;
    const t = setup({ token: async () => (++calls === 1 ? 'tok-expired' : 'tok-alice') });
    await t.client.connect();
    expect(calls).toBe(2);
    expect(peer.handshakes.map((h) => h.outcome)).toEqual([401, 101]);
  });

  it('closes as unauthorized when the token function fails', async () => {
    let calls = 0;
    const t = setup({
      token: async () => {
        if (++calls > 1) throw new Error('session over');
        return 'tok-alice';
      },
    });
    await t.client.connect();
    peer.closeAll(4001, 'token revoked');
    await waitFor(() => t.client.status === 'closed', 'closed');
    expect(t.statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'unauthorized' });
    await sleep(50);
    expect(peer.handshakes).toHaveLength(1);
  });

  it('renews a token it can see has expired before reconnecting, retrying if renewal fails', async () => {
    const jwt = (n: number) => `h.${Buffer.from(JSON.stringify({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 5, n })).toString('base64url')}.s`;
    let calls = 0;
    const issued: string[] = [];
    const t = setup({
      token: async () => {
        if (++calls === 2) throw new Error('offline');
        const token = jwt(calls);
        issued.push(token);
        peer.tokens.set(token, 'alice');
        return token;
      },
    });
    await t.client.connect();
    peer.dropAll();
    await waitFor(() => t.statuses.filter((s) => s.status === 'open').length === 2, 'reopen');
    expect(calls).toBe(3);
    expect(peer.handshakes.map((h) => h.token)).toEqual(issued);
    expect(t.errors.map((e) => e.code)).toEqual(['unauthorized']);
  });

  it('closes as unauthorized when a static token is refused', async () => {
    const t = setup({ token: 'tok-nobody' });
    await expect(t.client.connect()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(t.statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'unauthorized' });
  });

  it('gives up when a fresh token is refused too', async () => {
    const t = setup({ token: async () => 'tok-nobody' });
    await expect(t.client.connect()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(peer.handshakes.map((h) => h.outcome)).toEqual([401, 401]);
  });
});

describe('heartbeat', () => {
  it('reconnects when the peer goes silent for twice the heartbeat', async () => {
    peer.heartbeatMs = 60;
    const t = setup();
    await t.client.connect();
    const quietSince = Date.now();
    peer.silent = true;
    await waitFor(() => t.statuses.some((s) => s.reason === 'heartbeat_timeout'), 'heartbeat timeout');
    expect(Date.now() - quietSince).toBeGreaterThanOrEqual(100);
    peer.silent = false;
    await waitFor(() => t.statuses.filter((s) => s.status === 'open').length === 2, 'reopen');
  });

  it('keeps a quiet but live connection open by pinging', async () => {
    peer.heartbeatMs = 100;
    const t = setup();
    await t.client.connect();
    await sleep(600);
    expect(t.statuses.map((s) => s.status)).toEqual(['connecting', 'open']);
    expect(peer.framesOf('ping').length).toBeGreaterThanOrEqual(3);
  });
});

describe('helpers over the socket', () => {
  it('pages history, marks read and delivered, and throttles typing', async () => {
    for (let i = 1; i <= 5; i++) peer.post('c1', 'bob', `m${i}`);
    const t = setup({ typingThrottleMs: 1_000 });
    await t.client.connect();
    const newest = await t.client.history('c1', { limit: 2 });
    expect(newest.messages.map((m) => m.seq)).toEqual([4, 5]);
    expect(newest.has_more).toBe(true);
    expect((await t.client.history('c1', { before: 4 })).messages.map((m) => m.seq)).toEqual([1, 2, 3]);

    await t.client.markRead('c1', 5);
    await t.client.markDelivered('c1', 5);
    expect(peer.framesOf('read')).toEqual([expect.objectContaining({ conversation_id: 'c1', seq: 5 })]);
    expect(peer.framesOf('delivered')).toHaveLength(1);

    t.client.typing('c1');
    t.client.typing('c1');
    await sleep(30);
    expect(peer.framesOf('typing')).toHaveLength(1);
    // History pages are answers, not events.
    expect(t.messages).toEqual([]);
  });

  it('edits and recalls, emitting each change once', async () => {
    const t = setup();
    await t.client.connect();
    const mine = await t.client.send('c1', 'draft');
    const edited = await t.client.edit(mine.id, 'final');
    expect(edited.content).toEqual({ text: 'final' });
    const recalled = await t.client.recall(mine.id);
    expect(recalled.state).toBe('recalled');
    await t.client.stop(mine.id);
    await sleep(30);
    expect(t.updates.map((m) => m.state)).toEqual(['complete', 'recalled']);
  });

  it('waits for the connection before sending a request, and retries it after a drop', async () => {
    const t = setup();
    const early = t.client.history('c1');
    await t.client.connect();
    expect((await early).messages).toEqual([]);

    let cut = false;
    peer.hook = (frame) => (frame.type === 'history' && !cut ? ((cut = true), 'drop-before') : undefined);
    peer.post('c1', 'bob', 'x');
    await waitFor(() => t.messages.length === 1, 'x');
    const page = await t.client.history('c1');
    expect(page.messages.map((m) => m.content.text)).toEqual(['x']);
    expect(peer.framesOf('history').length).toBeGreaterThanOrEqual(2);
  });

  it('passes deltas, receipts, typing and agent state through', async () => {
    const t = setup();
    const seen: string[] = [];
    for (const type of ['message.delta', 'receipt', 'typing', 'agent.state'] as const) t.client.on(type, () => seen.push(type));
    await t.client.connect();
    const ts = Date.now();
    peer.pushToUser('alice', { type: 'message.delta', conversation_id: 'c1', message_id: 'msg_x', offset: 0, text: 'Hel', ts });
    peer.pushToUser('alice', { type: 'receipt', conversation_id: 'c1', user_id: 'bob', kind: 'read', seq: 1, ts });
    peer.pushToUser('alice', { type: 'typing', conversation_id: 'c1', user_id: 'bob', ts });
    peer.pushToUser('alice', { type: 'agent.state', conversation_id: 'c1', agent_id: 'bot', state: 'thinking', ts });
    await waitFor(() => seen.length === 4, 'four events');
    expect(seen).toEqual(['message.delta', 'receipt', 'typing', 'agent.state']);
  });

  it('reports an error frame that answers no request', async () => {
    const t = setup();
    await t.client.connect();
    peer.pushToUser('alice', { type: 'error', code: 'rate_limited', message: 'slow down' });
    await waitFor(() => t.errors.length === 1, 'the error');
    expect(t.errors[0]).toMatchObject({ code: 'rate_limited', message: 'slow down' });
  });
});
