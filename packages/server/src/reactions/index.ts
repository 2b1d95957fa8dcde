// The reactions room: emoji on messages, live to the conversation.
export { Reactions, type ReactionsDeps } from './reactions.ts';
export { ReactionsStore } from './reactions-store.ts';
