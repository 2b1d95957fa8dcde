import type { Agents } from '../agents/index.ts';
import type { Conversations, Messages } from '../chat/index.ts';
import type { Files } from '../files/index.ts';
import type { KnowledgeBases } from '../kb/index.ts';
import type { Apps, Users } from '../tenancy/index.ts';
import type { Guards } from './auth.ts';

/** What the HTTP routes are given by the composition root. */
export interface HttpDeps {
  guards: Guards;
  apps: Apps;
  users: Users;
  conversations: Conversations;
  messages: Messages;
  files: Files;
  knowledge: KnowledgeBases;
  agents: Agents;
  isReady: () => boolean;
}
