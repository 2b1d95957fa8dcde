import { z } from 'zod';

/** The reactions offered in one tap; any other single emoji may be sent too. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const;
/** Different emoji one message may carry (a new kind beyond these is refused; existing ones can still be added to). */
export const MAX_REACTION_KINDS = 20;
/** Reactions one user may add or remove a minute. */
export const REACTIONS_PER_MINUTE = 60;
/** Most user ids listed per emoji (the count is always exact). */
export const MAX_REACTION_USERS_LISTED = 50;

const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const FLAG = /^\p{Regional_Indicator}{2}$/u;
const KEYCAP = /^[0-9#*]\uFE0F?\u20E3$/u;

/** Whether the text is exactly one emoji grapheme (a face, a flag, a keycap, a family joined by ZWJ, a skin tone). */
export function isSingleEmoji(text: string): boolean {
  if (text.length === 0 || text.length > 32) return false;
  const graphemes = [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text)];
  if (graphemes.length !== 1) return false;
  if (FLAG.test(text) || KEYCAP.test(text)) return true;
  // Every code point must belong to an emoji sequence: pictographs, joiners, variation selectors, skin tones, tags.
  return PICTOGRAPH.test(text) && /^[\p{Extended_Pictographic}\u200D\uFE0F\u{1F3FB}-\u{1F3FF}\u{E0020}-\u{E007F}\u20E3]+$/u.test(text);
}

export const ReactionEmoji = z.string().refine(isSingleEmoji, { message: 'Send one emoji (a single emoji character or sequence, such as 👍 or 👨‍👩‍👧).' });

/** One emoji on a message: how many reacted with it and who (the first MAX_REACTION_USERS_LISTED). */
export const ReactionSummary = z.object({
  emoji: z.string(),
  count: z.number().int().positive(),
  user_ids: z.array(z.string()),
});
export type ReactionSummary = z.infer<typeof ReactionSummary>;

/** A message's reactions after a change: the REST answer and the push frame's body. */
export const MessageReactions = z.object({
  message_id: z.string(),
  conversation_id: z.string(),
  reactions: z.array(ReactionSummary),
});
export type MessageReactions = z.infer<typeof MessageReactions>;

/** Pushed to the conversation when anyone adds or removes a reaction: the message's whole set, so frames apply in any order. */
export interface ReactionPushFrame extends MessageReactions {
  type: 'reaction';
  ts: number;
}
