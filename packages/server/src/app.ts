import path from 'node:path';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { AuditLog, AuditStore, auditHeadSeed, HeadSigner } from './audit/index.ts';
import { AgentRuntime, Agents, applyFileAgents, DEMO_AGENT_ID, HttpTools, seedDemoAgent } from './agents/index.ts';
import { UserTokens } from './auth/tokens.ts';
import { Conversations, MemberDirectory, MemberPrefsService, MemberPrefsStore, Messages, StreamingReplies } from './chat/index.ts';
import type { Config } from './config.ts';
import { lockDataDir } from './data-dir.ts';
import { openAtRest, type AtRest } from './at-rest/index.ts';
import { DomainEvents } from './events/index.ts';
import { FileLinks, Files } from './files/index.ts';
import { Guardrails, InterventionLog, InterventionStore, interventionReporter, openAiModerator } from './guardrails/index.ts';
import { Gateway, Keys, MediaCalls, Moderations, moderationRulesFrom, noteGatewayAttempt, ResponseCache, RateLimits, RedisRateLimits } from './gateway/index.ts';
import { Responses } from './gateway/responses/index.ts';
import { Batches, BatchRunner, executeThroughGateway, GatewayFiles } from './gateway/batches/index.ts';
import { buildHttp, defaultWebDist, Guards, webAppDeps, type HttpOptions } from './http/index.ts';
import { EmbeddingCache, HybridRetrieval, KbVectorStore, rerankerFrom, routerEmbedder } from './kb/index.ts';
import { createFaqProvider, createKbAnswerProvider, FAQ_MODEL, faqFirst, Faqs, FaqStore, IngestStore, KB_ANSWER_MODEL, KnowledgeBases, KnowledgeIngestion, ratedRepliesFrom, seedDocsDir, visionPageReader, WebSources, WebSourceStore } from './kb/index.ts';
import { costOf, SecretBox, UpstreamHttp, type Router } from './llm/index.ts';
import { Metrics } from './metrics/index.ts';
import { Outbound, OutboundPolicy } from './outbound/index.ts';
import { Hub, LocalBroker, RealtimeGateway, RedisBroker, type Broker } from './realtime/index.ts';
import { RedisLink } from './redis/index.ts';
import { NodePresence } from './cluster/index.ts';
import { buildRouter, configuredProviders, ConsoleProviders, currencyRatesFrom, loadWarblerConfig, openAiPassThrough, priceTableFrom } from './settings/index.ts';
import { PrivacyStore, Retention, UserData } from './privacy/index.ts';
import { Reactions, ReactionsStore } from './reactions/index.ts';
import { MessageSearch, MessageTermsStore } from './search/index.ts';
import { openStore, type Store } from './store/index.ts';
import { Apps, Authenticator, loadMasterKey, Users } from './tenancy/index.ts';
import { Budgets, formatNanoAmount, INTERRUPTED_BY_SHUTDOWN, Ledger, nanosToUsd, settleInterruptedCalls } from './usage/index.ts';
import { buildSupport, supportSettingsFrom, type Support } from './support/index.ts';
import { Turns } from './turns.ts';
import { Experiments, ExperimentStore, type ConversationOutcome } from './experiments/index.ts';
import { buildDatasets, type Datasets } from './datasets/index.ts';
import { buildWidget } from './widget/index.ts';
import { Webhooks, webhookSettingsFrom } from './webhooks/index.ts';

export const VERSION = '0.1.0';

export interface Warbler {
  config: Config;
  store: Store;
  http: FastifyInstance;
  realtime: RealtimeGateway;
  apps: Apps;
  users: Users;
  conversations: Conversations;
  messages: Messages;
  agents: Agents;
  runtime: AgentRuntime;
  /** Model experiments: shadow runs, A/B splits, the switching report. */
  experiments: Experiments;
  /** Evaluation datasets and the fine-tuning pass-through. */
  datasets: Datasets;
  knowledge: KnowledgeBases;
  /** Websites knowledge bases read (crawl, sitemap, page) and resync. */
  webSources: WebSources;
  router: Router;
  ledger: Ledger;
  budgets: Budgets;
  gateway: Gateway;
  batches: Batches;
  batchRunner: BatchRunner;
  keys: Keys;
  metrics: Metrics;
  /** What happened in an app, for webhooks and other listeners outside the room that caused it. */
  events: DomainEvents;
  /** Support conversations: open-or-get a visitor's (openFor), handoff, the inbox, outcomes. */
  support: Support;
  masterKey: string;
  masterKeyFile: string | undefined;
  /** Encryption at rest: keys, rotation and its progress. */
  atRest: AtRest;
  defaultApp: { appId: string; secretFile: string; created: boolean };
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, tell sockets to reconnect, finish replies and requests in flight, write the ledger, close the store. */
  close(): Promise<void>;
}

/** The composition root: builds every room from config and wires them together. Nothing else knows them all. */
export async function buildWarbler(config: Config, options: { broker?: Broker; logTo?: HttpOptions['logTo'] } = {}): Promise<Warbler> {
  const file = await loadWarblerConfig(undefined, config.env);
  for (const unfixed of await lockDataDir(config.dataDir)) process.emitWarning(`Could not make ${unfixed} owner-only; fix its mode (0700 folders, 0600 files) by hand.`, 'WarblerDataDirWarning');
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.databaseTimeoutMs });
  await store.migrate();
  // Encryption at rest: the keys open (or a wrong or missing key stops the start here) before any row is read or written.
  let log: FastifyInstance['log'] | undefined;
  const atRest = await openAtRest({
    db: store.roomTables(), dataDir: config.dataDir, filesDir: path.join(config.dataDir, 'files'), gatewayFilesDir: path.join(config.dataDir, 'gateway-files'),
    key: config.encryptionKey, previousKey: config.encryptionKeyPrevious, enabled: config.encryption === 'on',
    warn: (message) => process.emitWarning(message, 'WarblerEncryptionWarning'),
    onError: (err) => log?.error({ err }, 'encryption at rest: re-sealing'),
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  store.useSealer(atRest.rows);
  const master = await loadMasterKey(config.masterKey, config.dataDir);
  // Several nodes on one PostgreSQL share events, key limits and leases through Redis; a node starts (degraded) without it.
  const redis = config.redisUrl ? new RedisLink(config.redisUrl, (message) => log?.warn(message)) : undefined;
  if (redis) {
    await redis.ready(5_000).catch(() =>
      process.emitWarning('Redis did not answer at start: serving this node\'s clients only (and /healthz says degraded) until it does.', 'WarblerRedisWarning'));
  }
  const broker = options.broker ?? (redis ? new RedisBroker(redis, { onError: (err) => log?.error({ err }, 'broker error') }) : new LocalBroker());
  const publish = broker.publish.bind(broker);

  const events = new DomainEvents((err, event) => log?.error({ err, event: event.type }, 'domain event listener failed'));
  const tokens = new UserTokens(master.key);
  const directory = new MemberDirectory(store);
  const conversations = new Conversations(store, directory, publish);
  const messages = new Messages(store, conversations, publish);
  const streams = new StreamingReplies(store, messages, publish);
  // Several nodes: each says it is alive and claims the replies it streams, so no node fails another's reply as orphaned.
  const presence = redis ? new NodePresence(store, config.batchLeaseMs) : undefined;
  if (presence) {
    await presence.start();
    const work = (id: string) => `reply:${id}`;
    streams.useClaims({
      claim: (id) => presence.claim(work(id)),
      release: (id) => presence.release(work(id)),
      heldElsewhere: async (ids) => new Set([...(await presence.heldByOthers(ids.map(work)))].map((name) => name.slice('reply:'.length))),
    });
  }
  const apps = new Apps(store);
  const users = new Users(store, tokens, publish);
  const auth = new Authenticator(store, tokens, master.key);
  const files = new Files(store, conversations, path.join(config.dataDir, 'files'), config.maxUploadBytes, new FileLinks(master.key, config.fileLinkTtlSeconds), config.maxUploadsPerUser, atRest.files);
  const defaultApp = await apps.ensureDefault(config.dataDir);
  // Rows stored in plaintext before encryption existed are sealed in the background, like a rotation.
  await atRest.adopt((await store.listApps()).map((app) => app.id));

  // Models, money and knowledge.
  const basePrices = priceTableFrom(file, { localModels: [KB_ANSWER_MODEL, FAQ_MODEL] });
  // Console providers' prices join the table when they change (ConsoleProviders.load), so this is the current one.
  let prices = basePrices;
  const ledger = new Ledger({ store, prices, log: { warn: (o, m) => log?.warn(o, m), error: (o, m) => log?.error(o, m) } });
  const budgets = new Budgets({ store, ledger, rates: currencyRatesFrom(file) });
  const router = buildRouter(file, config.env, {
    localProviders: { [KB_ANSWER_MODEL]: createKbAnswerProvider(), [FAQ_MODEL]: createFaqProvider() },
    onAttempt: (report) => {
      ledger.onAttempt(report);
      noteGatewayAttempt(report);
    },
    onAttemptStart: ledger.onAttemptStart,
    onCircuitChange: (deployment, change) =>
      broker.signal(change.state === 'open' ? { kind: 'circuit_changed', deployment, state: 'open', opened_at: change.openedAt } : { kind: 'circuit_changed', deployment, state: 'closed' }),
    onWarning: (message) => log?.warn(message),
  });
  // The OpenAI-compatible gateway, and the metrics of everything.
  const metrics = new Metrics();
  ledger.subscribe(metrics.ledgerRow);
  // Sensitive words, PII masking and the injection screen on /v1, batches and agents alike; every intervention logged and counted.
  // Kept for the console's Guardrails page (written in batches, removed after WARBLER_GUARDRAIL_RETENTION_DAYS).
  const interventions = new InterventionLog({
    store: new InterventionStore(store.roomTables()), retentionDays: config.guardrailRetentionDays,
    log: { warn: (o, m) => log?.warn(o, m), error: (o, m) => log?.error(o, m) },
  });
  // OpenAI's moderation, when an OpenAI provider is configured: /v1/moderations passes through to it, and guardrails policies with moderation: use it.
  const moderationUpstream = openAiPassThrough(file, config.env);
  const moderationHttp = moderationUpstream ? new UpstreamHttp(moderationUpstream) : undefined;
  const guardrails = new Guardrails(file?.guardrails, {
    ...(moderationHttp ? { moderator: openAiModerator(moderationHttp) } : {}),
    onInterventions: interventionReporter({
      count: (rule, action, path, n) => metrics.guardrail(rule, action, path, n),
      record: (i) => interventions.record(i),
      // Read at each call: the HTTP room's logger is made after the guardrails.
      log: { info: (o, m) => log?.info(o, m), warn: (o, m) => log?.warn(o, m) },
    }),
    warn: (message) => log?.warn(message),
  });
  const limits = redis
    ? new RedisRateLimits(redis.commands, { onError: config.redisLimitsOnError, warn: (message) => log?.warn(message) })
    : new RateLimits();
  const keys = new Keys(store, { onChange: (keyId) => limits.forget(keyId) });
  const gateway = new Gateway({
    models: router, keys, budgets, limits, masterKey: master.key, defaultAppId: defaultApp.appId,
    concurrency: new Turns(config.gatewayMaxConcurrentPerKey),
    appExists: async (appId) => (await store.getApp(appId)) !== undefined,
    guardrails,
    // Opt-in per key (metadata.cache_ttl_seconds); hits are zero-cost ledger rows.
    cache: new ResponseCache(), ledger,
    // Experiments on a gateway route shadow its /v1 chat calls (returns at once; the replays run later, behind live traffic).
    observe: (turn) => experiments.observeRoute(turn), observes: (appId, model) => experiments.observesRoute(appId, model),
  });
  // Audio and rerank on the same rails (keys, budgets, limits, ledger).
  const media = new MediaCalls(gateway, router);
  // /v1/responses runs on the chat path and keeps its responses in the store; moderations go to OpenAI when it is configured.
  const responses = new Responses(store);
  // Without OpenAI, moderation answers from the operator's word lists (guardrails:), when there are any.
  const moderations = new Moderations(moderationHttp
    ? { upstream: moderationHttp }
    : file?.guardrails?.lists.length ? { rules: moderationRulesFrom(guardrails) } : {});
  // Batches run their lines through the gateway in the background; state is in the store, so they resume after a restart.
  const gatewayFiles = new GatewayFiles({ store, dir: path.join(config.dataDir, 'gateway-files'), sealing: atRest.files });
  const batchRunner = new BatchRunner({
    store, files: gatewayFiles, execute: executeThroughGateway(gateway), models: () => router.models(),
    stopGraceMs: Math.floor(config.shutdownGraceMs / 2), leaseMs: config.batchLeaseMs,
    log: { info: (o, m) => log?.info(o, m), warn: (o, m) => log?.warn(o, m), error: (o, m) => log?.error(o, m) },
  });
  const batches = new Batches({ store, files: gatewayFiles, signals: batchRunner });
  // Each node keeps its own search index: a change made here is replayed on the others.
  // Hybrid retrieval for knowledge bases that name an embedding model: vectors cached by content hash, every embedding call a ledger row.
  const kbVectors = new KbVectorStore(store.roomTables());
  const kbRetrieval = new HybridRetrieval({
    store: kbVectors, cache: new EmbeddingCache(routerEmbedder(router), kbVectors), reranker: rerankerFrom(config.env),
    onError: (err, what) => log?.warn({ err }, what),
  });
  const knowledge = new KnowledgeBases(store, {
    onChange: (change) => broker.signal({ kind: 'knowledge_changed', ...change }), retrieval: kbRetrieval, servedModels: () => router.models(),
    onError: (err, what) => log?.warn({ err }, what),
  });
  await knowledge.load();
  // Uploads of PDF, Word, spreadsheets, HTML and slides wait in the database and are parsed in the background; one node alone takes back what its last run left processing.
  const ingestion = new KnowledgeIngestion({
    store: new IngestStore(store.roomTables(), atRest.rows), knowledge, singleNode: !redis, onError: (err, where) => log?.error({ err }, where),
    // Web imports go through the outbound room, under the same address policy as agent tools.
    fetchPage: (url, init) => outbound.send(url, init),
    // Scanned PDFs are read by a vision model when the operator names one; each page a priced ledger row.
    ...(config.kbOcr && { ocr: visionPageReader(router, config.kbOcr.model, config.kbOcr.maxPages) }),
  });
  knowledge.useChunkOptions(ingestion.chunkOptions);
  // Websites a knowledge base reads (a page, a sitemap, a crawl), read again on their schedule; runs are leased so several nodes run each once.
  const webSources = new WebSources({
    store: new WebSourceStore(store.roomTables()), pages: ingestion, knowledge, singleNode: !redis, maxBytes: ingestion.limits.maxFileBytes,
    fetchPage: (url, init) => outbound.send(url, init), onError: (err, where) => log?.error({ err }, where),
  });
  // FAQs answer a close match as written, through local/faq (a zero-cost ledger row), before any model is called.
  const faqs = new Faqs({
    store: new FaqStore(store.roomTables(), atRest.rows), knowledge,
    messages: ratedRepliesFrom({ getMessage: (appId, id) => store.getMessage(appId, id), isAgent: async (appId, userId) => (await users.get(appId, userId)).kind === 'agent' }),
  });
  // Agent tools call URLs an app gave: only public https addresses, unless warbler.yaml's outbound: allows a host.
  const outboundPolicy = new OutboundPolicy(file?.outbound);
  const outbound = new Outbound(outboundPolicy);
  // Signed event delivery from a durable outbox; URLs under the same outbound policy as agent tools.
  const webhooks = new Webhooks({
    db: store.roomTables(), sealer: atRest.rows, masterKey: master.key, policy: outboundPolicy, settings: webhookSettingsFrom(config.env),
    log: { warn: (o, m) => log?.warn(o, m), error: (o, m) => log?.error(o, m) },
  });
  webhooks.start(events);
  messages.useEvents(events);
  // Shadow runs and A/B splits: paid from each experiment's own budget, run behind live replies (docs/experiments.md).
  const experiments: Experiments = new Experiments({
    store: new ExperimentStore(store.roomTables()), router, prices: { lookup: (model) => prices.lookup(model) }, rates: () => currencyRatesFrom(file),
    agent: (appId, agentId) => runtime.get(appId, agentId),
    serves: (model) => router.models().includes(model),
    feedback: async (appId, ids) => {
      const thumbs = new Map<string, 'up' | 'down'>();
      for (const id of ids.slice(-2_000)) {
        const votes = Object.values(((await store.getMessage(appId, id))?.content.feedback ?? {}) as Record<string, unknown>);
        if (votes.includes('down')) thumbs.set(id, 'down');
        else if (votes.includes('up')) thumbs.set(id, 'up');
      }
      return thumbs;
    },
    outcomes: async (appId, ids) => {
      const outcomes = new Map<string, ConversationOutcome>();
      for (const id of ids.slice(-2_000)) {
        // Only support conversations have outcomes; the others are left out.
        const row = await support.row(appId, id).catch(() => undefined);
        if (row) {
          outcomes.set(id, {
            handedOff: row.handoffs > 0, resolvedByAi: row.outcome === 'resolved_by_ai', ended: row.outcome !== null,
            csat: row.csat_rating, reopened: row.reopens > 0,
          });
        }
      }
      return outcomes;
    },
    onError: (err, where) => log?.error({ err }, `experiments: ${where}`),
  });
  const runtime = new AgentRuntime({
    store, messages, streams, directory, publish, guardrails, experiments,
    models: faqFirst(router, {
      // The runtime's registered agent (what the reply itself runs with) spares a read and parse of the agent per reply.
      knowledgeBasesOf: async (appId, agentId): Promise<readonly string[]> => (runtime.get(appId, agentId) ?? (await agents.get(appId, agentId))).config.knowledge_base_ids,
      match: (appId, kbIds, question) => faqs.match(appId, kbIds, question),
      onError: (err) => log?.error({ err }, 'FAQ lookup failed; the model answers'),
    }),
    knowledge: {
      search: (appId, kbIds, query, k) => knowledge.search(appId, kbIds, query, k),
      // The first attached knowledge base decides: one reply shows citations one way.
      citationStyle: async (appId, kbIds) => (kbIds[0] ? (await ingestion.settings(appId, kbIds[0])).citation_style : 'numbered'),
      answeredByFaq: async (appId, kbIds, question) => (await faqs.match(appId, kbIds, question)) !== undefined,
    },
    httpTools: new HttpTools(outbound, (details, message) => log?.warn(details, message)),
    spend: {
      async check(appId, agentId, limit) {
        const r = await budgets.check(appId, { agentId }, limit);
        return r.ok ? { ok: true } : { ok: false, message: r.error.message };
      },
    },
    imageUrl: (appId, fileId) => files.dataUrl(appId, fileId, 5 * 1024 * 1024),
    costOf: (model, usage) => {
      const price = prices.lookup(model);
      if (!price) return undefined;
      const cost = costOf(usage, price);
      return { currency: cost.currency, amount: formatNanoAmount(BigInt(cost.nanos)) };
    },
    onError: (err, where) => log?.error({ err }, `agents: ${where}`),
    repliesPerUser: config.agentRepliesPerUser,
  });
  messages.useSendCheck((appId, conversationId, senderId) => runtime.admitSend(appId, conversationId, senderId));
  const agents = new Agents({
    store, users, runtime, knownModels: () => router.models(), outbound: outboundPolicy,
    knowledgeBaseIds: async (appId) => (await knowledge.list(appId)).map((kb) => kb.id),
    secrets: new SecretBox(master.key, { purpose: 'agent-tool-headers' }),
    warn: (message) => log?.warn(message),
    onChange: (appId, agentId) => broker.signal({ kind: 'agent_changed', app_id: appId, agent_id: agentId }),
  });
  // Providers entered in the console: keys sealed, routed at once here and, by signal, on every other node.
  const consoleProviders = new ConsoleProviders({
    db: store.roomTables(), box: new SecretBox(master.key, { purpose: 'provider-keys' }), router, policy: outboundPolicy, outbound,
    configured: configuredProviders(file, config.env),
    onPrices: (added) => {
      prices = basePrices.with(added);
      ledger.setPrices(prices);
    },
    onChange: () => broker.signal({ kind: 'providers_changed' }),
    onRoutes: () => gateway.refreshModels(),
  });
  await consoleProviders.load();
  await agents.load();
  await seedDemoAgent(agents, knowledge, defaultApp.appId, seedDocsDir(), router.models());
  if (file?.agents.length) await applyFileAgents(agents, knowledge, file.agents, defaultApp.appId);
  // Support conversations: the AI answers only while no person holds them; the room hears every message and each reply's end.
  const supportRates = currencyRatesFrom(file);
  const supportSettings = supportSettingsFrom(config.env);
  const { support, http: supportHttp } = buildSupport({
    db: store.roomTables(), sealer: atRest.rows,
    chat: {
      createSupport: (appId, customerId, agentId, title) => conversations.createSupport(appId, customerId, agentId, title),
      addMember: async (appId, conversationId, userId) => void (await conversations.addMembers({ appId }, conversationId, [userId])),
      removeMember: (appId, conversationId, userId) => conversations.removeMember({ appId }, conversationId, userId),
      notice: async (appId, conversationId, agentId, key, content) =>
        void (await messages.append({ appId }, { conversation_id: conversationId, sender_id: agentId, client_msg_id: key, type: 'system', state: 'complete', content })),
      userName: async (appId, userId) => (await store.getUser(appId, userId))?.name,
    },
    agents: {
      get: (appId, agentId) => runtime.get(appId, agentId),
      defaultFor: async (appId) => (await agents.list(appId)).at(0)?.id,
      stopReplies: (appId, conversationId) => {
        if (runtime.stopConversation(appId, conversationId, 'support') > 0 || broker instanceof LocalBroker || !broker.connected) return;
        // The reply may be streaming on the node that stored the customer's message: it is stopped there.
        void store.listMessages(appId, conversationId, { limit: 20 }).then(({ messages: recent }) => {
          for (const m of recent) if (m.state === 'streaming') broker.signal({ kind: 'stop_reply', app_id: appId, message_id: m.id });
        }).catch((err: unknown) => log?.error({ err }, 'support: could not stop a reply on another node'));
      },
    },
    events, publish,
    toUsd: (currency, nanos) => {
      const usd = supportRates.toUsdNanos(currency, nanos);
      return usd === undefined ? undefined : nanosToUsd(usd);
    },
    models: router,
    knowledge: { search: (appId, kbIds, query, k) => knowledge.search(appId, kbIds, query, k) },
    history: (appId, conversationId, page) => messages.history({ appId }, conversationId, page),
    isPerson: async (appId, userId) => (await store.getUser(appId, userId))?.kind === 'human',
    onError: (err, where) => log?.error({ err }, where),
    abandonAfterMs: supportSettings.abandonAfterMs,
    lease: { take: (name, owner, now, ttl) => store.takeLease(name, owner, now, ttl) },
  });
  runtime.useSupport(support.replies);
  messages.onMessage((message) => support.observe(message));
  // Message search (a blind index kept in step by the chat room) and reactions; both budgets are per user, shared by nodes like key limits.
  const underLimit = async (key: string, perMinute: number) => (await limits.take(key, perMinute, null, 0)).ok;
  const search = new MessageSearch({
    store: new MessageTermsStore(store.roomTables()),
    indexKey: (appId) => atRest.indexKey(appId),
    getMessage: (appId, id) => store.getMessage(appId, id),
    requireMember: async (appId, conversationId, userId) => void (await conversations.requireMember(appId, conversationId, userId)),
    take: underLimit,
    onError: (err) => log?.error({ err }, 'message search: could not index a message'),
  });
  messages.useIndex(search);
  const reactions = new Reactions({
    store: new ReactionsStore(store.roomTables()),
    getMessage: (appId, id) => store.getMessage(appId, id),
    requireMember: async (appId, conversationId, userId) => void (await conversations.requireMember(appId, conversationId, userId)),
    publish,
    take: underLimit,
  });
  messages.useDecoration((appId, list) => reactions.attach(appId, list));
  messages.useReactionCatchUp((appId, ids, since) => reactions.changedSince(appId, ids, since));
  const prefsStore = new MemberPrefsStore(store.roomTables());
  conversations.usePins((appId, userId, ids) => prefsStore.pinnedAt(appId, userId, ids));
  const memberPrefs = new MemberPrefsService({
    store: prefsStore,
    requireMember: async (appId, conversationId, userId) => void (await conversations.requireMember(appId, conversationId, userId)),
    publish,
  });
  await support.start();
  // Calls the last run left in flight (a crash) are settled before this one makes any; an agent reply's stored text says what was delivered.
  await settleInterruptedCalls({
    store, prices,
    deliveredText: async (row) => {
      if (row.message_id === null) return undefined;
      const text = (await store.getMessage(row.app_id, row.message_id))?.content.text;
      return typeof text === 'string' ? text : undefined;
    },
  });
  await streams.failOrphans();
  // A node that dies leaves its replies streaming: the others fail them once its presence runs out.
  const orphanSweep = presence && setInterval(() => void streams.failOrphans(config.batchLeaseMs).catch((err: unknown) => log?.error({ err }, 'could not fail orphaned replies')), config.batchLeaseMs);
  orphanSweep?.unref();
  await experiments.start();
  runtime.start();
  // Evaluation datasets: cut from real conversations (read through the chat, support and knowledge rooms), replayed on their own budget.
  const { datasets, fineTuning } = buildDatasets({
    db: store.roomTables(), sealer: atRest.rows, router, prices: { lookup: (model) => prices.lookup(model) }, rates: () => currencyRatesFrom(file),
    source: {
      agent: (appId, agentId) => {
        const agent = runtime.get(appId, agentId);
        return agent && { system_prompt: agent.config.system_prompt, knowledge_base_ids: agent.config.knowledge_base_ids, top_k: agent.config.top_k };
      },
      conversationIds: (appId, agentId) => store.listConversationIdsForUser(appId, agentId),
      messages: (appId, conversationId, page) => store.listMessages(appId, conversationId, page),
      outcome: async (appId, conversationId) => {
        const row = await support.row(appId, conversationId).catch(() => undefined);
        return row && { outcome: row.outcome, handedOff: row.handoffs > 0 };
      },
      search: (appId, kbIds, query, k) => knowledge.search(appId, kbIds, query, k),
    },
    openAi: () => {
      const o = openAiPassThrough(file, config.env);
      return o?.apiKey ? { baseURL: o.baseURL, apiKey: o.apiKey, ...(o.headers && { headers: o.headers }) } : undefined;
    },
    onError: (err, where) => log?.error({ err }, `datasets: ${where}`),
  });
  await datasets.start();

  // The website widget: visitor sessions and the origins each app allows to embed it.
  const widgetGuards = new Guards(auth);
  const widget = buildWidget({
    db: store.roomTables(), masterKey: master.key, env: config.env, outbound, defaultAgentId: DEMO_AGENT_ID,
    take: async (key, perMinute) => limits.take(key, perMinute, null, 0),
    users,
    // A visitor's conversation is a support conversation: the AI answers, a person takes over when it should.
    open: async (appId, userId, agentId, locale) => {
      const { conversation } = await support.openFor(appId, userId, { agentId, locale });
      return { conversationId: conversation.conversation_id, supportStatus: conversation.status };
    },
    appOf: (request) => widgetGuards.app(request),
    warn: (message) => log?.warn(message),
  });
  // The audit log (one hash chain per app), a user's data on request, and retention.
  // The chain heads are signed with a key from the encryption master secret (or, with encryption off, the master key): never in the database.
  const audit = new AuditLog(new AuditStore(store.roomTables(), atRest.rows), new HeadSigner(atRest.derive('audit-head') ?? { current: auditHeadSeed(master.key) }), events);
  await audit.signHeads();
  const privacyStore = new PrivacyStore(store.roomTables(), atRest.rows);
  const userData = new UserData({
    store: privacyStore,
    webhooks: { naming: (appId, userId) => webhooks.outbox.naming(appId, userId), forget: (appId, userId) => webhooks.outbox.forget(appId, userId) },
    getUser: async (appId, userId) => store.getUser(appId, userId) as Promise<Record<string, unknown> | undefined>,
    revokeTokens: (appId, userId) => users.revokeTokens(appId, userId),
    conversationIdsOf: (appId, userId) => store.listConversationIdsForUser(appId, userId),
    getConversation: (appId, id) => store.getConversation(appId, id),
    listMembers: (appId, id) => store.listMembers(appId, id),
    listMessages: (appId, id, page) => store.listMessages(appId, id, page),
    getMessage: (appId, id) => store.getMessage(appId, id),
    replaceMessage: (appId, id, patch) => messages.replace(appId, id, patch),
    removeMember: (appId, id, userId) => conversations.removeMember({ appId }, id, userId),
    forgetMembers: (appId, id) => directory.forget(appId, id),
    openFile: async (appId, fileId) => (await files.open({ appId }, fileId)).stream,
    filesDir: path.join(config.dataDir, 'files'),
    masterKey: master.key,
  });
  const retention = new Retention({
    store: privacyStore,
    removeBytes: (relative) => userData.removeBytes(relative),
    forgetMembers: (appId, id) => directory.forget(appId, id),
    lease: { take: (name, owner, now, ttl) => store.takeLease(name, owner, now, ttl), drop: (name, owner) => store.dropLease(name, owner) },
    onRemoved: async (appId, removed) => void (await audit.record({
      appId, actor: { kind: 'system', id: 'retention' }, action: 'retention.enforce', resource: 'retention_policy', after: removed,
    })),
    log: { error: (o, m) => log?.error(o, m) },
  });

  let ready = false;
  const http = await buildHttp(
    {
      guards: new Guards(auth), apps, users, conversations, messages, search, reactions, memberPrefs, files, knowledge, ingestion, webSources, faqs, agents, isReady: () => ready,
      degraded: () => (broker.connected ? [] : ['redis']),
      interventions,
      batches: { gateway, files: gatewayFiles, batches },
      gateway: {
        v1: { gateway, metrics, logBodies: config.logBodies, bodyLimit: config.maxUploadBytes, responses, moderations, media, maxAudioBytes: config.gatewayAudioMaxBytes },
        keys: { keys, budgets },
        metrics: { metrics, public: config.metricsPublic },
      },
      webhooks,
      support: supportHttp,
      experiments,
      datasets, fineTuning,
      widget,
      audit, providers: consoleProviders, privacy: { userData, retention }, encryption: atRest,
      webApp: webAppDeps({ store, file, env: config.env, router, prices, defaultAppId: defaultApp.appId, devSignIn: config.devSignIn, distDir: defaultWebDist() }),
    },
    { logLevel: config.logLevel, version: VERSION, logTo: options.logTo },
    { store, ledger, rates: currencyRatesFrom(file) },
  );
  log = http.log;
  const logError = (err: unknown) => http.log.error({ err }, 'realtime error');
  const hub = new Hub(broker, directory, logError);
  const realtime = new RealtimeGateway(hub, messages, auth, { ...config.ws, heartbeatMs: config.ws.heartbeatMs }, logError);
  realtime.stopStreaming = async (actor, messageId) =>
    (await runtime.stop(actor, messageId)) || (await stopOnAnotherNode(actor, messageId));
  // A reply streams on the node that stored the message it answers; a stop asked on another node is passed on.
  const stopOnAnotherNode = async (actor: { appId: string; userId?: string }, messageId: string): Promise<boolean> => {
    if (broker instanceof LocalBroker || !broker.connected) return false;
    const message = await store.getMessage(actor.appId, messageId);
    if (message?.state !== 'streaming') return false;
    if (actor.userId && !(await directory.roleOf(actor.appId, message.conversation_id, actor.userId))) return false;
    broker.signal({ kind: 'stop_reply', app_id: actor.appId, message_id: messageId, ...(actor.userId ? { user_id: actor.userId } : {}) });
    return true;
  };
  broker.onSignal((signal) => {
    // The node that stored a message answers it, so every node's runtime must know every agent.
    if (signal.kind === 'agent_changed') return void agents.reload(signal.app_id, signal.agent_id).catch((err: unknown) => logError(err));
    if (signal.kind === 'knowledge_changed') return void knowledge.reload(signal).catch((err: unknown) => logError(err));
    if (signal.kind === 'providers_changed') return void consoleProviders.load().catch((err: unknown) => logError(err));
    if (signal.kind === 'circuit_changed') return router.applyCircuitChange(signal.deployment, signal.state === 'open' ? { state: 'open', openedAt: signal.opened_at } : { state: 'closed' });
    runtime.stop({ appId: signal.app_id, ...(signal.user_id ? { userId: signal.user_id } : {}) }, signal.message_id)
      .catch((err: unknown) => logError(err));
  });
  // Events between nodes were lost while Redis was away: clients reconnect (spread over 3 s) and sync by seq.
  broker.onResync(() => {
    http.log.warn('Redis is back: asking this node\'s clients to reconnect and resync');
    realtime.resync(3_000);
  });
  realtime.attach(http.server);
  metrics.watchSockets(() => realtime.size);

  let closing: Promise<void> | undefined;
  return {
    config, store, http, realtime, apps, users, conversations, messages, agents, runtime, experiments, datasets, knowledge, webSources, router, ledger, budgets, gateway, keys, metrics, events, support,
    masterKey: master.key, masterKeyFile: master.file, defaultApp, atRest,
    batches, batchRunner,
    async listen() {
      await http.listen({ port: config.port, host: config.host });
      ready = true;
      await batchRunner.start();
      await ingestion.start();
      await webSources.start();
      atRest.start();
      retention.start(config.retentionIntervalMs);
      support.startSweeper(`${hostname()}:${process.pid}:support`, supportSettings.sweepIntervalMs);
      interventions.start();
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      return `http://${host}:${port}`;
    },
    close() {
      closing ??= (async () => {
        ready = false;
        // Just before main's grace runs out and the process exits, calls still running are settled as interrupted,
        // so their rows are written by this run rather than left for the next start.
        const margin = Math.min(1_000, Math.floor(config.shutdownGraceMs / 5));
        const cutoff = setTimeout(() => {
          if (ledger.interruptInFlight(INTERRUPTED_BY_SHUTDOWN) > 0) ledger.flush().catch(() => {});
        }, Math.max(0, config.shutdownGraceMs - margin));
        cutoff.unref();
        realtime.shutdown(1_000);
        hub.stop();
        clearInterval(orphanSweep);
        support.stop();
        // Replies under way are stopped and finished as such, so none is left 'streaming' in the store.
        await runtime.close(true);
        // Shadow replays under way end (their calls are in the ledger) before the ledger closes; waiting ones are dropped.
        await experiments.close();
        // Dataset runs end their calls under way (in the ledger) and are marked interrupted.
        await datasets.close();
        // Lines in flight finish and are recorded (or, past the grace, run again after restart) while the router and ledger still work.
        await batchRunner.stop();
        // The upload in hand finishes; one cut off is taken again at the next start (its row says processing).
        await ingestion.stop();
        await webSources.stop();
        await retention.stop();
        await interventions.close().catch((err: unknown) => http.log.error({ err }, 'guardrail interventions could not be written at shutdown'));
        // Node closes idle keep-alive sockets once, when the server closes; a response still streaming then leaves its socket
        // open for the keep-alive timeout (72 s) after it ends. Sweeping until the close is done frees them as they go idle.
        const sweep = setInterval(() => http.server.closeIdleConnections(), 50);
        await http.close().finally(() => clearInterval(sweep));
        clearTimeout(cutoff);
        // Deliveries in flight finish (and are recorded) or go back to the outbox for the next start.
        await webhooks.stop(Math.floor(config.shutdownGraceMs / 4));
        await ledger.close().catch((err: unknown) => http.log.error({ err }, 'ledger rows could not be written at shutdown'));
        budgets.close();
        await router.close();
        await moderations.close();
        await outbound.close();
        await broker.close();
        await presence?.stop();
        await redis?.close();
        await atRest.stop();
        await store.close();
      })();
      return closing;
    },
  };
}
