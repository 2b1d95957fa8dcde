// Issue 11: people taking support conversations. No talking over a person
// (a reply streaming when they claim is stopped), internal notes the customer
// never sees, claim races, transfer and hand-back, reopen, working hours,
// canned replies and the copilot.
import type { Message, ServerFrame } from '@warbler/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storeKinds, TestSocket } from './harness.ts';
import { eventually, supportWorld, type SupportWorld } from './support-kit.ts';

describe.each(storeKinds())('support inbox on %s', (kind) => {
  let world: SupportWorld;
  let desk: string;
  let ann: { id: string; token: string };
  let ben: { id: string; token: string };

  beforeAll(async () => {
    world = await supportWorld(kind);
    desk = await world.agent('Desk');
    ann = await world.staff('Ann');
    ben = await world.staff('Ben');
  });
  afterAll(async () => world?.stop());
  beforeEach(() => world.upstream.reset());

  const api = (method: string, path: string, body?: unknown, token?: string) => world.server.api(method, path, body, token);

  it('stops an AI reply that is streaming when a person claims, and the AI says nothing after', async () => {
    const v = await world.visit(desk);
    const watcher = await TestSocket.open(world.server.wsUrl, v.token);
    world.upstream.script({ text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), intervalMs: 20 });
    await world.say(v, 'Explain everything about your plans');
    const streaming = await eventually(async () => (await world.replies(v)).length === 0
      ? (await world.server.api('GET', `/api/conversations/${v.conversationId}/messages`, undefined, v.token)).body.messages.find((m: Message) => m.state === 'streaming') as Message | undefined
      : undefined);
    await watcher.next((f) => f.type === 'message.delta' && f.message_id === streaming.id);
    const claimed = await api('POST', `/api/support/conversations/${v.conversationId}/claim`, {}, ann.token);
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ status: 'human', assignee_id: ann.id, handoff_reason: 'staff' });
    const ended = await eventually(async () => {
      const m = (await world.replies(v)).find((r) => r.id === streaming.id);
      return m && m.state !== 'streaming' ? m : undefined;
    });
    expect(ended.content.stopped).toBe(true);
    expect(String(ended.content.text).split(' ').length).toBeLessThan(200);
    // Ann answers; the customer writes again; the AI is silent throughout.
    const annSays = await api('POST', `/api/conversations/${v.conversationId}/messages`, { type: 'text', content: { text: 'Hi, I am Ann. How can I help?' } }, ann.token);
    expect(annSays.status).toBe(201);
    await world.say(v, 'Thanks Ann');
    await world.server.warbler.runtime.idle();
    await new Promise((r) => setTimeout(r, 200));
    expect((await world.replies(v)).map((m) => m.id)).toEqual([streaming.id]);
    expect(world.upstream.requests).toHaveLength(1);
    const frames = watcher.frames.filter((f): f is Extract<ServerFrame, { type: 'message' }> => f.type === 'message' && f.message.sender_id === desk && f.message.type === 'text');
    expect(frames.filter((f) => f.message.id !== streaming.id)).toEqual([]);
    const state = await world.state(v.conversationId);
    expect(state).toMatchObject({ human_messages: 1 });
    expect(state.first_human_response_ms).not.toBeNull();
    await watcher.close();
  });

  it('lets one of two people claim at once; the other is told someone has it', async () => {
    const v = await world.visit(desk);
    await api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token);
    const [a, b] = await Promise.all([
      api('POST', `/api/support/conversations/${v.conversationId}/claim`, {}, ann.token),
      api('POST', `/api/support/conversations/${v.conversationId}/claim`, {}, ben.token),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error.message).toMatch(/Someone else has already taken/);
  });

  it('keeps internal notes from the customer on REST and WebSocket, and pushes them to support users', async () => {
    const v = await world.visit(desk);
    const customerSocket = await TestSocket.open(world.server.wsUrl, v.token);
    const benSocket = await TestSocket.open(world.server.wsUrl, ben.token);
    await api('POST', `/api/support/conversations/${v.conversationId}/claim`, {}, ann.token);
    const note = await api('POST', `/api/support/conversations/${v.conversationId}/notes`, { text: 'VIP customer, refund approved by finance' }, ann.token);
    expect(note.status).toBe(201);
    const pushed = await benSocket.next((f) => f.type === 'support' && f.event === 'note');
    expect(pushed).toMatchObject({ note: { text: 'VIP customer, refund approved by finance', author_id: ann.id } });
    const notes = await api('GET', `/api/support/conversations/${v.conversationId}/notes`, undefined, ben.token);
    expect(notes.body.notes.map((n: { text: string }) => n.text)).toEqual(['VIP customer, refund approved by finance']);
    // What staff write about a customer is sealed at rest, like the conversation: the stored row holds no plaintext.
    const stored = await world.server.warbler.store.roomTables().selectFrom('support_notes').select('text').where('id', '=', note.body.id).executeTakeFirstOrThrow();
    expect(stored.text).toMatch(/^wae1\./);
    expect(stored.text).not.toContain('refund');
    // The customer: not through the notes route, not in the history, not on the socket.
    expect((await api('GET', `/api/support/conversations/${v.conversationId}/notes`, undefined, v.token)).status).toBe(403);
    const history = await api('GET', `/api/conversations/${v.conversationId}/messages?limit=200`, undefined, v.token);
    expect(JSON.stringify(history.body)).not.toContain('refund approved');
    await new Promise((r) => setTimeout(r, 200));
    expect(JSON.stringify(customerSocket.frames)).not.toContain('refund approved');
    expect(customerSocket.frames.filter((f) => f.type === 'support')).toEqual([]);
    // Someone without the role cannot read the queue or the notes.
    const outsider = await world.server.user('Outsider');
    expect((await api('GET', '/api/support/queue', undefined, outsider.token)).status).toBe(403);
    await customerSocket.close();
    await benSocket.close();
  });

  it('transfers, hands back to the AI (which answers again), resolves once and reopens on the customer\'s next message', async () => {
    const v = await world.visit(desk);
    const events: string[] = [];
    const off = world.server.warbler.events.on((e) => {
      if (e.data.conversation_id === v.conversationId && e.type.startsWith('conversation.')) events.push(e.type);
    });
    await api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token);
    expect((await api('GET', '/api/support/queue?queue=unassigned', undefined, ben.token)).body.conversations.map((c: { conversation_id: string }) => c.conversation_id)).toContain(v.conversationId);
    await api('POST', `/api/support/conversations/${v.conversationId}/claim`, {}, ann.token);
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/transfer`, { user_id: ann.id }, ben.token)).status).toBe(403);
    const moved = await api('POST', `/api/support/conversations/${v.conversationId}/transfer`, { user_id: ben.id }, ann.token);
    expect(moved.body).toMatchObject({ status: 'human', assignee_id: ben.id });
    expect((await api('GET', '/api/support/queue?queue=mine', undefined, ben.token)).body.conversations.map((c: { conversation_id: string }) => c.conversation_id)).toContain(v.conversationId);
    // Ann left the conversation with the transfer; Ben is in it.
    expect((await api('POST', `/api/conversations/${v.conversationId}/messages`, { type: 'text', content: { text: 'still me' } }, ann.token)).status).toBe(403);
    expect((await api('POST', `/api/conversations/${v.conversationId}/messages`, { type: 'text', content: { text: 'Ben here: your plan is fixed.' } }, ben.token)).status).toBe(201);
    const back = await api('POST', `/api/support/conversations/${v.conversationId}/hand-back`, {}, ben.token);
    expect(back.body).toMatchObject({ status: 'bot', assignee_id: null });
    await world.say(v, 'One more question about prices');
    await eventually(async () => ((await world.replies(v)).some((m) => m.state === 'complete') ? true : undefined));
    await world.server.warbler.runtime.idle();

    const resolved = await api('POST', `/api/support/conversations/${v.conversationId}/resolve`, {}, ben.token);
    expect(resolved.body).toMatchObject({ status: 'resolved', outcome: 'resolved_by_human' });
    const twice = await api('POST', `/api/support/conversations/${v.conversationId}/resolve`, {}, ben.token);
    expect(twice.body).toMatchObject({ status: 'resolved', resolved_at: resolved.body.resolved_at });
    const notices = async () => (await api('GET', `/api/conversations/${v.conversationId}/messages?limit=200`, undefined, v.token)).body.messages
      .filter((m: Message) => m.type === 'system').map((m: Message) => (m.content.support as { event: string }).event);
    expect((await notices()).filter((e: string) => e === 'resolved')).toHaveLength(1);

    const repliesBefore = (await world.replies(v)).length;
    await world.say(v, 'Actually, how do I export my data?');
    const reopened = await world.until(v.conversationId, 'bot');
    expect(reopened).toMatchObject({ reopens: 1, outcome: null, resolved_at: null });
    await eventually(async () => ((await world.replies(v)).length > repliesBefore ? true : undefined));
    await world.server.warbler.runtime.idle();
    expect((await world.replies(v)).length).toBe(repliesBefore + 1);
    off();
    expect(events).toEqual(['conversation.created', 'conversation.handoff', 'conversation.assigned', 'conversation.assigned', 'conversation.resolved', 'conversation.reopened']
      .filter((e) => e !== 'conversation.created'));
  });

  it('outside working hours tells the customer when a person will answer, and keeps what they leave', async () => {
    const after = await world.agent('AfterHours');
    const today = new Date().getUTCDay();
    const openDay = (today + 3) % 7;
    const put = await api('PUT', `/api/support/agents/${after}/policy`, { working_hours: { time_zone: 'UTC', spans: [{ day: openDay, from: '09:00', to: '17:00' }] } });
    expect(put.status).toBe(200);
    const v = await world.visit(after);
    await world.say(v, 'I want to talk to a human');
    await world.until(v.conversationId, 'pending_human');
    const notice = await eventually(async () => (await world.server.api('GET', `/api/conversations/${v.conversationId}/messages`, undefined, v.token)).body.messages
      .find((m: Message) => m.type === 'system') as Message | undefined);
    expect(notice.content.support).toEqual({ event: 'after_hours', status: 'pending_human' });
    const weekday = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short' }).format(new Date(Date.UTC(2026, 0, 4 + openDay)));
    expect(notice.content.text).toMatch(new RegExp(`a person will answer from ${weekday},? 09:00 UTC`));
    const left = await world.say(v, 'My order A-17 never arrived; please call me back.');
    await world.server.warbler.runtime.idle();
    expect(await world.replies(v)).toEqual([]);
    const history = await api('GET', `/api/support/conversations/${v.conversationId}/messages`, undefined, ann.token);
    expect(history.body.messages.map((m: Message) => m.id)).toContain(left.id);

    const open = await world.agent('Open');
    await api('PUT', `/api/support/agents/${open}/policy`, { working_hours: { time_zone: 'Asia/Shanghai', spans: [0, 1, 2, 3, 4, 5, 6].map((day) => ({ day, from: '00:00', to: '24:00' })) } });
    const w = await world.visit(open, 'zh-CN');
    await world.say(w, '转人工');
    await world.until(w.conversationId, 'pending_human');
    const told = await eventually(async () => (await world.server.api('GET', `/api/conversations/${w.conversationId}/messages`, undefined, w.token)).body.messages
      .find((m: Message) => m.type === 'system') as Message | undefined);
    expect(told.content).toMatchObject({ text: '正在为您转接人工客服，请稍候。', support: { event: 'handoff' } });
  });

  it('keeps canned replies for the team, and drafts a reply with the copilot, billed to the conversation as copilot', async () => {
    const made = await api('POST', '/api/support/canned-replies', { title: 'Greeting', text: 'Hello! How can I help?' }, ann.token);
    expect(made.status).toBe(201);
    const changed = await api('PUT', `/api/support/canned-replies/${made.body.id}`, { title: 'Greeting', text: '您好！请问有什么可以帮您？' }, ben.token);
    expect(changed.body.text).toBe('您好！请问有什么可以帮您？');
    expect((await api('GET', '/api/support/canned-replies', undefined, ann.token)).body.canned_replies.map((c: { id: string }) => c.id)).toContain(made.body.id);
    const customer = await world.server.user('Curious');
    expect((await api('GET', '/api/support/canned-replies', undefined, customer.token)).status).toBe(403);
    expect((await api('DELETE', `/api/support/canned-replies/${made.body.id}`, undefined, ann.token)).status).toBe(204);
    expect((await api('DELETE', `/api/support/canned-replies/${made.body.id}`, undefined, ann.token)).status).toBe(404);

    const v = await world.visit(desk);
    await api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token);
    await world.say(v, 'How do I reset my password?');
    world.upstream.script({ text: 'Open Settings, then Security, then Reset password.', usage: { prompt_tokens: 120, completion_tokens: 12 } });
    const suggested = await api('POST', `/api/support/conversations/${v.conversationId}/suggest`, {}, ann.token);
    expect(suggested.status).toBe(200);
    expect(suggested.body).toMatchObject({ text: 'Open Settings, then Security, then Reset password.', model: 'gpt-4o-mini' });
    const asked = world.upstream.requests.at(-1)!.body.messages as Array<{ role: string; content: string }>;
    expect(asked.at(-1)).toEqual({ role: 'user', content: 'How do I reset my password?' });
    await world.server.warbler.ledger.flush();
    const rows = await world.server.warbler.store.listLedger('default', { limit: 50 });
    const copilot = rows.filter((r) => r.purpose === 'copilot' && r.conversation_id === v.conversationId);
    expect(copilot).toHaveLength(1);
    expect(copilot[0]).toMatchObject({ user_id: ann.id, agent_id: desk, prompt_tokens: 120, completion_tokens: 12 });
    expect(copilot[0]!.cost_nanos > 0n).toBe(true);
    // Nothing was said in the conversation by the copilot.
    expect(await world.replies(v)).toEqual([]);
  });
});
