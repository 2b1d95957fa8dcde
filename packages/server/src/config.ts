import path from 'node:path';
import { z } from 'zod';

const Port = z.coerce.number().int().min(0).max(65_535);
const Bytes = z.coerce.number().int().positive();

/** Every setting Warbler reads from its environment, parsed once at start. */
const EnvSchema = z.object({
  WARBLER_PORT: Port.default(8080),
  WARBLER_HOST: z.string().min(1).default('0.0.0.0'),
  WARBLER_DATA_DIR: z.string().min(1).default('./data'),
  WARBLER_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL; leave it unset for the embedded SQLite store')
    .optional(),
  /** PostgreSQL: how long to wait for a connection, or for a batch of messages to be written, before telling clients to retry. */
  WARBLER_DATABASE_TIMEOUT_MS: z.coerce.number().int().min(100, 'must be at least 100 (milliseconds)').default(15_000),
  /** Redis for several nodes on one PostgreSQL: events between nodes, cluster-wide limits and batch leases. Unset: one node, all in-process. */
  WARBLER_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL; leave it unset for a single node')
    .optional(),
  /** While Redis is unreachable, /v1 key limits fall back to this node's own counts (open) or refuse calls with 503 (closed). */
  WARBLER_REDIS_LIMITS_ON_ERROR: z.enum(['open', 'closed']).default('open'),
  /** How long a node's hold on a running batch lasts unless renewed: how soon another node resumes the batch of one that died. */
  WARBLER_BATCH_LEASE_MS: z.coerce.number().int().min(1_000, 'must be at least 1000 (milliseconds)').default(30_000),
  /** How often retention policies are enforced in the background (one node at a time, under a lease). */
  WARBLER_RETENTION_INTERVAL_MS: z.coerce.number().int().min(1_000, 'must be at least 1000 (milliseconds)').default(3_600_000),
  WARBLER_MASTER_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The secret message content, files and knowledge are sealed under (via per-app data keys). Unset: data/encryption.key, generated on first start. */
  WARBLER_ENCRYPTION_KEY: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  /** Changing the master secret: the old one, whose data keys are re-sealed under WARBLER_ENCRYPTION_KEY at start. */
  WARBLER_ENCRYPTION_KEY_PREVIOUS: z.string().min(1).optional(),
  /** off: store plaintext (benchmarks, disks encrypted some other way); refused once the database holds encrypted data. */
  WARBLER_ENCRYPTION: z.enum(['on', 'off']).default('on'),
  WARBLER_PUBLIC_URL: z.string().url().optional(),
  WARBLER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest upload accepted, bytes. */
  WARBLER_MAX_UPLOAD_BYTES: Bytes.default(20 * 1024 * 1024),
  /**
   * Uploads one user may have running at once on this node; more wait up to 30 s for a turn (unread), then get 429.
   * Bounds the share of the server one user uploading as fast as it can takes from everyone else.
   */
  WARBLER_MAX_UPLOADS_PER_USER: z.coerce.number().int().positive().default(3),
  /** File download links live between one and two of these (seconds). */
  WARBLER_FILE_LINK_TTL_SECONDS: z.coerce.number().int().min(30, 'must be at least 30 (seconds)').max(3600, 'must be at most 3600 (seconds): a link is a bearer credential').default(300),
  /** Bytes the server will queue for one slow WebSocket before closing it with 4008. */
  WARBLER_WS_MAX_BUFFER: Bytes.default(1024 * 1024),
  WARBLER_WS_HEARTBEAT_MS: Bytes.default(25_000),
  /** Sends allowed per connection per second (token bucket refill), and the burst. */
  WARBLER_WS_SEND_RATE: z.coerce.number().positive().default(20),
  WARBLER_WS_SEND_BURST: z.coerce.number().positive().default(40),
  /** Request frames a user may make per second over all their sockets, in cost units (sync 20, history 5, send 2, ping 1), and the burst. */
  WARBLER_WS_FRAME_RATE: z.coerce.number().positive().default(200),
  WARBLER_WS_FRAME_BURST: z.coerce.number().positive().default(400),
  /** Requests of one user worked on at once (above the send burst, so an outbox flushed after a reconnect fits); more are refused with rate_limited. */
  WARBLER_WS_MAX_IN_FLIGHT: z.coerce.number().int().positive().default(64),
  /** Open sockets per user; one more is closed with 4009. */
  WARBLER_WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().positive().default(16),
  /** WebSocket handshakes per second from one IP address, and the burst (a NAT of many users shares one address). */
  WARBLER_WS_HANDSHAKE_RATE: z.coerce.number().positive().default(20),
  WARBLER_WS_HANDSHAKE_BURST: z.coerce.number().positive().default(100),
  /**
   * /v1 calls one gateway key may have running at once on this node; one more is refused with 429 (the OpenAI SDKs
   * retry it). Bounds the share of the server one key's traffic can take from other tenants; raise it for a key-heavy batch client.
   */
  WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY: z.coerce.number().int().positive().default(16),
  /** Days a guardrail intervention stays listed in the console (GET /api/guardrails/interventions); older rows are removed hourly. */
  WARBLER_GUARDRAIL_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(90),
  /** Largest audio upload to POST /v1/audio/transcriptions, bytes; OpenAI's own limit is 25 MB. */
  WARBLER_GATEWAY_AUDIO_MAX_BYTES: z.coerce.number().int().positive().default(25 * 1024 * 1024),
  /**
   * Agent replies one person may be waiting for at once (queued or streaming, over all their conversations); a message
   * to an agent beyond that is refused with rate_limited, not stored. Bounds the model calls one person can queue.
   */
  WARBLER_AGENT_REPLIES_PER_USER: z.coerce.number().int().positive().default(5),
  /** Grace period for in-flight work on SIGTERM. */
  WARBLER_SHUTDOWN_GRACE_MS: Bytes.default(10_000),
  /** The web app's sign-in by name (anyone can be anyone): for trying Warbler out; switch it off in production. */
  WARBLER_DEV_SIGN_IN: z.enum(['true', 'false', '1', '0']).default('true'),
  /** Serve GET /metrics without the master key (for a scraper on a private network). */
  WARBLER_METRICS_PUBLIC: z.enum(['true', 'false', '1', '0']).default('false'),
  /** Log /v1 request bodies (prompts are users' data: off unless you need it). */
  WARBLER_LOG_BODIES: z.enum(['true', 'false', '1', '0']).default('false'),
  /** A vision model (a route name, e.g. gpt-4o-mini) that reads scanned PDFs for knowledge bases; unset: OCR off. */
  WARBLER_KB_OCR_MODEL: z.string().trim().min(1).max(200).optional(),
  /** Pages of one scan OCR reads at most (each page is one priced model call). */
  WARBLER_KB_OCR_MAX_PAGES: z.coerce.number().int().min(1).max(2_000).default(50),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databaseTimeoutMs: number;
  redisUrl: string | undefined;
  redisLimitsOnError: 'open' | 'closed';
  batchLeaseMs: number;
  retentionIntervalMs: number;
  guardrailRetentionDays: number;
  masterKey: string | undefined;
  /** Encryption at rest: the secret (unset: the data dir's encryption.key) and whether it is on. */
  encryptionKey: string | undefined;
  encryptionKeyPrevious: string | undefined;
  encryption: 'on' | 'off';
  publicUrl: string | undefined;
  logLevel: z.infer<typeof EnvSchema>['WARBLER_LOG_LEVEL'];
  maxUploadBytes: number;
  /** Largest audio upload to /v1/audio/transcriptions, bytes. */
  gatewayAudioMaxBytes: number;
  /** Uploads one user may have running at once on this node. */
  maxUploadsPerUser: number;
  fileLinkTtlSeconds: number;
  ws: {
    maxBufferedBytes: number;
    heartbeatMs: number;
    sendRate: number;
    sendBurst: number;
    frameRate: number;
    frameBurst: number;
    maxInFlight: number;
    maxSocketsPerUser: number;
    handshakeRate: number;
    handshakeBurst: number;
  };
  /** /v1 calls one gateway key may have running at once on this node. */
  gatewayMaxConcurrentPerKey: number;
  /** Agent replies one person may be waiting for at once. */
  agentRepliesPerUser: number;
  shutdownGraceMs: number;
  devSignIn: boolean;
  metricsPublic: boolean;
  logBodies: boolean;
  /** OCR of scanned PDFs in knowledge bases: the vision model, and pages per scan at most. */
  kbOcr: { model: string; maxPages: number } | undefined;
  /** The environment this config was read from: provider keys and WARBLER_CONFIG are read from it too. */
  env: Record<string, string | undefined>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError listing every bad variable and how to fix it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.WARBLER_PORT,
    host: e.WARBLER_HOST,
    dataDir: path.resolve(e.WARBLER_DATA_DIR),
    databaseUrl: e.WARBLER_DATABASE_URL,
    databaseTimeoutMs: e.WARBLER_DATABASE_TIMEOUT_MS,
    redisUrl: e.WARBLER_REDIS_URL,
    redisLimitsOnError: e.WARBLER_REDIS_LIMITS_ON_ERROR,
    batchLeaseMs: e.WARBLER_BATCH_LEASE_MS,
    retentionIntervalMs: e.WARBLER_RETENTION_INTERVAL_MS,
    guardrailRetentionDays: e.WARBLER_GUARDRAIL_RETENTION_DAYS,
    masterKey: e.WARBLER_MASTER_KEY,
    encryptionKey: e.WARBLER_ENCRYPTION_KEY,
    encryptionKeyPrevious: e.WARBLER_ENCRYPTION_KEY_PREVIOUS,
    encryption: e.WARBLER_ENCRYPTION,
    publicUrl: e.WARBLER_PUBLIC_URL,
    logLevel: e.WARBLER_LOG_LEVEL,
    maxUploadBytes: e.WARBLER_MAX_UPLOAD_BYTES,
    maxUploadsPerUser: e.WARBLER_MAX_UPLOADS_PER_USER,
    fileLinkTtlSeconds: e.WARBLER_FILE_LINK_TTL_SECONDS,
    ws: {
      maxBufferedBytes: e.WARBLER_WS_MAX_BUFFER,
      heartbeatMs: e.WARBLER_WS_HEARTBEAT_MS,
      sendRate: e.WARBLER_WS_SEND_RATE,
      sendBurst: e.WARBLER_WS_SEND_BURST,
      frameRate: e.WARBLER_WS_FRAME_RATE,
      frameBurst: e.WARBLER_WS_FRAME_BURST,
      maxInFlight: e.WARBLER_WS_MAX_IN_FLIGHT,
      maxSocketsPerUser: e.WARBLER_WS_MAX_SOCKETS_PER_USER,
      handshakeRate: e.WARBLER_WS_HANDSHAKE_RATE,
      handshakeBurst: e.WARBLER_WS_HANDSHAKE_BURST,
    },
    gatewayMaxConcurrentPerKey: e.WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY,
    gatewayAudioMaxBytes: e.WARBLER_GATEWAY_AUDIO_MAX_BYTES,
    agentRepliesPerUser: e.WARBLER_AGENT_REPLIES_PER_USER,
    shutdownGraceMs: e.WARBLER_SHUTDOWN_GRACE_MS,
    devSignIn: e.WARBLER_DEV_SIGN_IN === 'true' || e.WARBLER_DEV_SIGN_IN === '1',
    metricsPublic: e.WARBLER_METRICS_PUBLIC === 'true' || e.WARBLER_METRICS_PUBLIC === '1',
    logBodies: e.WARBLER_LOG_BODIES === 'true' || e.WARBLER_LOG_BODIES === '1',
    kbOcr: e.WARBLER_KB_OCR_MODEL ? { model: e.WARBLER_KB_OCR_MODEL, maxPages: e.WARBLER_KB_OCR_MAX_PAGES } : undefined,
    env,
  };
}
