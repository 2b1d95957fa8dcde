import { z } from 'zod';
import { ReactionSummary } from './reactions.ts';

/** Ids are opaque strings; the server mints them with a type prefix (usr_, cnv_, msg_, ...). */
export const Id = z.string().min(1).max(128);

export const UserKind = z.enum(['human', 'agent']);
export type UserKind = z.infer<typeof UserKind>;

export const User = z.object({
  id: Id,
  app_id: Id,
  kind: UserKind,
  name: z.string(),
  avatar_url: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.number().int(),
});
export type User = z.infer<typeof User>;

export const ConversationKind = z.enum(['direct', 'group', 'support']);
export type ConversationKind = z.infer<typeof ConversationKind>;

export const Conversation = z.object({
  id: Id,
  app_id: Id,
  kind: ConversationKind,
  title: z.string().nullable(),
  /** Seq of the newest message; 0 when the conversation is empty. */
  last_seq: z.number().int().nonnegative(),
  last_message_at: z.number().int().nullable(),
  created_by: Id.nullable(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type Conversation = z.infer<typeof Conversation>;

export const MemberRole = z.enum(['owner', 'admin', 'member']);
export type MemberRole = z.infer<typeof MemberRole>;

export const Member = z.object({
  conversation_id: Id,
  user_id: Id,
  role: MemberRole,
  read_seq: z.number().int().nonnegative(),
  delivered_seq: z.number().int().nonnegative(),
  muted: z.boolean(),
  joined_at: z.number().int(),
});
export type Member = z.infer<typeof Member>;

export const MessageType = z.enum(['text', 'image', 'file', 'system']);
export type MessageType = z.infer<typeof MessageType>;

export const MessageState = z.enum(['complete', 'streaming', 'failed', 'recalled']);
export type MessageState = z.infer<typeof MessageState>;

/**
 * App-defined data a sender attaches to a message (an order number, a deep
 * link): flat and small, stored and delivered as is, never read by Warbler.
 */
export const MessageMetadata = z
  .record(z.string().min(1).max(64), z.union([z.string().max(1_000), z.number(), z.boolean(), z.null()]))
  .refine((m) => Object.keys(m).length <= 20, 'metadata holds at most 20 keys');

/** Users a message names (ids); agents named here answer in groups. */
const Mentions = z.array(Id).max(50);

/**
 * What a sender may put in a message, by type. Objects are strict: a field
 * that is not listed is refused, so nobody can store fields only the server
 * writes (an agent reply's citations, model, cost, error, feedback).
 */
/**
 * The message a message answers (a quote, as in Telegram or WhatsApp): the
 * sender names it; the server checks it is in the same conversation and adds
 * its sender. No copy of its text is kept, so an edit, a recall or an erasure
 * of the quoted message shows in every reply to it.
 */
export const ReplyRef = z.strictObject({ message_id: Id });
export type ReplyRef = z.infer<typeof ReplyRef>;

export const TextContent = z.strictObject({
  text: z.string().min(1).max(32_000),
  mentions: Mentions.optional(),
  metadata: MessageMetadata.optional(),
  reply_to: ReplyRef.optional(),
});
export const FileRef = z.strictObject({
  file_id: Id,
  name: z.string().max(255).optional(),
  mime: z.string().max(255).optional(),
  size: z.number().int().nonnegative().optional(),
  width: z.number().int().positive().max(100_000).optional(),
  height: z.number().int().positive().max(100_000).optional(),
  caption: z.string().max(4_000).optional(),
  mentions: Mentions.optional(),
  metadata: MessageMetadata.optional(),
  reply_to: ReplyRef.optional(),
});
export const MessageContent = z.record(z.string(), z.unknown());
export type MessageContent = z.infer<typeof MessageContent>;

export const Message = z.object({
  id: Id,
  app_id: Id,
  conversation_id: Id,
  seq: z.number().int().positive(),
  sender_id: Id,
  client_msg_id: z.string().nullable(),
  type: MessageType,
  content: MessageContent,
  state: MessageState,
  created_at: z.number().int(),
  updated_at: z.number().int(),
  edited_at: z.number().int().nullable(),
  /** Emoji reactions, in history and sync (absent: none, or a push that does not carry them; the `reaction` frame updates them). */
  reactions: z.array(ReactionSummary).optional(),
});
export type Message = z.infer<typeof Message>;

/** A conversation as one member sees it in their list. */
export const ConversationSummary = Conversation.extend({
  role: MemberRole,
  read_seq: z.number().int().nonnegative(),
  unread: z.number().int().nonnegative(),
  last_message: Message.nullable(),
  /** The caller's own pin and mute (see MemberPrefs): pinned ones go first in a list; muted ones do not notify. */
  pinned: z.boolean(),
  muted: z.boolean(),
});
export type ConversationSummary = z.infer<typeof ConversationSummary>;

export const StoredFile = z.object({
  id: Id,
  app_id: Id,
  conversation_id: Id,
  uploader_id: Id,
  name: z.string(),
  mime: z.string(),
  size: z.number().int().nonnegative(),
  created_at: z.number().int(),
});
export type StoredFile = z.infer<typeof StoredFile>;
