// The gateway room: the OpenAI-compatible /v1 API's keys, limits and calls.
// Wiring (app.ts):
//   const limits = new RateLimits();
//   const keys = new Keys(store, { onChange: (id) => limits.forget(id) });
//   const gateway = new Gateway({ models: router, keys, budgets, limits, masterKey, defaultAppId, appExists });
//   router's onAttempt: ledger.onAttempt, then noteGatewayAttempt (the deployment header of non-streaming calls).
// Routes: http/v1.ts (/v1) and http/gateway-keys.ts (/api/gateway/keys).
// Batches (./batches) call gateway.authenticate() for their routes and
// gateway.runCompletion(caller, body, { endpoint, source: 'batch' }) per line.
export { mayUse, type GatewayCaller } from './caller.ts';
export {
  OpenAiError,
  fromLlmError,
  invalidApiKey,
  invalidRequest,
  modelNotAllowed,
  modelNotFound,
  openAiErrorBody,
  toOpenAiError,
  type OpenAiErrorBody,
} from './errors.ts';
export { Keys, hashKey, looksLikeKey, type KeyInput, type KeyUpdate, type KeyView, type KeysOptions } from './keys.ts';
export { RateLimits, formatReset, rateLimitHeaders, type KeyLimits, type LimitCheck, type LimitState } from './limits.ts';
export { RedisRateLimits, type RedisRateLimitsOptions } from './redis-limits.ts';
export {
  Gateway,
  GatewayUsage,
  countEmbeddingTokens,
  countPrompt,
  noteGatewayAttempt,
  type Admission,
  type Answer,
  type CallOptions,
  type CompletionEndpoint,
  type CompletionResult,
  type GatewayDeps,
  type GatewayTurn,
  type GatewayModels,
  type OpenedStream,
} from './service.ts';
export { MAX_CACHE_TTL_SECONDS, ResponseCache, cacheTtlMs } from './response-cache.ts';
export { legacyToChat, TextCompletionChunks, textCompletionBody } from './legacy-completions.ts';
export { MODERATION_CATEGORIES, Moderations, moderationRulesFrom, moderationTexts, type GuardrailsWords, type ModerationRules, type ModerationUpstream } from './moderations.ts';
export { parseChatBody, parseEmbeddingsBody, type ChatBody, type EmbeddingsBody } from './validate.ts';
export { ChunkWriter, SSE_DONE, completionBody, embeddingBase64, wireUsage, type WireUsage } from './wire.ts';
export { MediaCalls, rerankBody, type MediaAnswer, type MediaModels } from './media-calls.ts';
export { MAX_AUDIO_BYTES, MAX_RERANK_DOCUMENTS, MAX_SPEECH_CHARS, parseRerank, parseSpeech, parseTranscription, type RerankBody } from './media-requests.ts';
export { mediaKindOf, modelKindOf, type MediaKind, type ModelKind } from './media-kinds.ts';
