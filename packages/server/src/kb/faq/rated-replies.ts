import type { RatedReplies } from './faqs.ts';

interface StoredMessage {
  id: string;
  sender_id: string;
  content: Record<string, unknown>;
}

/** RatedReplies over the chat room's messages and the users' kinds, for the composition root. */
export function ratedRepliesFrom(deps: {
  getMessage(appId: string, id: string): Promise<StoredMessage | undefined>;
  isAgent(appId: string, userId: string): Promise<boolean>;
}): RatedReplies {
  return {
    async get(appId, id) {
      const m = await deps.getMessage(appId, id);
      if (!m) return undefined;
      const feedback = m.content['feedback'];
      const ratings = typeof feedback === 'object' && feedback !== null ? Object.values(feedback) : [];
      return {
        id: m.id,
        text: typeof m.content['text'] === 'string' ? m.content['text'] : '',
        reply_to: typeof m.content['reply_to'] === 'string' ? m.content['reply_to'] : null,
        rated_up: ratings.includes('up'),
        from_agent: await deps.isAgent(appId, m.sender_id).catch(() => false),
      };
    },
  };
}
