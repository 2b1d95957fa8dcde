// The search room: finds a user's messages by their words without storing
// the words (a blind index under a per-app key; decision 0026).
export { MessageSearch, MAX_QUERY_TERMS, SEARCHES_PER_MINUTE, searchableText, type MessageSearchDeps, type SearchQuery } from './message-search.ts';
export { MessageTermsStore } from './search-store.ts';
