// Cuts a dataset out of an agent's real conversations: every complete reply
// of the agent that passes the filters becomes an item holding what the agent
// had (its system prompt, the messages before the question, the passages the
// knowledge base gives for the question) and what it answered (the reference).
import type { ChatTurn, DatasetFilters, DatasetPassage, Message } from '@warbler/protocol';
import { knowledgePassages, type Passage } from '../kb/index.ts';

/** What the room reads from other rooms, wired by app.ts through their own services. */
export interface ConversationSource {
  agent(appId: string, agentId: string): { system_prompt: string; knowledge_base_ids: readonly string[]; top_k: number } | undefined;
  /** Conversations the agent is a member of. */
  conversationIds(appId: string, agentId: string): Promise<string[]>;
  /** A page of a conversation's messages, oldest first after `after` (a seq). */
  messages(appId: string, conversationId: string, page: { after?: number; limit: number }): Promise<{ messages: Message[]; has_more: boolean }>;
  /** A support conversation's outcome; undefined for other conversations. */
  outcome(appId: string, conversationId: string): Promise<{ outcome: string | null; handedOff: boolean } | undefined>;
  search(appId: string, kbIds: readonly string[], query: string, k: number): Promise<Passage[]>;
}

/** What an item keeps sealed: the context and the reference. */
export interface ItemData {
  system_prompt: string;
  history: ChatTurn[];
  passages: DatasetPassage[];
  question: string;
  reference: string;
  reference_model: string | null;
}

export interface CollectedItem {
  conversation_id: string;
  message_id: string;
  feedback: 'up' | 'down' | null;
  outcome: string | null;
  handed_off: boolean;
  created_at: number;
  data: ItemData;
}

/** Bounds on one cut, whatever the app holds: conversations and messages read. */
const MAX_CONVERSATIONS = 5_000;
const MAX_MESSAGES_PER_CONVERSATION = 2_000;
const PAGE = 200;

export async function collectItems(source: ConversationSource, appId: string, filters: DatasetFilters, maxItems: number): Promise<CollectedItem[]> {
  const agent = source.agent(appId, filters.agent_id);
  if (!agent) return [];
  const found: CollectedItem[] = [];
  // Conversation ids begin with their creation time: the newest conversations first.
  const conversations = (await source.conversationIds(appId, filters.agent_id)).sort().reverse().slice(0, MAX_CONVERSATIONS);
  for (const conversationId of conversations) {
    if (found.length >= maxItems) break;
    const outcome = await source.outcome(appId, conversationId);
    if (filters.outcomes && !matchesOutcome(filters.outcomes, outcome)) continue;
    const messages = await readConversation(source, appId, conversationId);
    for (const item of repliesIn(messages, filters, outcome)) {
      if (found.length >= maxItems) break;
      found.push(item);
    }
  }
  // Passages are looked up only for the items kept: a search may cost an embedding call.
  for (const item of found) {
    if (agent.knowledge_base_ids.length === 0) continue;
    const hits = await source.search(appId, agent.knowledge_base_ids, item.data.question, agent.top_k);
    item.data.passages = knowledgePassages(hits).map(({ index, title, heading_path, source: from, text }) => ({ index, title, heading_path, source: from, text }));
  }
  for (const item of found) item.data.system_prompt = agent.system_prompt;
  return found;
}

function matchesOutcome(wanted: readonly string[], outcome: { outcome: string | null; handedOff: boolean } | undefined): boolean {
  if (!outcome) return false;
  return wanted.some((w) => (w === 'handed_off' ? outcome.handedOff : outcome.outcome === w));
}

async function readConversation(source: ConversationSource, appId: string, conversationId: string): Promise<Message[]> {
  const all: Message[] = [];
  let after = 0;
  while (all.length < MAX_MESSAGES_PER_CONVERSATION) {
    const page = await source.messages(appId, conversationId, { after, limit: PAGE });
    all.push(...page.messages);
    if (!page.has_more || page.messages.length === 0) break;
    after = page.messages.at(-1)!.seq;
  }
  return all;
}

/** The agent's complete text replies to a message of the same conversation, within the filters. */
function* repliesIn(messages: Message[], filters: DatasetFilters, outcome: { outcome: string | null; handedOff: boolean } | undefined): Generator<CollectedItem> {
  const at = new Map(messages.map((m, i) => [m.id, i]));
  for (const m of messages) {
    if (m.sender_id !== filters.agent_id || m.type !== 'text' || m.state !== 'complete' || m.content.error !== undefined) continue;
    if (filters.since !== undefined && m.created_at < filters.since) continue;
    if (filters.until !== undefined && m.created_at >= filters.until) continue;
    const reference = textOf(m);
    const questionAt = typeof m.content.reply_to === 'string' ? at.get(m.content.reply_to) : undefined;
    if (!reference || questionAt === undefined) continue;
    const question = textOf(messages[questionAt]!);
    if (!question) continue;
    const feedback = thumbsOf(m);
    if (filters.feedback && feedback !== filters.feedback) continue;
    const history = messages.slice(0, questionAt).filter((h) => h.type === 'text' && h.state === 'complete' && textOf(h))
      .slice(-filters.history_messages || messages.length)
      .map((h): ChatTurn => ({ role: h.sender_id === filters.agent_id ? 'assistant' : 'user', content: textOf(h) }));
    yield {
      conversation_id: m.conversation_id, message_id: m.id, feedback, outcome: outcome?.outcome ?? null, handed_off: outcome?.handedOff ?? false,
      created_at: m.created_at,
      data: {
        system_prompt: '', history: filters.history_messages === 0 ? [] : history, passages: [], question, reference,
        reference_model: typeof m.content.model === 'string' ? m.content.model : null,
      },
    };
  }
}

function textOf(m: Message): string {
  return typeof m.content.text === 'string' ? m.content.text.trim() : '';
}

/** A reply's thumbs: down when anyone voted it down, up when someone voted it up. */
function thumbsOf(m: Message): 'up' | 'down' | null {
  const votes = typeof m.content.feedback === 'object' && m.content.feedback !== null ? Object.values(m.content.feedback as Record<string, unknown>) : [];
  return votes.includes('down') ? 'down' : votes.includes('up') ? 'up' : null;
}

/** Thumbs-up or resolved by the AI, and nobody voted it down: an answer worth training on. */
export function isGood(item: Pick<CollectedItem, 'feedback' | 'outcome'>): boolean {
  return item.feedback !== 'down' && (item.feedback === 'up' || item.outcome === 'resolved_by_ai');
}
