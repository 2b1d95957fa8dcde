// The support room: support conversations (kind 'support') between a customer
// and an app's AI agent, handoff to people, the inbox, outcomes and CSAT.
// Wiring (app.ts): const { support, http } = buildSupport({...}); runtime.useSupport(support.replies);
// messages.onMessage((m) => support.observe(m)); await support.start(); HttpDeps.support = http.
// docs/support.md is the guide; docs/decisions/0014-support.md the reasons.
import type { Message } from '@warbler/protocol';
import type { Kysely } from 'kysely';
import type { RowSealer } from '../store/index.ts';
import type { KnowledgeSearch } from '../agents/index.ts';
import type { CopilotModels } from './copilot.ts';
import { Inbox } from './inbox.ts';
import { supportRoutes, type SupportGuards } from './routes.ts';
import { isUniqueViolation, SupportStore } from './support-store.ts';
import { Support, type SupportDeps } from './support.ts';

export { Support, HANDOFF_TOOL, type SupportAgents, type SupportChat, type ToUsd } from './support.ts';
export { asksForPerson } from './asks-for-person.ts';
export { NOTE_SEALED, ROW_SEALED as SUPPORT_ROW_SEALED } from './support-store.ts';
export { supportSettingsFrom, type SupportSettings } from './settings.ts';
export type { SupportGuards } from './routes.ts';

export interface SupportRoomDeps extends Omit<SupportDeps, 'store'> {
  db: Kysely<any>;
  models: CopilotModels;
  knowledge: KnowledgeSearch;
  /** A page of the conversation's messages, read as the app (support people read before they join). */
  history(appId: string, conversationId: string, page: { before?: number; after?: number; limit: number }): Promise<{ messages: Message[]; has_more: boolean }>;
  isPerson(appId: string, userId: string): Promise<boolean>;
  /** Seals internal notes at rest (the at-rest room's row sealer); plaintext when encryption is off. */
  sealer?: RowSealer;
}

/** What the HTTP room takes: the routes, and the thumbs-down hook of the feedback route. */
export interface SupportHttp {
  routes(guards: SupportGuards): ReturnType<typeof supportRoutes>;
  rated(appId: string, message: Message, userId: string, rating: 'up' | 'down' | null): Promise<void>;
}

export function buildSupport(deps: SupportRoomDeps): { support: Support; http: SupportHttp } {
  const store = new SupportStore(deps.db, isUniqueViolation, deps.sealer);
  const support = new Support({ ...deps, store });
  const inbox = new Inbox({
    store, support, agents: deps.agents, isPerson: deps.isPerson,
    copilot: {
      models: deps.models, knowledge: deps.knowledge,
      recent: async (appId, conversationId, limit) => (await deps.history(appId, conversationId, { limit })).messages,
    },
    ...(deps.now && { now: deps.now }),
  });
  return {
    support,
    http: {
      routes: (guards) => supportRoutes({ support, inbox, store, guards, history: deps.history }),
      rated: (appId, message, userId, rating) => support.rated(appId, message, userId, rating),
    },
  };
}
