import type { ConversationKind, Message } from '@warbler/protocol';
import type { Agent } from './definition.ts';

/** Most agent replies in a row in one conversation without a person speaking. */
export const MAX_AGENT_CHAIN = 3;

export function messageText(message: Message): string {
  const text = (message.content as { text?: unknown }).text;
  return typeof text === 'string' ? text : '';
}

/** True when the message names the agent: "@Name" in the text, or its id in content.mentions. */
export function mentions(message: Message, agent: Agent): boolean {
  const listed = (message.content as { mentions?: unknown }).mentions;
  if (Array.isArray(listed) && listed.includes(agent.id)) return true;
  const text = messageText(message).toLowerCase();
  if (!text.includes('@')) return false;
  const name = agent.config.name.toLowerCase();
  const at = text.indexOf(`@${name}`);
  if (at === -1) return text.includes(`@${agent.id.toLowerCase()}`);
  // "@Warbler Assistant," matches; "@Warbler Assistants" does not.
  const after = text.charAt(at + name.length + 1);
  return after === '' || !/[\p{L}\p{N}_]/u.test(after);
}

/**
 * Whether this agent answers this message. Agents never answer themselves;
 * another agent's message is answered only when it names this agent, and
 * only while the chain of agent replies stays short (the loop guard).
 */
export function shouldReply(agent: Agent, kind: ConversationKind, message: Message, senderIsAgent: boolean, agentChain: number): boolean {
  if (message.sender_id === agent.id) return false;
  if (message.state !== 'complete' || message.type === 'system') return false;
  if (senderIsAgent && (agentChain >= MAX_AGENT_CHAIN || !mentions(message, agent))) return false;
  // A support conversation's customer is always answered, unless the support room says a person holds it (SupportReplies).
  if (kind === 'direct' || kind === 'support') return true;
  return agent.config.trigger.group === 'all' ? !senderIsAgent || mentions(message, agent) : mentions(message, agent);
}

export function isReset(message: Message): boolean {
  return message.type === 'text' && messageText(message).trim().toLowerCase() === '/reset';
}
