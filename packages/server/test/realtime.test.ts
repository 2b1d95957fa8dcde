import type { AckFrame, ErrorFrame, Message, MessageFrame, ResultFrame, SyncResult } from '@warbler/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('realtime chat on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind, { WARBLER_WS_SEND_RATE: '1000', WARBLER_WS_SEND_BURST: '1000' });
  });
  afterAll(async () => server?.stop());

  async function pair() {
    const alice = await server.user('Alice');
    const bob = await server.user('Bob');
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [alice.id, bob.id] });
    expect(conv.status).toBe(201);
    return { alice, bob, conversationId: conv.body.id as string };
  }

  it('delivers a send to the other member and acks the sender with the stored message', async () => {
    const { alice, bob, conversationId } = await pair();
    const a = await TestSocket.open(server.wsUrl, alice.token);
    const b = await TestSocket.open(server.wsUrl, bob.token);
    const ack = await a.request<AckFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: 'c1', content: { text: 'hello Bob' } });
    expect(ack.type).toBe('ack');
    expect(ack.message).toMatchObject({ seq: 1, sender_id: alice.id, content: { text: 'hello Bob' }, state: 'complete' });
    const push = (await b.next((f) => f.type === 'message')) as MessageFrame;
    expect(push.message).toEqual(ack.message);
    await Promise.all([a.close(), b.close()]);
  });

  it('keeps one conversation in seq order for everyone while two people send at once', async () => {
    const { alice, bob, conversationId } = await pair();
    const a = await TestSocket.open(server.wsUrl, alice.token);
    const b = await TestSocket.open(server.wsUrl, bob.token);
    const watcherSocket = await TestSocket.open(server.wsUrl, alice.token); // Alice's second device
    const sends: Promise<AckFrame>[] = [];
    for (let i = 0; i < 40; i++) {
      sends.push(a.request<AckFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: `a${i}`, content: { text: `a${i}` } }));
      sends.push(b.request<AckFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: `b${i}`, content: { text: `b${i}` } }));
    }
    const acks = await Promise.all(sends);
    expect(acks.map((x) => x.message.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    const seen = (await watcherSocket.collect('message', 80)) as MessageFrame[];
    expect(seen.map((f) => f.message.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    // Each sender's own messages stay in the order they were sent.
    const fromA = seen.filter((f) => f.message.sender_id === alice.id).map((f) => (f.message.content as { text: string }).text);
    expect(fromA).toEqual(Array.from({ length: 40 }, (_, i) => `a${i}`));
    await Promise.all([a.close(), b.close(), watcherSocket.close()]);
  });

  it('never stores or delivers a resend twice', async () => {
    const { alice, bob, conversationId } = await pair();
    const a = await TestSocket.open(server.wsUrl, alice.token);
    const b = await TestSocket.open(server.wsUrl, bob.token);
    const frame = { type: 'send', conversation_id: conversationId, client_msg_id: 'same-id', content: { text: 'once' } };
    const [first, second] = await Promise.all([a.request<AckFrame>(frame), a.request<AckFrame>(frame)]);
    const third = await a.request<AckFrame>(frame);
    expect(new Set([first.message.id, second.message.id, third.message.id]).size).toBe(1);
    expect([first.duplicate, second.duplicate].sort()).toEqual([false, true]);
    expect(third.duplicate).toBe(true);
    // The REST resend of the same client id is also the same message.
    const rest = await server.api('POST', `/api/conversations/${conversationId}/messages`, { sender_id: alice.id, client_msg_id: 'same-id', content: { text: 'once' } });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ duplicate: true, message: { id: first.message.id } });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'marker', content: { text: 'marker' } });
    await b.next((f) => f.type === 'message' && (f.message.content as { text: string }).text === 'marker');
    const pushes = b.frames.filter((f): f is MessageFrame => f.type === 'message').map((f) => (f.message.content as { text: string }).text);
    expect(pushes).toEqual(['once']);
    const history = await server.api('GET', `/api/conversations/${conversationId}/messages`);
    expect(history.body.messages.map((m: Message) => (m.content as { text: string }).text)).toEqual(['once', 'marker']);
    await Promise.all([a.close(), b.close()]);
  });

  it('gives a client that dropped mid-traffic exactly what it missed after reconnecting', async () => {
    const { alice, bob, conversationId } = await pair();
    const a = await TestSocket.open(server.wsUrl, alice.token);
    let b = await TestSocket.open(server.wsUrl, bob.token);
    const received = new Map<number, string>();
    const record = (m: Message) => {
      expect(received.has(m.seq), `seq ${m.seq} delivered twice`).toBe(false);
      received.set(m.seq, (m.content as { text: string }).text);
    };
    const sendMany = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: `m${i}`, content: { text: `m${i}` } });
    };
    await sendMany(0, 10);
    for (const f of (await b.collect('message', 10)) as MessageFrame[]) record(f.message);
    // Bob's connection dies without a close handshake while Alice keeps talking.
    const traffic = sendMany(10, 40);
    b.drop();
    await traffic;
    const cursor = Math.max(...received.keys());
    b = await TestSocket.open(server.wsUrl, bob.token);
    const sync = await b.request<ResultFrame<SyncResult>>({ type: 'sync', cursors: { [conversationId]: cursor } });
    const entry = sync.data.conversations.find((c) => c.conversation.id === conversationId)!;
    expect(entry.is_new).toBe(false);
    for (const m of entry.messages) record(m);
    expect(entry.has_more).toBe(false);
    expect([...received.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(received.get(40)).toBe('m39');
    // Live traffic continues from where the sync left off.
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'after', content: { text: 'after' } });
    const live = (await b.next((f) => f.type === 'message')) as MessageFrame;
    expect(live.message.seq).toBe(41);
    await Promise.all([a.close(), b.close()]);
  });

  it('pages a long backlog on resume with history after the cursor', async () => {
    const { alice, bob, conversationId } = await pair();
    for (let i = 0; i < 25; i++) {
      await server.api('POST', `/api/conversations/${conversationId}/messages`, { sender_id: alice.id, client_msg_id: `p${i}`, content: { text: `p${i}` } });
    }
    const b = await TestSocket.open(server.wsUrl, bob.token);
    const sync = await b.request<ResultFrame<SyncResult>>({ type: 'sync', cursors: { [conversationId]: 0 }, limit: 10 });
    const entry = sync.data.conversations.find((c) => c.conversation.id === conversationId)!;
    expect(entry.messages.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(entry.has_more).toBe(true);
    const next = await b.request<ResultFrame<{ messages: Message[]; has_more: boolean }>>({ type: 'history', conversation_id: conversationId, after: 10, limit: 50 });
    expect(next.data.messages.map((m) => m.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 11));
    expect(next.data.has_more).toBe(false);
    const older = await b.request<ResultFrame<{ messages: Message[]; has_more: boolean }>>({ type: 'history', conversation_id: conversationId, before: 6, limit: 3 });
    expect(older.data.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(older.data.has_more).toBe(true);
    await b.close();
  });

  it('pushes edits and recalls, and replays them to a client that was away', async () => {
    const { alice, bob, conversationId } = await pair();
    const a = await TestSocket.open(server.wsUrl, alice.token);
    const sent = await a.request<AckFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: 'e1', content: { text: 'teh typo' } });
    const other = await a.request<AckFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: 'e2', content: { text: 'oops' } });
    const b = await TestSocket.open(server.wsUrl, bob.token);
    const since = Date.now();
    await b.close();
    await new Promise((r) => setTimeout(r, 5));
    const edited = await a.request<ResultFrame<Message>>({ type: 'edit', message_id: sent.message.id, content: { text: 'the typo' } });
    expect(edited.data).toMatchObject({ content: { text: 'the typo' }, state: 'complete' });
    expect(edited.data.edited_at).not.toBeNull();
    const recalled = await a.request<ResultFrame<Message>>({ type: 'recall', message_id: other.message.id });
    expect(recalled.data).toMatchObject({ state: 'recalled', content: {} });
    const b2 = await TestSocket.open(server.wsUrl, bob.token);
    const sync = await b2.request<ResultFrame<SyncResult>>({ type: 'sync', cursors: { [conversationId]: 2 }, since });
    expect(sync.data.updated.map((m) => [m.seq, m.state])).toEqual([[1, 'complete'], [2, 'recalled']]);
    // Bob cannot edit or recall Alice's message.
    const denied = await b2.request<ErrorFrame>({ type: 'edit', message_id: sent.message.id, content: { text: 'hijack' } });
    expect(denied).toMatchObject({ type: 'error', code: 'forbidden' });
    // Live: Alice's edit reaches Bob.
    await a.request({ type: 'edit', message_id: sent.message.id, content: { text: 'the typo, fixed' } });
    const upd = await b2.next((f) => f.type === 'message.updated');
    expect(upd).toMatchObject({ message: { id: sent.message.id, content: { text: 'the typo, fixed' } } });
    await Promise.all([a.close(), b2.close()]);
  });

  it('shares read receipts and typing, and counts unread', async () => {
    const { alice, bob, conversationId } = await pair();
    const a = await TestSocket.open(server.wsUrl, alice.token);
    const b = await TestSocket.open(server.wsUrl, bob.token);
    for (let i = 0; i < 3; i++) await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: `u${i}`, content: { text: `u${i}` } });
    const list = await server.api('GET', '/api/conversations', undefined, bob.token);
    expect(list.body.conversations[0]).toMatchObject({ id: conversationId, unread: 3, last_message: { seq: 3 } });
    b.send({ type: 'typing', conversation_id: conversationId });
    const typing = await a.next((f) => f.type === 'typing');
    expect(typing).toMatchObject({ conversation_id: conversationId, user_id: bob.id });
    const read = await b.request<ResultFrame<{ read_seq: number }>>({ type: 'read', conversation_id: conversationId, seq: 2 });
    expect(read.data.read_seq).toBe(2);
    const receipt = await a.next((f) => f.type === 'receipt');
    expect(receipt).toMatchObject({ user_id: bob.id, kind: 'read', seq: 2 });
    // Receipts never move backwards.
    const back = await b.request<ResultFrame<{ read_seq: number }>>({ type: 'read', conversation_id: conversationId, seq: 1 });
    expect(back.data.read_seq).toBe(2);
    const after = await server.api('GET', '/api/conversations', undefined, bob.token);
    expect(after.body.conversations[0].unread).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('answers malformed, unknown and oversized frames with clear errors and changes nothing', async () => {
    const { alice, conversationId } = await pair();
    const a = await TestSocket.open(server.wsUrl, alice.token);
    a.ws.send('{not json');
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/JSON/) });
    a.send({ type: 'explode', id: 'x1' });
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ id: 'x1', code: 'unknown_frame' });
    a.send({ type: 'send', id: 'x2', conversation_id: conversationId, content: { text: 'no client id' } });
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ id: 'x2', code: 'bad_request', message: expect.stringMatching(/client_msg_id/) });
    a.send({ type: 'send', id: 'x3', conversation_id: conversationId, client_msg_id: 'big', content: { text: 'x'.repeat(70_000) } });
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'payload_too_large' });
    const tooLong = await a.request<ErrorFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: 'long', content: { text: 'x'.repeat(32_001) } });
    expect(tooLong).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/32,000/) });
    const empty = await a.request<ErrorFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: 'empty', content: {} });
    expect(empty).toMatchObject({ type: 'error', code: 'bad_request' });
    // An id of 50 emoji is 100 UTF-16 units but 50 characters, within the 64 allowed: its refusal carries it back.
    const emojiId = '😀'.repeat(50);
    a.send({ type: 'edit', id: emojiId, message_id: 'm-none', content: { text: 'x' } });
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ id: emojiId, code: 'not_found' });
    const history = await server.api('GET', `/api/conversations/${conversationId}/messages`);
    expect(history.body.messages).toEqual([]);
    // The socket still works after all that.
    const ok = await a.request<AckFrame>({ type: 'send', conversation_id: conversationId, client_msg_id: 'fine', content: { text: 'fine' } });
    expect(ok.message.seq).toBe(1);
    await a.close();
  });

  it('limits the send rate per connection and stores nothing past it', async () => {
    const limited = await startServer(kind, { WARBLER_WS_SEND_RATE: '1', WARBLER_WS_SEND_BURST: '3' });
    try {
      const alice = await limited.user('Alice');
      const bob = await limited.user('Bob');
      const conv = await limited.api('POST', '/api/conversations', { kind: 'direct', member_ids: [alice.id, bob.id] });
      const a = await TestSocket.open(limited.wsUrl, alice.token);
      const replies = await Promise.all(
        Array.from({ length: 6 }, (_, i) => a.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: `r${i}`, content: { text: `r${i}` } })),
      );
      expect(replies.filter((r) => r.type === 'ack')).toHaveLength(3);
      expect(replies.filter((r) => r.type === 'error' && r.code === 'rate_limited')).toHaveLength(3);
      const history = await limited.api('GET', `/api/conversations/${conv.body.id}/messages`);
      expect(history.body.messages).toHaveLength(3);
      await a.close();
    } finally {
      await limited.stop();
    }
  });

  it('closes a consumer that stops reading with 4008 instead of buffering without bound, and it resumes', { timeout: 60_000 }, async () => {
    const small = await startServer(kind, { WARBLER_WS_MAX_BUFFER: '65536' });
    try {
      const alice = await small.user('Alice');
      const bob = await small.user('Bob');
      const conv = await small.api('POST', '/api/conversations', { kind: 'direct', member_ids: [alice.id, bob.id] });
      const b = await TestSocket.open(small.wsUrl, bob.token);
      // Bob's client stops reading from its socket; the kernel buffers fill, then the server's.
      (b.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const text = 'y'.repeat(30_000);
      const total = 600; // ~18 MB: more than loopback TCP buffers and the server's 64 KiB bound together
      for (let i = 0; i < total; i += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, j) =>
          small.api('POST', `/api/conversations/${conv.body.id}/messages`, { sender_id: alice.id, client_msg_id: `f${i + j}`, content: { text } })));
      }
      const sent = total;
      const closed = new Promise<number>((resolve) => b.ws.once('close', (code) => resolve(code)));
      (b.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      await closed;
      expect(b.closeCode).toBe(4008);
      const received = b.frames.filter((f) => f.type === 'message').length;
      expect(received).toBeLessThan(sent);
      const again = await TestSocket.open(small.wsUrl, bob.token);
      const lastSeq = Math.max(0, ...b.frames.filter((f): f is MessageFrame => f.type === 'message').map((f) => f.message.seq));
      const sync = await again.request<ResultFrame<SyncResult>>({ type: 'sync', cursors: { [conv.body.id]: lastSeq }, limit: 500 });
      const entry = sync.data.conversations[0]!;
      expect(entry.messages[0]?.seq).toBe(lastSeq + 1);
      await again.close();
    } finally {
      await small.stop();
    }
  });
});
