import { describe, expect, it } from 'vitest';
import { ConversationsApi, fileLink, Rest, uploadFile } from './rest.ts';
import { TokenSource } from './token.ts';

interface Call { url: string; method: string; headers: Record<string, string>; body: unknown }

function fakeServer(respond: (call: Call) => Response) {
  const calls: Call[] = [];
  const fetcher = async (url: string, init: RequestInit = {}) => {
    const call = { url, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: init.body };
    calls.push(call);
    return respond(call);
  };
  return { calls, fetcher };
}
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('Rest', () => {
  it('sends the user token and JSON, under any path prefix', async () => {
    const { calls, fetcher } = fakeServer(() => json(201, { id: 'cnv_1' }));
    const api = new ConversationsApi(new Rest('wss://chat.example.com/warbler/', new TokenSource('tok'), fetcher), async () => 'me');
    const created = await api.create({ kind: 'group', member_ids: ['u2'], title: 'T' });
    expect(created).toEqual({ id: 'cnv_1' });
    expect(calls[0]).toMatchObject({
      url: 'https://chat.example.com/warbler/api/conversations',
      method: 'POST',
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
    });
    expect(JSON.parse(calls[0]?.body as string)).toEqual({ kind: 'group', member_ids: ['u2'], title: 'T' });
  });

  it('unwraps list, members and added, and leaves as the signed-in user', async () => {
    const { calls, fetcher } = fakeServer((call) => {
      if (call.method === 'DELETE') return new Response(null, { status: 204 });
      if (call.url.endsWith('/members') && call.method === 'GET') return json(200, { members: [{ user_id: 'u1' }] });
      if (call.url.endsWith('/members')) return json(200, { added: [{ user_id: 'u3' }] });
      return json(200, { conversations: [], next_before: null });
    });
    const api = new ConversationsApi(new Rest('http://h', new TokenSource('tok'), fetcher), async () => 'me');
    expect(await api.list({ limit: 10 })).toEqual({ conversations: [], next_before: null });
    expect(await api.members('c 1')).toEqual([{ user_id: 'u1' }]);
    expect(await api.addMembers('c1', ['u3'])).toEqual([{ user_id: 'u3' }]);
    await api.leave('c1');
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET http://h/api/conversations?limit=10',
      'GET http://h/api/conversations/c%201/members',
      'POST http://h/api/conversations/c1/members',
      'DELETE http://h/api/conversations/c1/members/me',
    ]);
  });

  it('turns an error body into a WarblerError with code, status and message', async () => {
    const { fetcher } = fakeServer(() => json(403, { error: { code: 'not_member', message: 'Ask a member to add you.' } }));
    const rest = new Rest('http://h', new TokenSource('tok'), fetcher);
    await expect(rest.call('GET', '/api/conversations/c1')).rejects.toMatchObject({ name: 'WarblerError', code: 'not_member', status: 403, message: 'Ask a member to add you.' });
  });

  it('describes a response that is not a Warbler error', async () => {
    const { fetcher } = fakeServer(() => new Response('<html>bad gateway</html>', { status: 502 }));
    await expect(new Rest('http://h', new TokenSource('tok'), fetcher).call('GET', '/x')).rejects.toMatchObject({ code: 'unavailable', status: 502 });
  });

  it('reports an unreachable server as a network error', async () => {
    const rest = new Rest('http://h', new TokenSource('tok'), async () => Promise.reject(new TypeError('fetch failed')));
    await expect(rest.call('GET', '/x')).rejects.toMatchObject({ code: 'network' });
  });

  it('renews the token once on 401 and retries', async () => {
    let n = 0;
    const { calls, fetcher } = fakeServer((call) => (call.headers.authorization === 'Bearer t2' ? json(200, { ok: true }) : json(401, { error: { code: 'token_expired', message: 'expired' } })));
    const rest = new Rest('http://h', new TokenSource(async () => `t${++n}`), fetcher);
    expect(await rest.call('GET', '/x')).toEqual({ ok: true });
    expect(calls.map((c) => c.headers.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('asks for a file link with the token in the header and returns it as a full URL', async () => {
    const { calls, fetcher } = fakeServer(() => json(200, { url: '/api/files/fil_1?app=a&exp=9&sig=s', expires_at: 9000 }));
    const rest = new Rest('wss://chat.example.com/warbler', new TokenSource('tok'), fetcher);
    expect(await fileLink(rest, 'fil_1')).toEqual({ url: 'https://chat.example.com/warbler/api/files/fil_1?app=a&exp=9&sig=s', expires_at: 9000 });
    const call = calls[0] as Call;
    expect(call.url).toBe('https://chat.example.com/warbler/api/files/fil_1/url');
    expect(call.headers.authorization).toBe('Bearer tok');
  });

  it('uploads bytes as multipart with the name and type', async () => {
    const { calls, fetcher } = fakeServer(() => json(201, { id: 'file_1', name: 'a.png', mime: 'image/png', size: 3 }));
    const rest = new Rest('http://h', new TokenSource('tok'), fetcher);
    const stored = await uploadFile(rest, 'c1', new Uint8Array([1, 2, 3]), 'a.png', 'image/png');
    expect(stored).toMatchObject({ id: 'file_1' });
    const call = calls[0] as Call;
    expect(call.url).toBe('http://h/api/conversations/c1/files');
    expect(call.headers['content-type']).toBeUndefined(); // fetch sets the multipart boundary itself
    const file = (call.body as FormData).get('file') as File;
    expect([file.name, file.type, file.size]).toEqual(['a.png', 'image/png', 3]);
  });
});
