// Issue 10, items 1, 9 and 10: what a sender may store in a message, and a
// stored message that can never again break anyone's inbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

/** `{"x":{"x":…}}` nested `depth` deep, as JSON text (built without recursion). */
function nestedJson(depth: number): string {
  return '{"x":'.repeat(depth) + '1' + '}'.repeat(depth);
}

describe.each(storeKinds())('hostile message content on %s', (kind) => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let conversationId: string;

  beforeAll(async () => {
    server = await startServer(kind);
    alice = await server.user('Alice');
    bob = await server.user('Bob');
    conversationId = (await server.api('POST', '/api/conversations', { kind: 'group', title: 'G', member_ids: [bob.id] }, alice.token)).body.id;
  });
  afterAll(async () => server?.stop());

  const rawPost = (path: string, body: string, token: string) =>
    fetch(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });

  async function inboxWorks(token: string) {
    const list = await server.api('GET', '/api/conversations', undefined, token);
    expect(list.status).toBe(200);
    const history = await server.api('GET', `/api/conversations/${conversationId}/messages`, undefined, token);
    expect(history.status).toBe(200);
    return { list: list.body, history: history.body };
  }

  it('refuses content nested thousands deep over REST and WS, and everyone\'s inbox keeps working', async () => {
    const before = (await inboxWorks(bob.token)).history.messages.length;
    const body = `{"type":"text","client_msg_id":"deep-1","content":{"text":"hi","extra":${nestedJson(4_100)}}}`;
    const rest = await rawPost(`/api/conversations/${conversationId}/messages`, body, alice.token);
    expect(rest.status).toBe(400);
    expect((await rest.json()).error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/deeper than/) });

    const ws = await TestSocket.open(server.wsUrl, alice.token);
    const frame = `{"type":"send","id":"s1","conversation_id":"${conversationId}","client_msg_id":"deep-2","content":{"text":"hi","extra":${nestedJson(4_000)}}}`;
    ws.ws.send(frame);
    const refused = await ws.next((f) => f.type === 'error' && f.id === 's1');
    expect(refused).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/deeper than/) });
    const sync = await ws.request({ type: 'sync', cursors: {} });
    expect(sync.type).toBe('result');
    await ws.close();

    expect((await inboxWorks(bob.token)).history.messages.length).toBe(before);
  });

  it('shows a stored message that cannot be serialized as unreadable instead of failing the list', async () => {
    const sent = await server.api('POST', `/api/conversations/${conversationId}/messages`, { type: 'text', content: { text: 'fine' } }, alice.token);
    expect(sent.status).toBe(201);
    // A row written before content was checked: the depth that used to break every list.
    let poison: Record<string, unknown> = {};
    for (let i = 0; i < 4_100; i++) poison = { x: poison };
    await server.warbler.store.updateMessage(server.appId, sent.body.message.id, { content: { text: 'fine', extra: poison }, updated_at: Date.now() });

    const { list, history } = await inboxWorks(bob.token);
    const shown = history.messages.find((m: { id: string }) => m.id === sent.body.message.id);
    expect(shown.content).toEqual({ text: '', unreadable: true });
    expect(list.conversations.find((c: { id: string }) => c.id === conversationId).last_message.id).toBe(sent.body.message.id);
    const ws = await TestSocket.open(server.wsUrl, bob.token);
    const sync = await ws.request({ type: 'sync', cursors: { [conversationId]: 0 } });
    expect(sync.type).toBe('result');
    const history2 = await ws.request({ type: 'history', conversation_id: conversationId });
    expect(history2.type).toBe('result');
    await ws.close();
  });

  it('refuses fields a sender may not set, naming them, and stores nothing', async () => {
    const before = (await inboxWorks(alice.token)).history.messages.length;
    const pad = await server.api('POST', `/api/conversations/${conversationId}/messages`, { type: 'text', content: { text: 'x', pad: 'p'.repeat(100_000) } }, alice.token);
    expect(pad.status).toBe(400);
    expect(pad.body.error.message).toMatch(/pad/);
    for (const forged of [
      { citations: [{ n: 1, source: 'javascript:alert(1)' }] },
      { model: 'gpt-4o' },
      { cost: { currency: 'USD', amount: '0' } },
      { error: { code: 'x', message: 'y' } },
      { feedback: { [bob.id]: 'down' } },
    ]) {
      const r = await server.api('POST', `/api/conversations/${conversationId}/messages`, { type: 'text', content: { text: 'x', ...forged } }, alice.token);
      expect(r.status, JSON.stringify(forged)).toBe(400);
      expect(r.body.error.message).toContain(Object.keys(forged)[0]);
    }
    const ws = await TestSocket.open(server.wsUrl, alice.token);
    const wsForged = await ws.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'forge-1', content: { text: 'x', model: 'gpt-4o' } });
    expect(wsForged).toMatchObject({ type: 'error', code: 'bad_request' });
    const edit = await ws.request({ type: 'edit', message_id: 'msg_none', content: { text: 'x', citations: [] } });
    expect(edit.type).toBe('error');
    await ws.close();
    expect((await inboxWorks(alice.token)).history.messages.length).toBe(before);

    const ok = await server.api('POST', `/api/conversations/${conversationId}/messages`,
      { type: 'text', content: { text: 'ok @Bob', mentions: [bob.id], metadata: { order: 'A-17', priority: 2 } } }, alice.token);
    expect(ok.status).toBe(201);
    expect(ok.body.message.content).toEqual({ text: 'ok @Bob', mentions: [bob.id], metadata: { order: 'A-17', priority: 2 } });
  });

  it('refuses NUL characters in bodies, ids, URLs and frames with 400, the same on both stores', async () => {
    const text = await server.api('POST', `/api/conversations/${conversationId}/messages`, { type: 'text', content: { text: 'a\u0000b' } }, alice.token);
    expect(text.status).toBe(400);
    expect(text.body.error.message).toMatch(/NUL/);
    const user = await server.api('POST', '/api/users', { id: 'nul\u0000user', name: 'N' });
    expect(user.status).toBe(400);
    const name = await server.api('POST', '/api/users', { name: 'N\u0000' });
    expect(name.status).toBe(400);
    const path = await server.api('GET', `/api/conversations/${conversationId}%00/messages`, undefined, alice.token);
    expect(path.status).toBe(400);
    const query = await server.api('GET', `/api/conversations?user_id=a%00b`);
    expect(query.status).toBe(400);
    const ws = await TestSocket.open(server.wsUrl, alice.token);
    for (const frame of [
      { type: 'history', conversation_id: `${conversationId}\u0000` },
      { type: 'send', conversation_id: conversationId, client_msg_id: 'n\u0000', content: { text: 'x' } },
      { type: 'read', conversation_id: '\u0000', seq: 1 },
    ]) {
      const reply = await ws.request(frame);
      expect(reply, JSON.stringify(frame)).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    await ws.close();
  });
});
