export { WarblerClient } from './client.ts';
export type { PendingSend, SendInput, Status, StatusChange, WarblerClientOptions, WarblerEvents } from './client.ts';
export { WarblerError, type WarblerErrorCode } from './errors.ts';
export { webStorage, type QueuedSend, type SendableType, type WarblerStorage } from './outbox.ts';
export type { ConversationPage, ConversationsApi, FetchLike, FileData, FileLink } from './rest.ts';
export type { TokenProvider } from './token.ts';
export { SupportApi, supportAuthor, type SupportQueuePage } from './support.ts';
export type { WebSocketConstructor, WebSocketLike } from './transport.ts';
export { CloseCode, type BackoffOptions, type DropReason } from './backoff.ts';
export type {
  AgentStateFrame,
  Conversation,
  ConversationPushFrame,
  ConversationSummary,
  HistoryResult,
  Member,
  MemberPrefs,
  MemberPrefsPushFrame,
  MemberPushFrame,
  Message,
  MessageContent,
  MessageDeltaFrame,
  MessageReactions,
  MessageSearchQuery,
  MessageSearchResult,
  ReactionPushFrame,
  ReactionSummary,
  ReceiptPushFrame,
  SearchHit,
  StoredFile,
  CannedReply,
  CopilotSuggestion,
  SupportConversation,
  SupportMe,
  SupportNote,
  SupportPushFrame,
  SupportQueue,
  SupportStaff,
  SupportStatus,
  TypingPushFrame,
} from '@warbler/protocol';
// Webhook receivers (servers) import '@warbler/sdk/webhooks': kept out of this entry so browser bundles of the client do not carry the protocol's schemas.
