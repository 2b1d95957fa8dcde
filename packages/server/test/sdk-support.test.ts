// @warbler/sdk's support inbox (client.support and the `support` event)
// against a real server whose agent is the upstream fixture's gpt-4o-mini.
import type { Message, SupportPushFrame } from '@warbler/protocol';
import { WarblerClient, WarblerError } from '@warbler/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { storeKinds } from './harness.ts';
import { eventually, supportWorld, type SupportWorld } from './support-kit.ts';

describe.each(storeKinds())('@warbler/sdk support inbox on %s', (kind) => {
  let world: SupportWorld;
  let desk: string;
  const clients: WarblerClient[] = [];

  beforeAll(async () => {
    world = await supportWorld(kind);
    desk = await world.agent('Desk');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await world?.stop();
  });

  const clientOf = async (token: string) => {
    const client = new WarblerClient({ url: world.server.url, token, WebSocket: WebSocket as never });
    clients.push(client);
    await client.connect();
    return client;
  };

  it('queues, claims, replies, notes, hands back and resolves, with every change pushed as a support event', async () => {
    const ann = await world.staff('Ann');
    const staff = await clientOf(ann.token);
    const frames: SupportPushFrame[] = [];
    staff.on('support', (f) => frames.push(f));
    expect(await staff.support.me()).toEqual({ user_id: ann.id, staff: true });

    const v = await world.visit(desk);
    await world.say(v, 'Where is my parcel?');
    await eventually(async () => ((await world.replies(v)).length > 0 ? true : undefined));
    const handoff = await world.server.api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token);
    expect(handoff.status).toBe(200);
    const pushed = await eventually(async () => frames.find((f) => f.event === 'handoff' && f.conversation.conversation_id === v.conversationId));
    expect(pushed.conversation).toMatchObject({ status: 'pending_human', handoff_reason: 'customer_button' });

    const waiting = await staff.support.queue('unassigned');
    expect(waiting.conversations.map((c) => c.conversation_id)).toContain(v.conversationId);
    // Read before joining: the customer's words and the AI's answer, oldest first.
    const before = await staff.support.history(v.conversationId);
    expect(before.messages.map((m) => m.sender_id).slice(0, 2)).toEqual([v.id, desk]);

    const claimed = await staff.support.claim(v.conversationId);
    expect(claimed).toMatchObject({ status: 'human', assignee_id: ann.id });
    await eventually(async () => frames.find((f) => f.event === 'assigned' && f.conversation.conversation_id === v.conversationId));
    expect((await staff.support.queue('mine')).conversations.map((c) => c.conversation_id)).toEqual([v.conversationId]);

    // Claiming joined Ann: she answers with an ordinary send, and sees the customer's next words live.
    const seen: Message[] = [];
    staff.on('message', (m) => seen.push(m));
    const reply = await staff.send(v.conversationId, 'Hi, I am Ann. Let me look.');
    expect(reply.sender_id).toBe(ann.id);
    await world.say(v, 'Thank you');
    await eventually(async () => (seen.some((m) => m.content.text === 'Thank you') ? true : undefined));

    const note = await staff.support.addNote(v.conversationId, 'Parcel stuck at customs, ticket 42.');
    expect(note).toMatchObject({ author_id: ann.id, text: 'Parcel stuck at customs, ticket 42.' });
    const noted = await eventually(async () => frames.find((f) => f.event === 'note'));
    expect(noted.note?.id).toBe(note.id);
    expect((await staff.support.notes(v.conversationId)).map((n) => n.text)).toEqual(['Parcel stuck at customs, ticket 42.']);

    expect(await staff.support.handBack(v.conversationId)).toMatchObject({ status: 'bot' });
    await staff.support.claim(v.conversationId);
    const resolved = await staff.support.resolve(v.conversationId);
    expect(resolved).toMatchObject({ status: 'resolved', outcome: 'resolved_by_human' });
    await eventually(async () => frames.find((f) => f.event === 'resolved' && f.conversation.conversation_id === v.conversationId));
    expect((await staff.support.queue('resolved')).conversations.map((c) => c.conversation_id)).toContain(v.conversationId);
    expect((await staff.support.get(v.conversationId)).human_messages).toBe(1);
  });

  it('tells a customer they are not staff, refuses them the inbox, and gives a second claimer a conflict', async () => {
    const ben = await world.staff('Ben');
    const cat = await world.staff('Cat');
    const v = await world.visit(desk);
    const customer = await clientOf(v.token);
    const customerFrames: SupportPushFrame[] = [];
    customer.on('support', (f) => customerFrames.push(f));
    expect(await customer.support.me()).toEqual({ user_id: v.id, staff: false });
    const refused = await customer.support.queue().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WarblerError);
    expect(refused).toMatchObject({ code: 'forbidden', status: 403 });

    const first = await clientOf(ben.token);
    const second = await clientOf(cat.token);
    await world.server.api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token);
    await first.support.claim(v.conversationId);
    const lost = await second.support.claim(v.conversationId).catch((e: unknown) => e);
    expect(lost).toMatchObject({ code: 'conflict', status: 409 });
    // The customer's own socket never carries support frames.
    await first.support.resolve(v.conversationId);
    expect(customerFrames).toEqual([]);
  });
});
