import { DatasetFilters, type Message } from '@warbler/protocol';
import { describe, expect, it } from 'vitest';
import { collectItems, isGood, type ConversationSource } from './items-from-conversations.ts';

const AGENT = 'bot';
let seq = 0;
function msg(conversation: string, sender: string, text: string, extra: Partial<Message> & { content?: Record<string, unknown> } = {}): Message {
  seq++;
  return {
    id: `m${seq}`, app_id: 'app', conversation_id: conversation, seq, sender_id: sender, client_msg_id: null, type: 'text', state: 'complete',
    created_at: seq * 1_000, updated_at: seq * 1_000, edited_at: null, ...extra, content: { text, ...extra.content },
  };
}

/** A question and the agent's reply to it; `feedback` as votes by user id. */
function turn(conversation: string, question: string, answer: string, feedback?: Record<string, string>): Message[] {
  const q = msg(conversation, 'alice', question);
  return [q, msg(conversation, AGENT, answer, { content: { reply_to: q.id, model: 'gpt-4o-mini', ...(feedback && { feedback }) } })];
}

const conversations: Record<string, Message[]> = {
  c1: [...turn('c1', 'hello', 'hi there'), ...turn('c1', 'refund?', '14 days [1]', { alice: 'up' })],
  c2: [...turn('c2', 'broken lamp', 'sorry', { alice: 'down' }), msg('c2', AGENT, 'failed', { state: 'failed', content: { reply_to: 'x' } })],
  c3: turn('c3', 'shipping?', 'two days'),
};
const outcomes: Record<string, { outcome: string | null; handedOff: boolean }> = {
  c1: { outcome: 'resolved_by_ai', handedOff: false },
  c2: { outcome: 'resolved_by_human', handedOff: true },
};
const source: ConversationSource = {
  agent: (_app, id) => (id === AGENT ? { system_prompt: 'Be brief.', knowledge_base_ids: [], top_k: 4 } : undefined),
  conversationIds: async () => Object.keys(conversations),
  messages: async (_app, id, page) => ({ messages: (conversations[id] ?? []).filter((m) => m.seq > (page.after ?? 0)).slice(0, page.limit), has_more: false }),
  outcome: async (_app, id) => outcomes[id],
  search: async () => [],
};
const filters = (f: Record<string, unknown>) => DatasetFilters.parse({ agent_id: AGENT, ...f });

describe('collectItems', () => {
  it('keeps the agent\'s complete replies with their question, history window, thumbs and outcome', async () => {
    const items = await collectItems(source, 'app', filters({}), 100);
    expect(items.map((i) => i.data.reference).sort()).toEqual(['14 days [1]', 'hi there', 'sorry', 'two days']);
    const refund = items.find((i) => i.data.question === 'refund?')!;
    expect(refund).toMatchObject({ feedback: 'up', outcome: 'resolved_by_ai', handed_off: false, data: { system_prompt: 'Be brief.', reference_model: 'gpt-4o-mini' } });
    expect(refund.data.history).toEqual([{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi there' }]);
    expect((await collectItems(source, 'app', filters({ history_messages: 1 }), 100)).find((i) => i.data.question === 'refund?')!.data.history)
      .toEqual([{ role: 'assistant', content: 'hi there' }]);
    expect((await collectItems(source, 'app', filters({ history_messages: 0 }), 100)).every((i) => i.data.history.length === 0)).toBe(true);
  });

  it('filters by thumbs, support outcome (a handoff counts on its own) and time', async () => {
    const refs = async (f: Record<string, unknown>) => (await collectItems(source, 'app', filters(f), 100)).map((i) => i.data.reference).sort();
    expect(await refs({ feedback: 'up' })).toEqual(['14 days [1]']);
    expect(await refs({ feedback: 'down' })).toEqual(['sorry']);
    expect(await refs({ outcomes: ['resolved_by_ai'] })).toEqual(['14 days [1]', 'hi there']);
    expect(await refs({ outcomes: ['handed_off'] })).toEqual(['sorry']);
    expect(await refs({ outcomes: ['resolved_by_human', 'resolved_by_ai'] })).toHaveLength(3);
    const refund = conversations.c1![3]!;
    expect(await refs({ since: refund.created_at, until: refund.created_at + 1 })).toEqual(['14 days [1]']);
  });

  it('stops at the most items asked for, and finds nothing for an unknown agent', async () => {
    expect(await collectItems(source, 'app', filters({}), 2)).toHaveLength(2);
    expect(await collectItems(source, 'app', filters({ agent_id: 'nobody' }), 10)).toEqual([]);
  });

  it('calls an item good when rated up or resolved by the AI, never when rated down', () => {
    expect(isGood({ feedback: 'up', outcome: null })).toBe(true);
    expect(isGood({ feedback: null, outcome: 'resolved_by_ai' })).toBe(true);
    expect(isGood({ feedback: 'down', outcome: 'resolved_by_ai' })).toBe(false);
    expect(isGood({ feedback: null, outcome: 'resolved_by_human' })).toBe(false);
  });
});
