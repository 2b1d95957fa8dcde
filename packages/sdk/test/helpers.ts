import { WebSocket } from 'ws';
import type { Message } from '@warbler/protocol';
import { WarblerClient, type StatusChange, type WarblerClientOptions, type WarblerError } from '../src/index.ts';
import type { ScriptedPeer } from './peer.ts';

/** Polls until the check passes; real sockets need real time, but never a fixed sleep. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client wired to the peer, with everything it emits recorded. */
export function clientFor(peer: ScriptedPeer, overrides: Partial<WarblerClientOptions> = {}) {
  const client = new WarblerClient({
    url: peer.url,
    token: 'tok-alice',
    WebSocket,
    reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    ...overrides,
  });
  const messages: Message[] = [];
  const updates: Message[] = [];
  const statuses: StatusChange[] = [];
  const errors: WarblerError[] = [];
  client.on('message', (m) => messages.push(m));
  client.on('message.updated', (m) => updates.push(m));
  client.on('status', (s) => statuses.push(s));
  client.on('error', (e) => errors.push(e));
  const texts = (conversationId?: string) =>
    messages.filter((m) => conversationId === undefined || m.conversation_id === conversationId).map((m) => m.content.text);
  return { client, messages, updates, statuses, errors, texts };
}

/** Every (conversation, seq) at most once, in increasing seq per conversation. */
export function assertOnceInOrder(messages: Message[]): void {
  const last = new Map<string, number>();
  for (const m of messages) {
    const prev = last.get(m.conversation_id) ?? 0;
    if (m.seq <= prev) throw new Error(`message ${m.conversation_id}#${m.seq} emitted after #${prev}`);
    last.set(m.conversation_id, m.seq);
  }
}
