// The llm room: the provider port, the OpenAI-compatible adapter and its
// presets, the Router, token counting and prices. Other rooms import from here.
export type {
  CallOptions,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ChatStreamPart,
  ContentPart,
  EmbedRequest,
  EmbedResult,
  FinishReason,
  ImagePart,
  LlmProvider,
  ResponseFormat,
  TextPart,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
  WireToolCall,
} from './types.ts';
export { LlmError, isLlmError, parseRetryAfter, type LlmErrorKind } from './errors.ts';
export { linkAbort, StopSource, type StopSignal } from './abort.ts';
export { collectChat } from './stream.ts';
export { createOpenAICompatibleProvider, usageFromWire, type OpenAICompatibleOptions } from './openai-compatible.ts';
export { UpstreamHttp, type UpstreamHttpOptions } from './upstream-http.ts';
export {
  PRESETS,
  customProvider,
  presetOptions,
  providerFromPreset,
  providersFromEnv,
  type PresetName,
  type PresetOverrides,
  type ProviderPreset,
} from './presets.ts';
export {
  Router,
  type AttemptOutcome,
  type AttemptReport,
  type AttemptStart,
  type Deployment,
  type DeploymentHealth,
  type RetryOptions,
  type Route,
  type RouterCallOptions,
  type RouterOptions,
} from './router.ts';
export type { CircuitChange, CircuitOptions, CircuitState } from './circuit.ts';
export { countChatTokens, countMessageTokens, countOutputTokens, countTextTokens, estimateUsage, quickPromptTokens } from './tokens.ts';
export { addUsage, emptyUsage } from './usage.ts';
export {
  PriceTable,
  SEED_PRICES,
  costOf,
  costOfUnits,
  definePrice,
  formatNanos,
  priceId,
  seedPriceTable,
  toMicros,
  type Cost,
  type Currency,
  type ModelPrice,
  type PriceRates,
} from './prices.ts';
export {
  SPEECH_FORMATS,
  TRANSCRIPTION_FORMATS,
  rerankTokens,
  searchesFor,
  type AudioFile,
  type BilledUnit,
  type BilledUnits,
  type Reranking,
  type RerankRequest,
  type RerankResult,
  type Speech,
  type SpeechFormat,
  type SpeechRequest,
  type TranscribeRequest,
  type Transcription,
  type TranscriptionFormat,
} from './media.ts';
export { billedSeconds, silentWav, wavSeconds } from './audio-duration.ts';
export { RERANK_PRESETS, rerankProvider, rerankProvidersFromEnv, type RerankPreset, type RerankPresetName } from './rerank-providers.ts';
export { SecretBox, SecretBoxError, maskSecret, type SecretBoxFailure, type SecretBoxOptions } from './secret-box.ts';
