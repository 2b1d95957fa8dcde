// Replies (quoting a message), issue 15: a reply names a message of its own
// conversation, over REST and WS alike; the server adds who sent it and keeps
// no copy of its text.
import type { AckFrame, ErrorFrame, ResultFrame } from '@warbler/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('replies on %s', (kind) => {
  let server: TestServer;
  let ann: { id: string; token: string };
  let bo: { id: string; token: string };
  let cy: { id: string; token: string };
  let room: string;
  let elsewhere: string;

  beforeAll(async () => {
    server = await startServer(kind);
    ann = await server.user('Ann');
    bo = await server.user('Bo');
    cy = await server.user('Cy');
    room = (await server.api('POST', '/api/conversations', { kind: 'group', title: 'Room', member_ids: [bo.id] }, ann.token)).body.id;
    elsewhere = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [cy.id] }, ann.token)).body.id;
  });
  afterAll(async () => server?.stop());

  const send = (conversation: string, content: Record<string, unknown>, token: string, type = 'text') =>
    server.api('POST', `/api/conversations/${conversation}/messages`, { type, client_msg_id: `c-${Math.random()}`, content }, token);
  const history = async (conversation: string, token: string) =>
    (await server.api('GET', `/api/conversations/${conversation}/messages`, undefined, token)).body.messages as Array<{ id: string; content: Record<string, unknown> }>;

  it('stores a reply with the quoted message and its sender, and the other member gets it live', async () => {
    const question = (await send(room, { text: 'Which plan fits a team of five?' }, ann.token)).body.message;
    const b = await TestSocket.open(server.wsUrl, bo.token);
    const ack = await b.request<AckFrame>({ type: 'send', conversation_id: room, client_msg_id: 'r1', content: { text: 'Team plan', reply_to: { message_id: question.id } } });
    expect(ack.message.content).toEqual({ text: 'Team plan', reply_to: { message_id: question.id, sender_id: ann.id } });
    const stored = (await history(room, ann.token)).find((m) => m.id === ack.message.id);
    expect(stored?.content.reply_to).toEqual({ message_id: question.id, sender_id: ann.id });
    await b.close();
  });

  it('refuses a reply to a message of another conversation or to none, the same way, and stores nothing', async () => {
    const secret = (await send(elsewhere, { text: 'only for Cy' }, ann.token)).body.message;
    const before = (await history(room, bo.token)).length;
    for (const message_id of [secret.id, 'no-such-message']) {
      const res = await send(room, { text: 'probe', reply_to: { message_id } }, bo.token);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'bad_request', message: 'content.reply_to.message_id is not a message of this conversation.' });
    }
    const b = await TestSocket.open(server.wsUrl, bo.token);
    const refused = await b.request<ErrorFrame>({ type: 'send', conversation_id: room, client_msg_id: 'r-probe', content: { text: 'probe', reply_to: { message_id: secret.id } } });
    expect(refused).toMatchObject({ type: 'error', code: 'bad_request' });
    await b.close();
    expect((await history(room, bo.token)).length).toBe(before);
  });

  it('lets a sender name only the message: the sender and any text are the server\'s to fill', async () => {
    const question = (await send(room, { text: 'hi' }, ann.token)).body.message;
    for (const reply_to of [{ message_id: question.id, sender_id: bo.id }, { message_id: question.id, text: 'forged quote' }, { id: question.id }]) {
      const res = await send(room, { text: 'forged', reply_to }, bo.token);
      expect(res.status).toBe(400);
    }
  });

  it('keeps what a message answers when its text is edited', async () => {
    const question = (await send(room, { text: 'Price?' }, ann.token)).body.message;
    const reply = (await send(room, { text: 'Ten euros', reply_to: { message_id: question.id } }, bo.token)).body.message;
    const b = await TestSocket.open(server.wsUrl, bo.token);
    const edited = await b.request<ResultFrame<{ content: Record<string, unknown> }>>({ type: 'edit', message_id: reply.id, content: { text: 'Twelve euros' } });
    expect(edited.data.content).toEqual({ text: 'Twelve euros', reply_to: { message_id: question.id, sender_id: ann.id } });
    await b.close();
  });

  it('lets a file or image message answer one too', async () => {
    const question = (await send(room, { text: 'Send the invoice?' }, ann.token)).body.message;
    const form = new FormData();
    form.append('file', new Blob(['invoice 42'], { type: 'text/plain' }), 'invoice.txt');
    const upload = await fetch(`${server.url}/api/conversations/${room}/files`, { method: 'POST', headers: { authorization: `Bearer ${bo.token}` }, body: form });
    const file = (await upload.json()) as { id: string };
    const res = await send(room, { file_id: file.id, reply_to: { message_id: question.id } }, bo.token, 'file');
    expect(res.status).toBe(201);
    expect(res.body.message.content.reply_to).toEqual({ message_id: question.id, sender_id: ann.id });
  });
});
