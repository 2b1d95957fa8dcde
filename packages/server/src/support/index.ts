// The support room: support conversations (kind 'support') between a customer
// and an app's AI agent, handoff to people, the inbox, outcomes and CSAT.
// Wiring (app.ts):
//   const support = new Support({ store: new SupportStore(store.roomTables(), isUniqueViolation), chat, agents, events, publish, toUsd });
//   runtime.useSupport(support.replies); messages.onMessage((m) => support.observe(m)); await support.start();
// docs/support.md is the guide; docs/decisions/0014-support.md the reasons.
export { Support, HANDOFF_TOOL, type SupportAgents, type SupportChat, type SupportDeps, type ToUsd } from './support.ts';
export { SupportStore, isUniqueViolation, type SupportRow } from './support-store.ts';
export { asksForPerson } from './asks-for-person.ts';
