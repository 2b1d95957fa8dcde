// Helpers shared by the support-*.test.ts suites.
import type { Message } from '@warbler/protocol';
import { DEMO_AGENT_ID } from '../src/agents/index.ts';
import type { TestServer } from './harness.ts';

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
