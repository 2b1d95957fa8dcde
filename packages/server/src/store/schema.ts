import type { ConversationKind, MemberRole, MessageState, MessageType, UserKind } from '@warbler/protocol';

/**
 * Table shapes as Kysely sees them. Every table carries app_id and every key
 * starts with it, so tenant scoping is also how rows are found.
 * Times are ms since the epoch (BIGINT); JSON is stored as text so both
 * dialects read and write it the same way.
 */
export interface Database {
  apps: AppsTable;
  users: UsersTable;
  conversations: ConversationsTable;
  members: MembersTable;
  messages: MessagesTable;
  files: FilesTable;
}

export interface AppsTable {
  id: string;
  name: string;
  secret_hash: string;
  created_at: number;
  updated_at: number;
}

export interface UsersTable {
  app_id: string;
  id: string;
  kind: UserKind;
  name: string;
  avatar_url: string | null;
  /** JSON object. */
  metadata: string;
  token_version: number;
  created_at: number;
  updated_at: number;
}

export interface ConversationsTable {
  app_id: string;
  id: string;
  kind: ConversationKind;
  title: string | null;
  direct_key: string | null;
  last_seq: number;
  last_message_at: number | null;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface MembersTable {
  app_id: string;
  conversation_id: string;
  user_id: string;
  role: MemberRole;
  read_seq: number;
  delivered_seq: number;
  /** BOOLEAN on Postgres, 0/1 on SQLite. */
  muted: boolean | number;
  joined_at: number;
}

export interface MessagesTable {
  app_id: string;
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string | null;
  type: MessageType;
  /** JSON object. */
  content: string;
  state: MessageState;
  created_at: number;
  updated_at: number;
  edited_at: number | null;
}

export interface FilesTable {
  app_id: string;
  id: string;
  conversation_id: string;
  uploader_id: string;
  name: string;
  mime: string;
  size: number;
  path: string;
  created_at: number;
}
