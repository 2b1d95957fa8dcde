import { z } from 'zod';
import { MessageType } from './models.ts';

export const MessageSearchQuery = z.object({
  q: z.string().trim().min(1).max(200).describe('Words (English and other spaced scripts) or characters (Chinese, Japanese, Korean); every one must be found'),
  conversation_id: z.string().min(1).max(200).optional().describe('Search only this conversation'),
  user_id: z.string().min(1).max(200).optional().describe('With the app secret: the user whose conversations to search'),
  cursor: z.string().min(1).max(200).optional().describe('next_cursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});
export type MessageSearchQuery = z.input<typeof MessageSearchQuery>;

/** A message found, with a snippet around the first match. */
export const SearchHit = z.object({
  message_id: z.string(),
  conversation_id: z.string(),
  seq: z.number().int().positive(),
  sender_id: z.string(),
  type: MessageType,
  created_at: z.number().int(),
  /** Plain text (never HTML), at most ~120 characters, '…' where it was cut. */
  snippet: z.string(),
  /** [start, end) UTF-16 offsets into snippet of the words that matched. */
  highlights: z.array(z.tuple([z.number().int(), z.number().int()])),
});
export type SearchHit = z.infer<typeof SearchHit>;

/** Newest first. */
export const MessageSearchResult = z.object({
  hits: z.array(SearchHit),
  next_cursor: z.string().nullable(),
});
export type MessageSearchResult = z.infer<typeof MessageSearchResult>;
