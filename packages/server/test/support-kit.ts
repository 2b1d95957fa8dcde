// Helpers shared by the support-*.test.ts suites: a real Warbler whose
// gpt-4o-mini is the upstream fixture (real HTTP, real wire format, priced).
import type { Message, SupportConversation, SupportStatus } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { DEMO_AGENT_ID } from '../src/agents/index.ts';
import { startServer, type StoreKind, type TestServer } from './harness.ts';

/** Polls until the probe returns something other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What the agent said in a conversation, as the customer sees it. */
export async function agentMessages(server: TestServer, conversationId: string, token: string, agentId = DEMO_AGENT_ID): Promise<Message[]> {
  const page = await server.api('GET', `/api/conversations/${conversationId}/messages?limit=200`, undefined, token);
  if (page.status !== 200) throw new Error(`history: ${page.status} ${JSON.stringify(page.body)}`);
  return (page.body.messages as Message[]).filter((m) => m.sender_id === agentId);
}

export interface Visitor {
  id: string;
  token: string;
  conversationId: string;
  agentId: string;
}

export interface SupportWorld {
  server: TestServer;
  upstream: UpstreamFixture;
  /** An agent on the fixture's gpt-4o-mini. */
  agent(name: string, extra?: Record<string, unknown>): Promise<string>;
  /** A new visitor with an open support conversation with the agent. */
  visit(agentId: string, locale?: 'zh-CN' | 'en'): Promise<Visitor>;
  /** The visitor sends a text; resolves with the stored message. */
  say(visitor: Visitor, text: string): Promise<Message>;
  state(conversationId: string): Promise<SupportConversation>;
  /** Waits until the conversation's status is `status`. */
  until(conversationId: string, status: SupportStatus): Promise<SupportConversation>;
  /** The agent's text replies (not system notices) in the visitor's conversation, finished ones. */
  replies(visitor: Visitor): Promise<Message[]>;
  /** A person with the support role, and a token. */
  staff(name: string): Promise<{ id: string; token: string }>;
  stop(): Promise<void>;
}

export async function supportWorld(kind: StoreKind, env: Record<string, string> = {}): Promise<SupportWorld> {
  const upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 1 } });
  const server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, ...env });
  let n = 0;
  const world: SupportWorld = {
    server, upstream,
    async agent(name, extra = {}) {
      const created = await server.api('POST', '/api/agents', { name, model: 'gpt-4o-mini', id: `${name.toLowerCase()}-${++n}`, ...extra });
      if (created.status !== 201) throw new Error(`agent: ${JSON.stringify(created.body)}`);
      return created.body.id as string;
    },
    async visit(agentId, locale = 'en') {
      const user = await server.user('Visitor');
      const opened = await server.api('POST', '/api/support/conversations', { agent_id: agentId, locale }, user.token);
      if (opened.status !== 201) throw new Error(`open: ${opened.status} ${JSON.stringify(opened.body)}`);
      return { ...user, conversationId: opened.body.conversation.conversation_id, agentId };
    },
    async say(visitor, text) {
      const sent = await server.api('POST', `/api/conversations/${visitor.conversationId}/messages`, { type: 'text', content: { text } }, visitor.token);
      if (sent.status !== 201) throw new Error(`send: ${sent.status} ${JSON.stringify(sent.body)}`);
      return sent.body.message as Message;
    },
    async state(conversationId) {
      const got = await server.api('GET', `/api/support/conversations/${conversationId}`);
      if (got.status !== 200) throw new Error(`state: ${got.status} ${JSON.stringify(got.body)}`);
      return got.body as SupportConversation;
    },
    async until(conversationId, status) {
      return eventually(async () => {
        const s = await world.state(conversationId);
        return s.status === status ? s : undefined;
      });
    },
    async replies(visitor) {
      return (await agentMessages(server, visitor.conversationId, visitor.token, visitor.agentId)).filter((m) => m.type === 'text' && m.state !== 'streaming');
    },
    async staff(name) {
      const person = await server.user(name);
      const granted = await server.api('PUT', `/api/support/staff/${person.id}`);
      if (granted.status !== 200) throw new Error(`grant: ${granted.status} ${JSON.stringify(granted.body)}`);
      return person;
    },
    async stop() {
      await server.stop();
      await upstream.close();
    },
  };
  return world;
}
