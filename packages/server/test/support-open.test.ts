// Issue 11: a visitor's support conversation, opened (or found again) by the
// widget, answered by the app's agent while the bot holds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AGENT_ID } from '../src/agents/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';
import { agentMessages, eventually } from './support-kit.ts';

describe.each(storeKinds())('support conversations on %s', (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(kind);
  });
  afterAll(async () => server?.stop());

  it('opens one conversation per visitor and agent, gets the same one back, and the agent answers the customer', async () => {
    const visitor = await server.user('Visitor');
    const events: string[] = [];
    const off = server.warbler.events.on((e) => void events.push(`${e.type}:${String(e.data.conversation_id)}`));
    const first = await server.warbler.support.openFor('default', visitor.id, { locale: 'zh-CN' });
    const again = await server.warbler.support.openFor('default', visitor.id, { agentId: DEMO_AGENT_ID });
    off();
    expect(first).toMatchObject({ created: true, conversation: { status: 'bot', agent_id: DEMO_AGENT_ID, customer_id: visitor.id, locale: 'zh-CN', handoffs: 0 } });
    expect(again).toMatchObject({ created: false, conversation: { conversation_id: first.conversation.conversation_id } });
    expect(events).toEqual([`conversation.created:${first.conversation.conversation_id}`]);

    const id = first.conversation.conversation_id;
    const chat = await server.api('GET', `/api/conversations/${id}`, undefined, visitor.token);
    expect(chat.body).toMatchObject({ kind: 'support' });
    const sent = await server.api('POST', `/api/conversations/${id}/messages`, { type: 'text', content: { text: 'How do I get started with Warbler?' } }, visitor.token);
    expect(sent.status).toBe(201);
    const replies = await eventually(async () => {
      const found = (await agentMessages(server, id, visitor.token)).filter((m) => m.type === 'text' && m.state === 'complete');
      return found.length > 0 ? found : undefined;
    });
    expect(replies[0]!.content.reply_to).toBe(sent.body.message.id);
    // The support room hears of the finished reply just after it is stored (its bookkeeping runs behind the reply).
    const row = await eventually(async () => {
      const r = await server.warbler.support.get('default', id);
      return r.first_response_ms !== null ? r : undefined;
    });
    expect(row.first_response_ms).toBeGreaterThanOrEqual(0);
  });

  it('refuses an agent that is not in the app, and a customer who is not a user', async () => {
    const visitor = await server.user('Visitor');
    await expect(server.warbler.support.openFor('default', visitor.id, { agentId: 'no-such-agent' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(server.warbler.support.openFor('default', 'nobody-at-all')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('starts a new conversation once the last one was closed (spam or abandoned), and keeps a resolved one to reopen', async () => {
    const visitor = await server.user('Visitor');
    const first = (await server.warbler.support.openFor('default', visitor.id)).conversation.conversation_id;
    await server.warbler.support.resolve('default', first, 'resolved_by_ai', null);
    expect((await server.warbler.support.openFor('default', visitor.id)).conversation).toMatchObject({ conversation_id: first, status: 'resolved' });
    const closed = await server.warbler.support.resolve('default', first, 'spam', null);
    expect(closed.status).toBe('resolved');
    const opened = await server.api('POST', `/api/support/conversations/${first}/handoff`, {}, visitor.token);
    expect(opened.body).toMatchObject({ status: 'pending_human', reopens: 1 });
    expect((await server.warbler.support.resolve('default', first, 'spam', null))).toMatchObject({ status: 'closed', outcome: 'spam' });
    expect((await server.api('POST', `/api/support/conversations/${first}/handoff`, {}, visitor.token)).status).toBe(400);
    const next = await server.warbler.support.openFor('default', visitor.id);
    expect(next.created).toBe(true);
    expect(next.conversation.conversation_id).not.toBe(first);
  });

  it('keeps the AI silent while the conversation waits for a person', async () => {
    const visitor = await server.user('Visitor');
    const { conversation } = await server.warbler.support.openFor('default', visitor.id);
    const id = conversation.conversation_id;
    const handed = await server.warbler.support.handoff('default', id, 'customer_button', null, visitor.id);
    expect(handed).toMatchObject({ status: 'pending_human', handoff_reason: 'customer_button', handoffs: 1 });
    await server.api('POST', `/api/conversations/${id}/messages`, { type: 'text', content: { text: 'How do I get started with Warbler?' } }, visitor.token);
    await server.warbler.runtime.idle();
    const said = await agentMessages(server, id, visitor.token);
    expect(said.filter((m) => m.type !== 'system')).toEqual([]);
    expect(said.filter((m) => m.type === 'system').map((m) => m.content.support)).toEqual([{ event: 'handoff', status: 'pending_human' }]);
  });
});
