import type { ErrorFrame, ResultFrame, SyncResult } from '@warbler/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('who may see what, on %s', (kind) => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let mallory: { id: string; token: string };
  let groupId: string;

  beforeAll(async () => {
    server = await startServer(kind);
    alice = await server.user('Alice');
    bob = await server.user('Bob');
    mallory = await server.user('Mallory');
    const group = await server.api('POST', '/api/conversations', { kind: 'group', title: 'Plans', member_ids: [bob.id] }, alice.token);
    expect(group.status).toBe(201);
    groupId = group.body.id;
    await server.api('POST', `/api/conversations/${groupId}/messages`, { client_msg_id: 's1', content: { text: 'secret plan' } }, alice.token);
  });
  afterAll(async () => server?.stop());

  it('keeps a non-member from reading, posting or joining, over REST', async () => {
    const read = await server.api('GET', `/api/conversations/${groupId}/messages`, undefined, mallory.token);
    expect(read.status).toBe(403);
    expect(read.body.error.code).toBe('not_member');
    const post = await server.api('POST', `/api/conversations/${groupId}/messages`, { client_msg_id: 'm1', content: { text: 'hi' } }, mallory.token);
    expect(post.status).toBe(403);
    const join = await server.api('POST', `/api/conversations/${groupId}/members`, { user_ids: [mallory.id] }, mallory.token);
    expect(join.status).toBe(403);
    const members = await server.api('GET', `/api/conversations/${groupId}/members`, undefined, mallory.token);
    expect(members.status).toBe(403);
    // Posting as someone else with a user token is refused too.
    const spoof = await server.api('POST', `/api/conversations/${groupId}/messages`, { sender_id: alice.id, client_msg_id: 'm2', content: { text: 'I am Alice' } }, mallory.token);
    expect(spoof.status).toBe(403);
    const list = await server.api('GET', '/api/conversations', undefined, mallory.token);
    expect(list.body.conversations).toEqual([]);
    const other = await server.api('GET', `/api/conversations?user_id=${alice.id}`, undefined, mallory.token);
    expect(other.status).toBe(403);
    const history = await server.api('GET', `/api/conversations/${groupId}/messages`, undefined, alice.token);
    expect(history.body.messages).toHaveLength(1);
  });

  it('keeps a non-member out over the socket and pushes them nothing', async () => {
    const m = await TestSocket.open(server.wsUrl, mallory.token);
    const send = await m.request<ErrorFrame>({ type: 'send', conversation_id: groupId, client_msg_id: 'x', content: { text: 'let me in' } });
    expect(send).toMatchObject({ type: 'error', code: 'not_member' });
    const hist = await m.request<ErrorFrame>({ type: 'history', conversation_id: groupId });
    expect(hist).toMatchObject({ type: 'error', code: 'not_member' });
    const read = await m.request<ErrorFrame>({ type: 'read', conversation_id: groupId, seq: 1 });
    expect(read).toMatchObject({ type: 'error', code: 'not_member' });
    const sync = await m.request<ResultFrame<SyncResult>>({ type: 'sync', cursors: { [groupId]: 0 } });
    expect(sync.data.conversations).toEqual([]);
    expect(sync.data.removed).toEqual([groupId]);
    await server.api('POST', `/api/conversations/${groupId}/messages`, { client_msg_id: 's2', content: { text: 'still secret' } }, alice.token);
    await new Promise((r) => setTimeout(r, 100));
    expect(m.frames.filter((f) => f.type === 'message')).toEqual([]);
    await m.close();
  });

  it('lets a member be added, hear about it live, and then removed', async () => {
    const m = await TestSocket.open(server.wsUrl, mallory.token);
    const added = await server.api('POST', `/api/conversations/${groupId}/members`, { user_ids: [mallory.id] }, alice.token);
    expect(added.status).toBe(200);
    expect(await m.next((f) => f.type === 'conversation')).toMatchObject({ conversation: { id: groupId } });
    await server.api('POST', `/api/conversations/${groupId}/messages`, { client_msg_id: 's3', content: { text: 'welcome' } }, alice.token);
    expect(await m.next((f) => f.type === 'message')).toMatchObject({ message: { content: { text: 'welcome' } } });
    // Bob, a plain member, may not remove anyone.
    const denied = await server.api('DELETE', `/api/conversations/${groupId}/members/${mallory.id}`, undefined, bob.token);
    expect(denied.status).toBe(403);
    const kicked = await server.api('DELETE', `/api/conversations/${groupId}/members/${mallory.id}`, undefined, alice.token);
    expect(kicked.status).toBe(204);
    expect(await m.next((f) => f.type === 'member' && f.event === 'removed')).toMatchObject({ user_id: mallory.id });
    await server.api('POST', `/api/conversations/${groupId}/messages`, { client_msg_id: 's4', content: { text: 'after kick' } }, alice.token);
    await new Promise((r) => setTimeout(r, 100));
    expect(m.frames.filter((f) => f.type === 'message')).toEqual([]);
    await m.close();
  });

  it("never shows one app's data to another app", async () => {
    const created = await server.api('POST', '/admin/apps', { name: 'Other' }, server.masterKey);
    expect(created.status).toBe(201);
    const otherSecret: string = created.body.secret;
    // Users, conversations and messages of the default app are invisible with the other app's secret.
    expect((await server.api('GET', `/api/users/${alice.id}`, undefined, otherSecret)).status).toBe(404);
    expect((await server.api('GET', `/api/conversations/${groupId}`, undefined, otherSecret)).status).toBe(404);
    expect((await server.api('GET', `/api/conversations/${groupId}/messages`, undefined, otherSecret)).status).toBe(404);
    const listed = await server.api('GET', '/api/users', undefined, otherSecret);
    expect(listed.body.users).toEqual([]);
    // A user of the other app, even with the same id as Alice, reaches nothing of the default app.
    await server.api('POST', '/api/users', { id: alice.id, name: 'Other Alice' }, otherSecret);
    const token = (await server.api('POST', `/api/users/${alice.id}/tokens`, {}, otherSecret)).body.token;
    const otherAlice = await TestSocket.open(server.wsUrl, token);
    const hist = await otherAlice.request<ErrorFrame>({ type: 'history', conversation_id: groupId });
    expect(hist).toMatchObject({ type: 'error', code: 'not_found' });
    const sync = await otherAlice.request<ResultFrame<SyncResult>>({ type: 'sync', cursors: {} });
    expect(sync.data.conversations).toEqual([]);
    await otherAlice.close();
    // Adding the default app's Bob to a conversation in the other app fails: he does not exist there.
    const cross = await server.api('POST', '/api/conversations', { kind: 'group', member_ids: [bob.id] }, token);
    expect(cross.status).toBe(404);
  });

  it('refuses bad credentials at the door', async () => {
    expect((await server.api('GET', '/api/users', undefined, 'nonsense')).status).toBe(401);
    expect((await server.api('GET', '/api/users', undefined, `wsk.default.${'A'.repeat(43)}`)).status).toBe(401);
    expect((await server.api('GET', '/api/users', undefined, alice.token)).status).toBe(403);
    expect((await server.api('POST', '/admin/apps', { name: 'x' })).status).toBe(403);
    // Completed handshake, then an error frame and 4001: a close code a browser can read, unlike a refused upgrade's status.
    await expect(TestSocket.open(server.wsUrl, 'not-a-token')).rejects.toThrow(/closed 4001 before ready: .*"code":"unauthorized"/);
    await expect(TestSocket.open(server.wsUrl, '')).rejects.toThrow(/closed 4001 before ready/);
  });

  it('revokes tokens: open sockets close with 4001 and old tokens stop working', async () => {
    const carol = await server.user('Carol');
    const socket = await TestSocket.open(server.wsUrl, carol.token);
    const closed = new Promise<number>((resolve) => socket.ws.once('close', (code) => resolve(code)));
    const revoked = await server.api('POST', `/api/users/${carol.id}/tokens/revoke`);
    expect(revoked.status).toBe(200);
    expect(await closed).toBe(4001);
    await expect(TestSocket.open(server.wsUrl, carol.token)).rejects.toThrow(/closed 4001 before ready/);
    const rest = await server.api('GET', '/api/conversations', undefined, carol.token);
    expect(rest.status).toBe(401);
    const fresh = (await server.api('POST', `/api/users/${carol.id}/tokens`, {})).body.token;
    const again = await TestSocket.open(server.wsUrl, fresh);
    await again.close();
  });
});
