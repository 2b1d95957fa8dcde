// One user may have only so many uploads running at once (issue 10, noisy
// neighbours): another of theirs waits, unread, for a turn, while other
// users' uploads go through at once.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const B = 'upload-turns-boundary';
const head = `--${B}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\nContent-Type: text/plain\r\n\r\n`;
const tail = `\r\n--${B}--\r\n`;

describe.each(storeKinds())('uploads running at once per user on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind, { WARBLER_MAX_UPLOADS_PER_USER: '1' });
  });
  afterAll(async () => server?.stop());

  const uploadSmall = async (conv: string, token: string, text: string) => {
    const form = new FormData();
    form.append('file', new Blob([text], { type: 'text/plain' }), 'small.txt');
    const res = await fetch(`${server.url}/api/conversations/${conv}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    return res.status;
  };

  it('a second upload of the same user waits for the first to end; another user is not held up', async () => {
    const alice = await server.user('Alice');
    const bob = await server.user('Bob');
    const conv = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [bob.id] }, alice.token)).body.id as string;

    // Alice's first upload: a slow phone, still sending.
    const slow = request(`${server.url}/api/conversations/${conv}/files`, {
      method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': `multipart/form-data; boundary=${B}` },
    });
    const slowDone = new Promise<number>((resolve) => slow.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }));
    slow.write(head + 'first part, ');
    await new Promise((r) => setTimeout(r, 200)); // the server has taken the upload's turn by now

    const order: string[] = [];
    const second = uploadSmall(conv, alice.token, 'second').then((status) => {
      order.push('second');
      return status;
    });
    expect(await uploadSmall(conv, bob.token, 'bob')).toBe(201);
    const held = await Promise.race([second.then(() => 'done'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    expect(held).toBe('waiting');

    slow.end('the rest' + tail);
    expect(await slowDone).toBe(201);
    order.push('first done');
    expect(await second).toBe(201);
    expect(order).toEqual(['first done', 'second']);
  });
});
