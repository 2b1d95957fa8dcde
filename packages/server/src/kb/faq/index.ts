export { faqFirst, type ChatModels, type FaqFirstDeps } from './faq-first.ts';
export { createFaqProvider, FAQ_MODEL } from './faq-provider.ts';
export { FaqStore, type FaqRow } from './faq-store.ts';
export { Faqs, type FaqMatch, type FaqsOptions, type RatedReplies } from './faqs.ts';
export { ratedRepliesFrom } from './rated-replies.ts';
export { normalizeQuestion, questionSimilarity } from './match.ts';
