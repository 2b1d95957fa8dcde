import type {
  Conversation,
  ConversationKind,
  Member,
  MemberRole,
  Message,
  MessageContent,
  MessageState,
  MessageType,
  StoredFile,
  User,
  UserKind,
} from '@warbler/protocol';
import type { Kysely } from 'kysely';
import type { AiStore } from './port-ai.ts';
import type { RowSealer } from './sealing.ts';
import type { GatewayStore } from './port-gateway.ts';

/**
 * The Store port: everything the server keeps, behind one interface with two
 * adapters (SQLite embedded, PostgreSQL for scale-out) that pass the same
 * contract suite. Every method takes the app id first; no query runs without it,
 * so one tenant can never read another's rows even through a bug in a caller.
 *
 * Times are integers in milliseconds since the epoch. Ids are minted by callers.
 * The AI half (agents, knowledge bases, ledger) is in port-ai.ts; the
 * gateway's keys, files and batches are in port-gateway.ts.
 */
export interface Store extends AiStore, GatewayStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs pending migrations; called once at start. Safe to call again. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Seals message content and knowledge text from now on (encryption at rest); set once at start, before any write. */
  useSealer(sealer: RowSealer): void;
  /**
   * The database handle, for rooms that bring their own tables (audit, privacy):
   * each queries only its own tables through it and reads other rooms' data
   * through their services. Not for new methods on this port.
   */
  roomTables(): Kysely<any>;

  // ---- apps ----
  createApp(app: AppRow): Promise<void>;
  getApp(appId: string): Promise<AppRow | undefined>;
  listApps(): Promise<AppRow[]>;
  /** Replaces the secret hash (secret rotation). */
  setAppSecret(appId: string, secretHash: string, now: number): Promise<void>;

  // ---- users ----
  /** Throws StoreConflict when the id is taken in this app. */
  createUser(user: NewUser): Promise<UserRow>;
  getUser(appId: string, userId: string): Promise<UserRow | undefined>;
  getUsers(appId: string, userIds: readonly string[]): Promise<UserRow[]>;
  /** Ordered by created_at then id; `after` is the last id of the previous page. */
  listUsers(appId: string, page: { limit: number; after?: string; kind?: UserKind }): Promise<UserRow[]>;
  updateUser(appId: string, userId: string, patch: UserPatch): Promise<UserRow | undefined>;
  /** Increments token_version, invalidating every token minted before; returns the new version. */
  bumpTokenVersion(appId: string, userId: string): Promise<number | undefined>;

  // ---- conversations and members ----
  /**
   * Creates the conversation and its first members in one transaction.
   * For kind 'direct', `direct_key` must be set; a second direct conversation
   * with the same key throws StoreConflict.
   */
  createConversation(conversation: NewConversation, members: NewMember[]): Promise<Conversation>;
  getConversation(appId: string, conversationId: string): Promise<Conversation | undefined>;
  findDirectConversation(appId: string, directKey: string): Promise<Conversation | undefined>;
  updateConversation(appId: string, conversationId: string, patch: { title?: string | null; updated_at: number }): Promise<Conversation | undefined>;
  /**
   * The user's conversations with their membership and newest message, most
   * recent activity first (last_message_at, falling back to created_at), ties
   * by id (descending). A page after another
   * starts below `before` (the last row's activity), or below (`before`,
   * `beforeId`) when the id is given, so rows sharing the boundary's time are not skipped.
   */
  listConversationsForUser(appId: string, userId: string, page: { limit: number; before?: number; beforeId?: string }): Promise<ConversationForUser[]>;
  /** Ids of every conversation the user is a member of (for realtime routing). */
  listConversationIdsForUser(appId: string, userId: string): Promise<string[]>;

  getMember(appId: string, conversationId: string, userId: string): Promise<Member | undefined>;
  listMembers(appId: string, conversationId: string): Promise<Member[]>;
  /** Adds members; users already in the conversation are left as they are. Returns those actually added. */
  addMembers(appId: string, conversationId: string, members: NewMember[]): Promise<Member[]>;
  /** Returns false when the user was not a member. */
  removeMember(appId: string, conversationId: string, userId: string): Promise<boolean>;
  updateMember(appId: string, conversationId: string, userId: string, patch: { role?: MemberRole; muted?: boolean }): Promise<Member | undefined>;
  /**
   * Moves read_seq (and delivered_seq, which is never behind read) forward to
   * `seq`, never back, and never past the conversation's last_seq.
   * Returns the member after the change, or undefined when not a member.
   */
  markRead(appId: string, conversationId: string, userId: string, seq: number): Promise<Member | undefined>;
  /** Moves delivered_seq forward to `seq`, never back, never past last_seq. */
  markDelivered(appId: string, conversationId: string, userId: string, seq: number): Promise<Member | undefined>;

  // ---- messages ----
  /**
   * Appends a message: assigns the next dense seq of the conversation, stores
   * it, updates the conversation's last_seq and last_message_at, and moves the
   * sender's read and delivered seq to it, all in one transaction.
   * When (app, sender, client_msg_id) already exists, nothing is written and
   * the stored message is returned with duplicate = true. Calls complete in
   * the order they were made (group commit settles each batch in order), so
   * a caller that pushes on completion pushes in seq order.
   */
  appendMessage(message: NewMessage): Promise<{ message: Message; duplicate: boolean }>;
  getMessage(appId: string, messageId: string): Promise<Message | undefined>;
  /**
   * A page of one conversation's messages, always returned oldest first.
   * after: seq > after, ascending from there. before: seq < before, the newest
   * `limit` of those. Neither: the newest `limit`. has_more tells whether more
   * exist beyond the page in the direction asked.
   */
  listMessages(appId: string, conversationId: string, page: { before?: number; after?: number; limit: number }): Promise<{ messages: Message[]; has_more: boolean }>;
  updateMessage(appId: string, messageId: string, patch: MessagePatch): Promise<Message | undefined>;
  /**
   * Messages in these conversations with updated_at > since and created_at <= since
   * (edited, recalled or finished after the client last looked), oldest update first.
   */
  listMessagesUpdatedSince(appId: string, conversationIds: readonly string[], since: number, limit: number): Promise<Message[]>;
  /** Messages of every app still marked streaming, oldest first: at start, replies a crash left open. */
  listStreamingMessages(limit: number): Promise<Message[]>;

  // ---- files ----
  createFile(file: StoredFile & { path: string }): Promise<void>;
  getFile(appId: string, fileId: string): Promise<(StoredFile & { path: string }) | undefined>;
}

export interface AppRow {
  id: string;
  name: string;
  secret_hash: string;
  created_at: number;
  updated_at: number;
}

export interface UserRow extends User {
  /** Tokens carry this; bumping it revokes every older token. */
  token_version: number;
  updated_at: number;
}

export interface NewUser {
  id: string;
  app_id: string;
  kind: UserKind;
  name: string;
  avatar_url: string | null;
  metadata: Record<string, unknown>;
  created_at: number;
}

export interface UserPatch {
  name?: string;
  avatar_url?: string | null;
  metadata?: Record<string, unknown>;
  updated_at: number;
}

export interface NewConversation {
  id: string;
  app_id: string;
  kind: ConversationKind;
  title: string | null;
  /** For direct conversations: the two user ids sorted and joined with ':'. */
  direct_key: string | null;
  created_by: string | null;
  created_at: number;
}

export interface NewMember {
  user_id: string;
  role: MemberRole;
  joined_at: number;
}

export interface ConversationForUser {
  conversation: Conversation;
  member: Member;
  last_message: Message | null;
}

export interface NewMessage {
  id: string;
  app_id: string;
  conversation_id: string;
  sender_id: string;
  client_msg_id: string | null;
  type: MessageType;
  content: MessageContent;
  state: MessageState;
  created_at: number;
}

export interface MessagePatch {
  content?: MessageContent;
  state?: MessageState;
  edited_at?: number | null;
  updated_at: number;
}

/**
 * What makes two sends the same send: client_msg_id is unique per app and
 * sender (the messages_client_msg_id index), whatever the conversation.
 */
export function resendKey(m: { app_id: string; sender_id: string; client_msg_id: string | null }): string {
  return `${m.app_id}\u0000${m.sender_id}\u0000${m.client_msg_id}`;
}

/** A write broke a uniqueness rule (duplicate id, second direct conversation for a pair). */
export class StoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflict';
  }
}

/** A write or read named a row that does not exist in this app (e.g. appending to an unknown conversation). */
export class StoreNotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreNotFound';
  }
}
