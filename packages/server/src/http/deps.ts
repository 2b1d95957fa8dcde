import type { Agents } from '../agents/index.ts';
import type { AtRest } from '../at-rest/index.ts';
import type { Experiments } from '../experiments/index.ts';
import type { Datasets, FineTuningJobs } from '../datasets/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { InterventionLog } from '../guardrails/index.ts';
import type { ConsoleProviders } from '../settings/index.ts';
import type { Conversations, MemberPrefsService, Messages } from '../chat/index.ts';
import type { Files } from '../files/index.ts';
import type { Reactions } from '../reactions/index.ts';
import type { MessageSearch } from '../search/index.ts';
import type { Faqs, KnowledgeBases, KnowledgeIngestion, WebSources } from '../kb/index.ts';
import type { Apps, Users } from '../tenancy/index.ts';
import type { Guards } from './auth.ts';
import type { PrivacyHttpDeps } from './privacy.ts';
import type { BatchRouteDeps } from './v1-batches.ts';
import type { GatewayHttpDeps } from './v1.ts';
import type { WebAppDeps } from './web-app.ts';
import type { Widget } from '../widget/index.ts';
import type { Webhooks } from '../webhooks/index.ts';
import type { SupportHttp } from '../support/index.ts';

/** What the HTTP routes are given by the composition root. */
export interface HttpDeps {
  guards: Guards;
  apps: Apps;
  users: Users;
  conversations: Conversations;
  messages: Messages;
  /** Message search over the blind index: /api/search/messages. */
  search?: MessageSearch;
  /** Emoji reactions: /api/messages/:id/reactions/:emoji. */
  reactions?: Reactions;
  /** A member's own pin and mute: /api/conversations/:id/prefs. */
  memberPrefs?: MemberPrefsService;
  files: Files;
  knowledge: KnowledgeBases;
  /** Uploads of PDF, Word, spreadsheets, HTML and slides, parsed in the background; per-knowledge-base settings. */
  ingestion?: KnowledgeIngestion;
  /** Websites knowledge bases read and resync. */
  webSources?: WebSources;
  /** Question/answer pairs answered without a model call. */
  faqs?: Faqs;
  agents: Agents;
  isReady: () => boolean;
  /** Parts this node works without, for now (e.g. 'redis': other nodes do not hear its events): /healthz says degraded, still 200. */
  degraded?: () => string[];
  /** The Batch API: /v1/files and /v1/batches. */
  batches?: BatchRouteDeps;
  /** The web app's routes (sign-in by name, people, feedback, model status) and its static files; absent in tests that do not need them. */
  webApp?: WebAppDeps;
  /** The website widget: its script, visitor sessions, and CORS from the origins each app allows. */
  widget?: Pick<Widget, 'cors' | 'routes'>;
  /** Webhook endpoints, the delivery log, test events and redelivery. */
  webhooks?: Webhooks;
  /** Support conversations, the inbox, policies and the report: /api/support; and the thumbs-down that may hand off. */
  support?: SupportHttp;
  /** Model experiments: /api/experiments and the switching report. */
  experiments?: Experiments;
  /** Evaluation datasets: /api/datasets (runs, results, fine-tuning export). */
  datasets?: Datasets;
  /** /v1/fine_tuning/jobs, passed through to OpenAI. */
  fineTuning?: FineTuningJobs;
  /** The OpenAI-compatible gateway: /v1, /api/gateway/keys, /metrics. */
  gateway?: GatewayHttpDeps;
  /** The audit log: records every administrative write (one hook), and /api/audit reads it. */
  audit?: AuditLog;
  /** Guardrail interventions, kept for the console: /api/guardrails/interventions. */
  interventions?: InterventionLog;
  /** Providers added in the console: /api/providers. */
  providers?: ConsoleProviders;
  /** A user's data on request and retention: /api/privacy, /api/retention. */
  privacy?: PrivacyHttpDeps;
  /** Encryption at rest: /admin/encryption, key rotation and its progress. */
  encryption?: AtRest;
}
