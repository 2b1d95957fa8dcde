// Turns configuration into the running model layer: the Router (which model
// name goes to which deployment, with what fallbacks and timeouts), the price
// table and the currency rates. Routes are assembled in layers, each replacing
// routes of the same name from the layer before:
//   1. defaults for every enabled preset (gpt-4o-mini → OpenAI when
//      OPENAI_API_KEY is set, deepseek-chat → DeepSeek, ...), unless the file
//      says `default_routes: false`;
//   2. the `models:` each provider in the file lists;
//   3. the in-process models (local/kb-answer), always;
//   4. the file's `routes:`.
import {
  Router,
  customProvider,
  definePrice,
  presetOptions,
  providerFromPreset,
  providersFromEnv,
  rerankProvidersFromEnv,
  seedPriceTable,
  type Deployment,
  type LlmProvider,
  type ModelPrice,
  type OpenAICompatibleOptions,
  type PresetName,
  type PriceTable,
  type Route,
  type RouterOptions,
} from '../llm/index.ts';
import { CurrencyRates, DEFAULT_USD_RATES } from '../usage/index.ts';
import { WarblerConfigError, formatPath, type ConfigIssue, type FileModel, type FileProvider, type WarblerFile } from './warbler-file.ts';

type Env = Record<string, string | undefined>;

/**
 * What each preset serves out of the box. Ark takes model ids (dated) as well
 * as endpoint ids; the dated ids below are the ones our seed prices describe
 * (unverified from this machine; override them under providers.doubao.models).
 * Embedding models are served by default too, so /v1/embeddings works with
 * nothing but a provider key (docs/decisions/0011-responses-api.md).
 */
export const DEFAULT_MODELS: Readonly<Partial<Record<PresetName, readonly FileModel[]>>> = {
  openai: [
    { name: 'gpt-4o-mini', upstreamModel: 'gpt-4o-mini' },
    { name: 'gpt-4o', upstreamModel: 'gpt-4o' },
    { name: 'text-embedding-3-small', upstreamModel: 'text-embedding-3-small' },
    { name: 'text-embedding-3-large', upstreamModel: 'text-embedding-3-large' },
    // /v1/audio/transcriptions and /v1/audio/speech.
    { name: 'whisper-1', upstreamModel: 'whisper-1' },
    { name: 'gpt-4o-transcribe', upstreamModel: 'gpt-4o-transcribe' },
    { name: 'gpt-4o-mini-transcribe', upstreamModel: 'gpt-4o-mini-transcribe' },
    { name: 'tts-1', upstreamModel: 'tts-1' },
    { name: 'tts-1-hd', upstreamModel: 'tts-1-hd' },
    { name: 'gpt-4o-mini-tts', upstreamModel: 'gpt-4o-mini-tts' },
  ],
  deepseek: [
    { name: 'deepseek-chat', upstreamModel: 'deepseek-chat' },
    { name: 'deepseek-reasoner', upstreamModel: 'deepseek-reasoner' },
  ],
  qwen: [
    { name: 'qwen-plus', upstreamModel: 'qwen-plus' },
    { name: 'qwen-turbo', upstreamModel: 'qwen-turbo' },
    { name: 'text-embedding-v3', upstreamModel: 'text-embedding-v3' },
    { name: 'text-embedding-v4', upstreamModel: 'text-embedding-v4' },
  ],
  doubao: [
    { name: 'doubao-seed-1-6', upstreamModel: 'doubao-seed-1-6-250615' },
    { name: 'doubao-1-5-pro-32k', upstreamModel: 'doubao-1-5-pro-32k-250115' },
    { name: 'doubao-embedding', upstreamModel: 'doubao-embedding-text-240715' },
    { name: 'doubao-embedding-large', upstreamModel: 'doubao-embedding-large-text-240915' },
  ],
  // Ollama serves what was pulled; chat models differ per machine, but this embedding model is the one its docs start with
  // (`ollama pull nomic-embed-text`). DeepSeek has no embeddings API.
  ollama: [{ name: 'nomic-embed-text', upstreamModel: 'nomic-embed-text' }],
};

export type LocalProviders = Readonly<Record<string, LlmProvider>> | ReadonlyMap<string, LlmProvider>;

export interface BuildRouterOptions {
  /** In-process models by the name callers use, e.g. `{ 'local/kb-answer': kbAnswer }`. Always routed. */
  localProviders?: LocalProviders;
  /** Every attempt, for the ledger: `ledger.onAttempt`. */
  onAttempt?: RouterOptions['onAttempt'];
  /** Every attempt as it is sent, for the ledger's in-flight rows: `ledger.onAttemptStart`. */
  onAttemptStart?: RouterOptions['onAttemptStart'];
  /** Circuit verdicts to share with other nodes. */
  onCircuitChange?: RouterOptions['onCircuitChange'];
  /** Told about what was left out (fallbacks to models of providers the file marked optional). */
  onWarning?: (message: string) => void;
}

export interface RoutePlan {
  /** Every provider by name: enabled presets and the file's providers. */
  providers: Map<string, { provider: LlmProvider; preset?: PresetName }>;
  routes: Route[];
  options: Omit<RouterOptions, 'routes' | 'onAttempt' | 'onAttemptStart' | 'onCircuitChange'>;
}

const localMap = (local: LocalProviders | undefined): Map<string, LlmProvider> =>
  local instanceof Map ? new Map(local) : new Map(Object.entries((local ?? {}) as Record<string, LlmProvider>));

// A preset provider in the file still reads the preset's variables (key, base URL) for whatever the file leaves out.
function providerOf(p: FileProvider, env: Env): LlmProvider {
  const common = {
    name: p.name,
    ...(p.apiKey !== undefined ? { apiKey: p.apiKey } : {}),
    ...(Object.keys(p.headers).length > 0 ? { headers: p.headers } : {}),
    ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
  };
  if (p.preset) return providerFromPreset(p.preset, { ...common, ...(p.baseURL ? { baseURL: p.baseURL } : {}) }, env);
  return customProvider({ ...common, baseURL: p.baseURL! });
}

/** Works out providers and routes without building the Router (for startup logs and tests). */
export function planRoutes(file: WarblerFile | undefined, env: Env = process.env, options: BuildRouterOptions = {}): RoutePlan {
  const issues: ConfigIssue[] = [];
  const issue = (path: Array<string | number>, message: string) => {
    const pos = file?.locate(path);
    issues.push({ path: formatPath(path), message, ...(pos ? { line: pos.line, column: pos.column } : {}) });
  };

  const providers: RoutePlan['providers'] = new Map();
  for (const [name, provider] of providersFromEnv(env)) providers.set(name, { provider, preset: name });
  // Rerank-only providers (Jina, Cohere, SiliconFlow, DashScope's gte-rerank), on by their keys like the presets.
  const rerankers = rerankProvidersFromEnv(env);
  for (const { provider } of rerankers.values()) providers.set(provider.name, { provider });
  // A file provider named like a preset replaces the one the environment made.
  for (const p of file?.providers ?? []) providers.set(p.name, { provider: providerOf(p, env), ...(p.preset ? { preset: p.preset } : {}) });

  const routes = new Map<string, Route>();
  const deploymentOf = (providerName: string, m: FileModel): Deployment => ({ id: `${providerName}/${m.upstreamModel}`, provider: providers.get(providerName)!.provider, model: m.upstreamModel });

  // 1. Defaults: every provider built on a preset serves that preset's models, side by side when several do.
  if (file?.defaultRoutes !== false) {
    for (const [name, { preset }] of providers) {
      for (const m of (preset && DEFAULT_MODELS[preset]) || []) {
        const route = routes.get(m.name) ?? { model: m.name, deployments: [] };
        route.deployments.push(deploymentOf(name, m));
        routes.set(m.name, route);
      }
    }
  }

  if (file?.defaultRoutes !== false) {
    for (const { provider, models } of rerankers.values()) {
      // A file provider of the same name replaced the environment's; its own models: list says what it serves.
      if (providers.get(provider.name)?.provider !== provider) continue;
      for (const m of models) routes.set(m, { model: m, deployments: [deploymentOf(provider.name, { name: m, upstreamModel: m })] });
    }
  }

  // 2. Models the file's providers list replace the defaults of the same name.
  const listed = new Set<string>();
  for (const p of file?.providers ?? []) {
    for (const m of p.models) {
      if (!listed.has(m.name)) {
        listed.add(m.name);
        routes.set(m.name, { model: m.name, deployments: [] });
      }
      routes.get(m.name)!.deployments.push(deploymentOf(p.name, m));
    }
  }

  // 3. In-process models.
  const local = localMap(options.localProviders);
  for (const [name, provider] of local) routes.set(name, { model: name, deployments: [{ id: name, provider, model: name }] });

  // 4. The file's routes, as written.
  for (const r of file?.routes ?? []) {
    const deployments: Deployment[] = [];
    r.deployments.forEach((d, i) => {
      if (d.provider === 'local') {
        const name = d.model.startsWith('local/') ? d.model : `local/${d.model}`;
        const provider = local.get(name);
        if (provider) deployments.push({ id: name, provider, model: name });
        else issue(['routes', r.model, 'deployments', i], `there is no built-in model "${name}"; built in: ${[...local.keys()].join(', ') || 'none'}`);
        return;
      }
      const p = providers.get(d.provider);
      if (p) deployments.push({ id: d.id, provider: p.provider, model: d.model });
      else issue(['routes', r.model, 'deployments', i], `no provider named "${d.provider}"`);
    });
    routes.set(r.model, { model: r.model, deployments, ...(r.fallbacks.length ? { fallbacks: r.fallbacks } : {}) });
  }

  // Routes left with nothing to try are dropped, then fallbacks are checked against what remains.
  for (const [name, r] of routes) if (r.deployments.length === 0 && !r.fallbacks?.length) routes.delete(name);
  const skipped = file?.skippedProviders ?? [];
  for (const r of file?.routes ?? []) {
    const route = routes.get(r.model);
    if (!route) continue;
    const kept: string[] = [];
    r.fallbacks.forEach((f, i) => {
      if (f === r.model) issue(['routes', r.model, 'fallbacks', i], 'a route cannot fall back to itself');
      else if (routes.has(f)) kept.push(f);
      // With optional providers left out, a fallback to what they served just goes; otherwise it is a typo.
      else if (skipped.length > 0) options.onWarning?.(`routes.${r.model}: fallback "${f}" has no route (providers left out: ${skipped.map((s) => s.name).join(', ')}); skipping it`);
      else issue(['routes', r.model, 'fallbacks', i], `no route for "${f}" (routed: ${[...routes.keys()].join(', ')})`);
    });
    if (kept.length > 0) route.fallbacks = kept;
    else delete route.fallbacks;
  }
  // A route that lost both its deployments and its fallbacks has nothing to try; so may one that fell back only to it.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, r] of routes) {
      if (r.fallbacks) r.fallbacks = r.fallbacks.filter((f) => routes.has(f));
      if (r.fallbacks?.length === 0) delete r.fallbacks;
      if (r.deployments.length === 0 && !r.fallbacks) {
        routes.delete(name);
        options.onWarning?.(`model "${name}" is not served: every provider it would run on was left out`);
        changed = true;
      }
    }
  }
  if (issues.length > 0) throw new WarblerConfigError(file?.path ?? 'warbler.yaml', issues);

  return { providers, routes: [...routes.values()], options: { ...(file?.router ?? {}) } };
}

/**
 * The OpenAI provider's connection, for what the gateway passes straight to
 * OpenAI (moderations): the file's provider on the openai preset, else
 * OPENAI_API_KEY; undefined when neither gives a key.
 */
export function openAiPassThrough(file: WarblerFile | undefined, env: Env = process.env): OpenAICompatibleOptions | undefined {
  const p = file?.providers.find((x) => x.preset === 'openai');
  const options = presetOptions('openai', p ? {
    ...(p.apiKey !== undefined ? { apiKey: p.apiKey } : {}),
    ...(p.baseURL ? { baseURL: p.baseURL } : {}),
    ...(Object.keys(p.headers).length > 0 ? { headers: p.headers } : {}),
  } : {}, env);
  return options.apiKey ? options : undefined;
}

/** The Router for this configuration: presets the environment enables, the file's providers and routes, and the local models. */
export function buildRouter(file: WarblerFile | undefined, env: Env = process.env, options: BuildRouterOptions = {}): Router {
  const plan = planRoutes(file, env, options);
  return new Router({
    ...plan.options,
    routes: plan.routes,
    ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
    ...(options.onAttemptStart ? { onAttemptStart: options.onAttemptStart } : {}),
    ...(options.onCircuitChange ? { onCircuitChange: options.onCircuitChange } : {}),
  });
}

/**
 * The seed prices, then a free price for each in-process model (so the ledger
 * does not warn about them), then the file's prices, which win from their date on.
 */
export function priceTableFrom(file: WarblerFile | undefined, options: { base?: PriceTable; localModels?: Iterable<string> } = {}): PriceTable {
  const local: ModelPrice[] = [...(options.localModels ?? [])].map((model) =>
    definePrice({ model, currency: 'USD', effectiveFrom: '2000-01-01', perMillion: { input: 0, output: 0 }, note: 'runs in-process; costs nothing' }),
  );
  return (options.base ?? seedPriceTable()).with(local).with(file?.prices ?? []);
}

/** USD rates: the built-in defaults overridden by the file's `currency_rates`. */
export function currencyRatesFrom(file: WarblerFile | undefined): CurrencyRates {
  return new CurrencyRates({ ...DEFAULT_USD_RATES, ...(file?.currencyRates ?? {}) });
}
