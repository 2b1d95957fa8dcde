import { z } from 'zod';
import { ConversationSummary, Id, Member, MemberRole, Message, MessageContent, MessageType } from './models.ts';

/** REST shapes of conversations, members and messages; the message itself is the one the WebSocket carries (models.ts). */

const Seq = z.coerce.number().int().nonnegative();

export const CreateConversationBody = z.object({
  kind: z.enum(['direct', 'group']),
  member_ids: z.array(z.string().min(1)).max(1000).default([]),
  title: z.string().max(200).nullable().optional(),
  created_by: z.string().optional().describe('With the app secret: the user who creates it (its owner)'),
});
export type CreateConversationBody = z.input<typeof CreateConversationBody>;

export const ConversationListQuery = z.object({
  user_id: z.string().optional().describe('With the app secret: the user whose conversations to list'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).optional().describe('next_cursor of the previous page'),
  before: Seq.optional().describe('Older form of cursor: next_before of the previous page; can skip conversations whose activity ties'),
});

export const ConversationPage = z.object({
  conversations: z.array(ConversationSummary),
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: z.string().nullable(),
  /** The older cursor (activity time only); prefer next_cursor, which does not skip ties. */
  next_before: z.number().int().nullable(),
});
export type ConversationPage = z.infer<typeof ConversationPage>;

export const RenameConversationBody = z.object({ title: z.string().max(200).nullable() });

export const MemberList = z.object({ members: z.array(Member) });
export type MemberList = z.infer<typeof MemberList>;

export const AddMembersBody = z.object({ user_ids: z.array(z.string().min(1)).min(1).max(1000), role: MemberRole.optional() });

export const AddedMembers = z.object({ added: z.array(Member).describe('The members added (those already in are left out)') });
export type AddedMembers = z.infer<typeof AddedMembers>;

export const UpdateMemberBody = z.object({ role: MemberRole.optional(), muted: z.boolean().optional() });

/** What a sender may send: every type but system (the server's own notices). */
export const SendableType = MessageType.exclude(['system']);
export type SendableType = z.infer<typeof SendableType>;

export const SendMessageBody = z.object({
  sender_id: z.string().optional().describe('With the app secret: the member who sends'),
  client_msg_id: z.string().min(1).max(128).optional().describe('Makes the send idempotent: a resend returns the stored message'),
  type: SendableType.default('text'),
  content: MessageContent,
});
export type SendMessageBody = z.input<typeof SendMessageBody>;

export const SentMessage = z.object({
  message: Message,
  /** True when this client_msg_id had been stored before: the original is returned. */
  duplicate: z.boolean(),
});
export type SentMessage = z.infer<typeof SentMessage>;

export const HistoryQuery = z.object({ before: Seq.optional(), after: Seq.optional(), limit: z.coerce.number().int().min(1).max(200).default(50) });

/** A page of history, oldest first: the REST answer and the WebSocket `history` result. */
export const HistoryResult = z.object({
  messages: z.array(Message),
  has_more: z.boolean(),
});
export type HistoryResult = z.infer<typeof HistoryResult>;

export const ReadBody = z.object({
  seq: z.number().int().positive(),
  user_id: z.string().optional().describe('With the app secret: the member who read'),
});

/** The member's receipts after the change (they only move forward). */
export const Receipts = z.object({ read_seq: z.number().int().nonnegative(), delivered_seq: z.number().int().nonnegative() });
export type Receipts = z.infer<typeof Receipts>;

export const EditMessageBody = z.object({ content: MessageContent });

export const MessageIdParams = z.object({ messageId: z.string().min(1) });

export const Rating = z.enum(['up', 'down']);
export type Rating = z.infer<typeof Rating>;

export const FeedbackBody = z.object({
  rating: Rating.nullable().describe('null takes your rating back'),
  user_id: z.string().optional().describe('With the app secret: the member who rates'),
});

export const FeedbackResult = z.object({
  message_id: Id,
  /** Every member's rating of the reply, by user id. */
  feedback: z.record(z.string(), Rating),
});
export type FeedbackResult = z.infer<typeof FeedbackResult>;

