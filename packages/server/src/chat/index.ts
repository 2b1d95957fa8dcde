export type { Actor } from './actor.ts';
export { isApp } from './actor.ts';
export type { ChatEvent, PublishChatEvent } from './events.ts';
export { MemberDirectory } from './members.ts';
export { Conversations, MAX_GROUP_MEMBERS, type CreateConversationInput } from './conversations.ts';
export { MemberPrefsService, MemberPrefsStore, type MemberPrefsDeps } from './member-prefs.ts';
export { Messages, type MessageIndex, type SendCheck, type SendInput } from './messages.ts';
export { StreamingReplies, type ReplyClaims, type StreamOptions } from './streams.ts';
export { KeyedSerial } from './serial.ts';
