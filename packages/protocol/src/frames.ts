import { z } from 'zod';
import { SendableType } from './conversations.ts';
import { ErrorCode } from './errors.ts';
import { Conversation, Id, Member, Message, MessageContent } from './models.ts';
import type { MemberPrefsPushFrame } from './members.ts';
import type { MessageReactions, ReactionPushFrame } from './reactions.ts';
import type { SupportPushFrame } from './support.ts';

/** Largest frame a client may send, in bytes. Larger frames are refused with payload_too_large. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

/** Client request ids correlate a reply with the request; any short string the client likes. */
export const RequestId = z.string().min(1).max(64);
const Seq = z.number().int().nonnegative();

export const SendFrame = z.object({
  type: z.literal('send'),
  id: RequestId,
  conversation_id: Id,
  /** Required: a resend with the same client_msg_id returns the stored message, never a duplicate. */
  client_msg_id: z.string().min(1).max(128),
  msg_type: SendableType.default('text'),
  content: MessageContent,
});

export const SyncFrame = z.object({
  type: z.literal('sync'),
  id: RequestId,
  /** Last seq the client holds per conversation. Conversations left out are reported as new. */
  cursors: z.record(z.string(), Seq).default({}),
  /** Server time (ms) of the newest event the client saw: edits and recalls after it are replayed. */
  since: z.number().int().nonnegative().optional(),
  /** Most messages returned per conversation; the rest are fetched with `history`. */
  limit: z.number().int().min(1).max(500).default(200),
});

export const HistoryFrame = z.object({
  type: z.literal('history'),
  id: RequestId,
  conversation_id: Id,
  /** Messages with seq < before (newest first page when both are absent). */
  before: Seq.optional(),
  /** Messages with seq > after, oldest first. */
  after: Seq.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});

export const ReceiptFrame = z.object({
  type: z.enum(['read', 'delivered']),
  id: RequestId.optional(),
  conversation_id: Id,
  seq: z.number().int().positive(),
});

export const TypingFrame = z.object({
  type: z.literal('typing'),
  conversation_id: Id,
});

export const EditFrame = z.object({
  type: z.literal('edit'),
  id: RequestId,
  message_id: Id,
  content: MessageContent,
});

export const RecallFrame = z.object({
  type: z.literal('recall'),
  id: RequestId,
  message_id: Id,
});

/** Ask an agent to stop a reply that is still streaming. */
export const StopFrame = z.object({
  type: z.literal('stop'),
  id: RequestId,
  message_id: Id,
});

export const PingFrame = z.object({ type: z.literal('ping'), id: RequestId.optional() });

export const ClientFrame = z.discriminatedUnion('type', [
  SendFrame,
  SyncFrame,
  HistoryFrame,
  ReceiptFrame,
  TypingFrame,
  EditFrame,
  RecallFrame,
  StopFrame,
  PingFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['type'];

/**
 * Every `type` a client may send, read from the union itself (zod records each option's discriminator
 * values), so a server telling an unknown frame from a malformed one never keeps a second list.
 */
export const CLIENT_FRAME_TYPES: ReadonlySet<string> = new Set(
  [...(ClientFrame._zod.propValues.type ?? [])].filter((t): t is ClientFrameType => typeof t === 'string'),
);
export type ClientFrameInput = z.input<typeof ClientFrame>;

// ---- server → client ----

export interface ReadyFrame {
  type: 'ready';
  user_id: string;
  app_id: string;
  /** The server pings at this interval; a client that hears nothing for 2× should reconnect. */
  heartbeat_ms: number;
  ts: number;
}
export interface AckFrame {
  type: 'ack';
  id: string;
  message: Message;
  /** True when this client_msg_id had been stored before: the original is returned. */
  duplicate: boolean;
}
export interface ResultFrame<T = unknown> {
  type: 'result';
  id: string;
  data: T;
}
export interface ErrorFrame {
  type: 'error';
  id?: string;
  code: ErrorCode;
  message: string;
}
export interface MessageFrame {
  type: 'message';
  message: Message;
  ts: number;
}
export interface MessageUpdatedFrame {
  type: 'message.updated';
  message: Message;
  ts: number;
}
/** Text appended to a streaming message; offset is where it goes in the text so far. */
export interface MessageDeltaFrame {
  type: 'message.delta';
  conversation_id: string;
  message_id: string;
  offset: number;
  text: string;
  ts: number;
}
export interface ReceiptPushFrame {
  type: 'receipt';
  conversation_id: string;
  user_id: string;
  kind: 'read' | 'delivered';
  seq: number;
  ts: number;
}
export interface TypingPushFrame {
  type: 'typing';
  conversation_id: string;
  user_id: string;
  ts: number;
}
export interface MemberPushFrame {
  type: 'member';
  conversation_id: string;
  event: 'joined' | 'left' | 'removed' | 'updated';
  user_id: string;
  member: Member | null;
  ts: number;
}
/** A conversation the user was just added to (or that changed title). */
export interface ConversationPushFrame {
  type: 'conversation';
  conversation: Conversation;
  ts: number;
}
export interface AgentStateFrame {
  type: 'agent.state';
  conversation_id: string;
  agent_id: string;
  state: 'thinking' | 'searching' | 'generating' | 'idle';
  message_id?: string;
  ts: number;
}
export interface PongFrame {
  type: 'pong';
  id?: string;
  ts: number;
}
/** Sent just before the server closes the socket on purpose; tells the client what to do. */
export interface ByeFrame {
  type: 'bye';
  code: number;
  reason: string;
  /** Suggested wait before reconnecting, in ms. */
  retry_after_ms: number;
}

export interface SyncConversation {
  conversation: Conversation;
  /** Messages after the client's cursor, oldest first, at most `limit`. */
  messages: Message[];
  /** More messages after these exist: page with `history` { after }. */
  has_more: boolean;
  /** The client sent no cursor for this conversation. */
  is_new: boolean;
}
export interface SyncResult {
  conversations: SyncConversation[];
  /** Messages edited or recalled after `since`, at or below the client's cursors. */
  updated: Message[];
  /** Conversations the client listed that the user is no longer a member of. */
  removed: string[];
  /**
   * With `since`: the whole reaction set of each message whose reactions changed after it, in the client's
   * conversations (older servers leave it out). Sets, not changes, so applying one twice or late is harmless.
   */
  reactions?: MessageReactions[];
  ts: number;
}

export type PushFrame =
  | MessageFrame
  | MessageUpdatedFrame
  | MessageDeltaFrame
  | ReceiptPushFrame
  | TypingPushFrame
  | MemberPushFrame
  | ConversationPushFrame
  | AgentStateFrame
  | ReactionPushFrame
  | MemberPrefsPushFrame
  | SupportPushFrame;

export type ServerFrame = ReadyFrame | AckFrame | ResultFrame | ErrorFrame | PongFrame | ByeFrame | PushFrame;
