import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './harness.ts';

/** The routes the web app adds: sign-in by name, people search, feedback on AI replies, model status. */
describe('web app routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('sqlite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  const signIn = async (name: string) => {
    const res = await fetch(`${server.url}/api/dev/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
    return { status: res.status, body: await res.json() as any };
  };

  it('signs in by name: the same name is the same user, a CJK name gets a stable id, an agent\'s name is refused', async () => {
    expect((await fetch(`${server.url}/api/dev/sign-in`).then((r) => r.json()))).toEqual({ enabled: true, app_id: 'default' });
    const first = await signIn('Zoe Lee');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ user_id: '~zoe-lee', user: { name: 'Zoe Lee', kind: 'human' }, token: expect.any(String) });
    expect((await signIn('  zoe lee ')).body.user_id).toBe('~zoe-lee');
    const me = await server.api('GET', '/api/users/~zoe-lee', undefined, first.body.token);
    expect(me.body.name).toBe('Zoe Lee');
    const chinese = await signIn('小明');
    expect(chinese.body.user_id).toMatch(/^~u-[0-9a-f]{16}$/);
    expect((await signIn('小明')).body.user_id).toBe(chinese.body.user_id);
    const agent = await signIn('Warbler Assistant');
    expect(agent.status).toBe(409);
    expect(agent.body.error.code).toBe('conflict');
    expect((await signIn('')).status).toBe(400);
  });

  it('never signs anyone in as a user the app created: sign-ins by name have their own namespace', async () => {
    const created = await server.api('POST', '/api/users', { id: 'ceo', name: 'CEO' });
    expect(created.status).toBe(201);
    const staff = await server.api('POST', '/api/users', { id: 'cfo', name: 'CFO' });
    expect(staff.status).toBe(201);
    const secretChat = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: ['ceo', 'cfo'] });
    await server.api('POST', `/api/conversations/${secretChat.body.id}/messages`, { sender_id: 'ceo', type: 'text', content: { text: 'acquisition plans' } });
    for (const name of ['CEO', 'ceo', ' Ceo ']) {
      const r = await signIn(name);
      expect(r.status, name).toBe(409);
      expect(r.body.token).toBeUndefined();
    }
    // The namespace cannot be entered from the users API either.
    expect((await server.api('POST', '/api/users', { id: '~mallory', name: 'M' })).status).toBe(400);
    const mallory = await signIn('Mallory');
    expect(mallory.body.user_id).toBe('~mallory');
    expect((await server.api('GET', `/api/conversations/${secretChat.body.id}/messages`, undefined, mallory.body.token)).status).toBe(403);
    const list = await server.api('GET', '/api/conversations', undefined, mallory.body.token);
    expect(list.body.conversations.map((c: { id: string }) => c.id)).not.toContain(secretChat.body.id);
  });

  it('opens a newcomer\'s list with a welcome chat from the demo assistant, in their language, once', async () => {
    const res = await fetch(`${server.url}/api/dev/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '韩梅梅', locale: 'zh-CN' }) });
    const me = await res.json() as { token: string; user_id: string };
    const list = await server.api('GET', '/api/conversations', undefined, me.token);
    expect(list.body.conversations).toHaveLength(1);
    const [welcome] = list.body.conversations;
    expect(welcome).toMatchObject({ kind: 'direct', unread: 1, last_message: { sender_id: 'warbler-assistant', content: { text: expect.stringContaining('我是 Warbler 助手') } } });
    // Signing in again does not open a second one.
    await fetch(`${server.url}/api/dev/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '韩梅梅' }) });
    expect((await server.api('GET', '/api/conversations', undefined, me.token)).body.conversations).toHaveLength(1);
  });

  it('lets a signed-in user find people and agents by name', async () => {
    const { body } = await signIn('Yara');
    const found = await server.api('GET', '/api/people?q=warbler', undefined, body.token);
    expect(found.status).toBe(200);
    expect(found.body.users).toContainEqual({ id: 'warbler-assistant', name: 'Warbler Assistant', kind: 'agent', avatar_url: null });
    const agents = await server.api('GET', '/api/people?kind=agent', undefined, body.token);
    expect(agents.body.users.every((u: { kind: string }) => u.kind === 'agent')).toBe(true);
    expect((await fetch(`${server.url}/api/people`)).status).toBe(401);
  });

  it('stores thumbs up/down on an AI reply in the message, for members only, without losing a vote to a race', async () => {
    const { body: xena } = await signIn('Xena');
    const { body: walt } = await signIn('Walt');
    const { body: outsider } = await signIn('Uma');
    const conv = await server.api('POST', '/api/conversations', { kind: 'group', member_ids: ['warbler-assistant', walt.user_id], title: 'Raters' }, xena.token);
    const sent = await server.api('POST', `/api/conversations/${conv.body.id}/messages`, { type: 'text', content: { text: '@Warbler Assistant how do I start Warbler?' } }, xena.token);
    let reply: any;
    for (let i = 0; i < 100 && !reply; i++) {
      const page = await server.api('GET', `/api/conversations/${conv.body.id}/messages`, undefined, xena.token);
      reply = page.body.messages.find((m: any) => m.sender_id === 'warbler-assistant' && m.state === 'complete');
      if (!reply) await new Promise((r) => setTimeout(r, 50));
    }
    expect(reply).toBeDefined();

    const up = await server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: 'up' }, xena.token);
    expect(up.status).toBe(200);
    expect(up.body).toEqual({ message_id: reply.id, feedback: { [xena.user_id]: 'up' } });
    const history = await server.api('GET', `/api/conversations/${conv.body.id}/messages`, undefined, xena.token);
    const stored = history.body.messages.find((m: any) => m.id === reply.id);
    expect(stored.content.feedback).toEqual({ [xena.user_id]: 'up' });
    // The rest of the reply is untouched.
    expect(stored.content.text).toBe(reply.content.text);
    expect(stored.content.citations).toEqual(reply.content.citations);

    expect((await server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: 'down' }, xena.token)).body.feedback).toEqual({ [xena.user_id]: 'down' });
    expect((await server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: null }, xena.token)).body.feedback).toEqual({});
    const notMember = await server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: 'up' }, outsider.token);
    expect(notMember.status).toBe(403);
    const human = await server.api('POST', `/api/messages/${sent.body.message.id}/feedback`, { rating: 'up' }, xena.token);
    expect(human.status).toBe(400);
    expect((await server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: 'meh' }, xena.token)).status).toBe(400);
    // Two raters at once both count.
    const both = await Promise.all([
      server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: 'up' }, xena.token),
      server.api('POST', `/api/messages/${reply.id}/feedback`, { rating: 'down' }, walt.token),
    ]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    const after = await server.api('GET', `/api/conversations/${conv.body.id}/messages`, undefined, xena.token);
    expect(after.body.messages.find((m: any) => m.id === reply.id).content.feedback).toEqual({ [xena.user_id]: 'up', [walt.user_id]: 'down' });
  });

  it('shows models with their deployments, health and price, and checks one with a one-token call', async () => {
    const models = await server.api('GET', '/api/models', undefined, server.appSecret);
    expect(models.status).toBe(200);
    const local = models.body.models.find((m: any) => m.name === 'local/kb-answer');
    expect(local).toMatchObject({ kind: 'chat', deployments: [{ id: expect.any(String), provider: 'local', state: 'closed' }], price: { currency: 'USD', input_per_million: 0 } });
    expect(JSON.stringify(models.body)).not.toMatch(/sk-|api_?key/i);
    const check = await server.api('POST', '/api/models/check', { model: 'local/kb-answer' }, server.appSecret);
    expect(check.body).toMatchObject({ model: 'local/kb-answer', ok: true, latency_ms: expect.any(Number) });
    expect((await server.api('POST', '/api/models/check', { model: 'nope' }, server.appSecret)).status).toBe(400);
    const { body: user } = await signIn('Vera');
    expect((await server.api('GET', '/api/models', undefined, user.token)).status).toBe(403);
  });
});

describe('web app routes with sign-in by name switched off', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('sqlite', { WARBLER_DEV_SIGN_IN: 'false' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses to sign anyone in by name, and says so', async () => {
    expect(await fetch(`${server.url}/api/dev/sign-in`).then((r) => r.json())).toEqual({ enabled: false, app_id: 'default' });
    const res = await fetch(`${server.url}/api/dev/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Mallory' }) });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(/WARBLER_DEV_SIGN_IN/);
    expect((await server.api('GET', '/api/users/~mallory')).status).toBe(404);
  });
});

describe('sign-in by name under a flood', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('sqlite');
  });
  afterAll(async () => server?.stop());

  it('limits sign-ins by name from one address, and says when to come back', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${server.url}/api/dev/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `Flood ${i}` }) });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect(limited!.headers.get('retry-after')).toBe('60');
    expect((await limited!.json()).error.code).toBe('rate_limited');
  });
});
