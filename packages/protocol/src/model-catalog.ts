import { z } from 'zod';

/** What a configured model is for: the console offers only chat models where a chat model is wanted (an agent's model). */
export const ModelKind = z.enum(['chat', 'embedding', 'transcription', 'speech', 'rerank']);
export type ModelKind = z.infer<typeof ModelKind>;

/** A deployment's circuit: open after repeated failures (skipped), half_open while one trial call is let through. */
export const CircuitState = z.enum(['closed', 'open', 'half_open']);
export type CircuitState = z.infer<typeof CircuitState>;

export const ModelDeployment = z.object({
  id: z.string(),
  provider: z.string(),
  upstream_model: z.string().describe("The provider's own name for the model"),
  state: CircuitState,
  retry_in_ms: z.number().nonnegative().describe('While open: time until a trial call is let through'),
  not_before_ms: z.number().nonnegative().optional().describe('The provider asked to wait (Retry-After) this long'),
});
export type ModelDeployment = z.infer<typeof ModelDeployment>;

/** Prices per million tokens (the table's figures), in the provider's currency. */
export const ModelPriceView = z.object({
  currency: z.enum(['USD', 'CNY']),
  effective_from: z.string().describe('YYYY-MM-DD'),
  input_per_million: z.number(),
  cached_input_per_million: z.number(),
  output_per_million: z.number(),
  note: z.string().optional(),
});
export type ModelPriceView = z.infer<typeof ModelPriceView>;

export const ModelInfo = z.object({
  name: z.string(),
  kind: ModelKind,
  fallbacks: z.array(z.string()).describe('Models tried, in order, when every deployment of this one fails'),
  deployments: z.array(ModelDeployment),
  price: ModelPriceView.nullable(),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

/** A provider the router runs (keys are never shown, only that it is configured). */
export const ConfiguredProvider = z.object({ name: z.string(), preset: z.string().nullable() });
export type ConfiguredProvider = z.infer<typeof ConfiguredProvider>;

export const ModelCatalog = z.object({ models: z.array(ModelInfo), providers: z.array(ConfiguredProvider) });
export type ModelCatalog = z.infer<typeof ModelCatalog>;

export const ModelCheckBody = z.object({ model: z.string().min(1) });

/** A one-token call's outcome: answered (by this model or a fallback) or the error. */
export const ModelCheck = z.object({
  model: z.string(),
  ok: z.boolean(),
  latency_ms: z.number().int(),
  answered_by: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ModelCheck = z.infer<typeof ModelCheck>;
