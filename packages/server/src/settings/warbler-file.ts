// warbler.yaml: the declarative half of the configuration (providers, model
// routes, prices, currency rates, agents), at the path WARBLER_CONFIG names.
// It is read once at start and validated with zod; every error names the
// place in the file (path and line) and what to write instead. Secrets stay
// in the environment: the file refers to them as ${VAR}.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { DEFAULT_POLICY, OFF_POLICY, PII_KINDS, type GuardrailsSettings, type PiiSettings, type PolicyOverride } from '../guardrails/index.ts';
import { definePrice, PRESETS, toMicros, type ModelPrice, type PresetName } from '../llm/index.ts';
import { parseHostPattern } from '../outbound/index.ts';

type Env = Record<string, string | undefined>;

// ---------------------------------------------------------------- errors

export interface ConfigIssue {
  /** Where in the file, e.g. `providers.deepseek.api_key`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class WarblerConfigError extends Error {
  override name = 'WarblerConfigError';
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`${file} is not valid:\n${issues.map((i) => `  ${i.path || '(top level)'}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`).join('\n')}`);
  }
}

// ---------------------------------------------------------------- the typed result

export interface FileModel {
  /** The name callers ask for. */
  name: string;
  /** The name the provider knows (an Ark endpoint id, a dated snapshot); defaults to `name`. */
  upstreamModel: string;
}

export interface FileProvider {
  name: string;
  preset?: PresetName;
  /** Unset for a preset: the preset's own (or its *_BASE_URL variable). */
  baseURL?: string;
  /** Unset for a preset: the preset's key variable. */
  apiKey?: string;
  headers: Record<string, string>;
  timeoutMs?: number;
  models: FileModel[];
}

export interface FileDeployment {
  provider: string;
  /** The upstream model name. */
  model: string;
  /** Names the deployment in the ledger and headers; default `<provider>/<model>`. */
  id: string;
}

export interface FileRoute {
  model: string;
  deployments: FileDeployment[];
  fallbacks: string[];
}

export interface FileRouterOptions {
  retry?: { maxRetries?: number; baseDelayMs?: number; maxDelayMs?: number };
  attemptTimeoutMs?: number;
  idleTimeoutMs?: number;
  deadlineMs?: number;
  circuit?: { failureThreshold?: number; cooldownMs?: number };
}

export interface FileAgentTool {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  url: string;
  headers?: Record<string, string>;
  timeout_ms?: number;
}

/** An agent as the file declares it; fields are named as the agents room names them, so it can validate and default the rest. */
export interface FileAgent {
  /** Stable id to update the same agent on every start; unset: matched by name. */
  id?: string;
  /** The app the agent belongs to; unset: the default app. */
  app_id?: string;
  name: string;
  model?: string;
  system_prompt?: string;
  temperature?: number;
  max_tokens?: number;
  /** Knowledge base names or ids, resolved when the agent is seeded. */
  knowledge_bases: string[];
  tools: FileAgentTool[];
  trigger?: { group: 'mention' | 'all' };
  monthly_budget_usd?: number | null;
  /** Guardrails policy name (guardrails.policies); unset: the app's or the default. */
  guardrails?: string;
}

export interface WarblerFile {
  /** Absolute or as given; undefined when built from text. */
  path: string | undefined;
  providers: FileProvider[];
  /** Providers marked `optional` whose variables are unset: left out, with why. */
  skippedProviders: Array<{ name: string; reason: string }>;
  routes: FileRoute[];
  /** Whether the built-in routes of enabled presets apply (gpt-4o-mini → OpenAI, ...). Default true. */
  defaultRoutes: boolean;
  router: FileRouterOptions;
  prices: ModelPrice[];
  /** USD per unit. */
  currencyRates: Record<string, number>;
  agents: FileAgent[];
  /** Hosts agent tools may reach beyond public https addresses (see the outbound room). */
  outbound: { allowHosts: string[]; allowHttpHosts: string[] };
  /** Sensitive words, PII masking, the injection screen; undefined without a guardrails: section. */
  guardrails: GuardrailsSettings | undefined;
  /** Where a path of the file is (line and column), for errors found after loading. */
  locate(path: ReadonlyArray<string | number>): { line: number; column: number } | undefined;
}

// ---------------------------------------------------------------- environment references

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const ONLY_ENV_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/** Replaces ${VAR}; returns the names that are unset (or empty) instead when there are any. */
function interpolate(raw: string, env: Env): { value: string } | { missing: string[] } {
  const missing: string[] = [];
  const value = raw.replace(ENV_REF, (_, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') missing.push(name);
    return v ?? '';
  });
  return missing.length > 0 ? { missing } : { value };
}

const unsetMessage = (missing: string[]) =>
  missing.length === 1 ? `environment variable ${missing[0]} is not set` : `environment variables ${missing.join(', ')} are not set`;

// ---------------------------------------------------------------- schema

const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ModelName = z.string().trim().min(1, 'a model name cannot be empty');
const Millis = z.number().int().min(1);

const Decimal = z
  .union([z.number(), z.string()])
  .refine(
    (v) => {
      try {
        toMicros(v);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'write a decimal amount per 1M tokens with at most 6 decimals, e.g. 0.15' },
  )
  .transform((v) => (typeof v === 'number' ? String(v) : v));

const ModelEntry = z.union([
  ModelName.transform((name): FileModel => ({ name, upstreamModel: name })),
  z.strictObject({ name: ModelName, upstream_model: ModelName.optional() }).transform((m): FileModel => ({ name: m.name, upstreamModel: m.upstream_model ?? m.name })),
]);

const RawProvider = z.strictObject({
  preset: z.enum(PRESET_NAMES, { message: `preset must be one of ${PRESET_NAMES.join(', ')}` }).optional(),
  base_url: z.string().min(1).optional(),
  api_key: z.string().optional(),
  /** The operator insists on a key written in the file. */
  allow_literal_api_key: z.boolean().default(false),
  headers: z.record(z.string(), z.string()).default({}),
  timeout_ms: Millis.optional(),
  /** Leave the provider out (instead of failing) when a variable it refers to is unset. */
  optional: z.boolean().default(false),
  models: z.array(ModelEntry).default([]),
});

const DeploymentEntry = z.union([
  // "openai/gpt-4o-mini" or just "openai" (the route's own name upstream).
  z.string().min(1),
  z.strictObject({ provider: z.string().min(1), model: ModelName.optional(), id: z.string().min(1).optional() }),
]);

const RawRoute = z.strictObject({
  deployments: z.array(DeploymentEntry).min(1, 'a route needs at least one deployment'),
  fallbacks: z.array(ModelName).default([]),
});

const RawRouter = z.strictObject({
  retry: z
    .strictObject({ max_retries: z.number().int().min(0).max(10).optional(), base_delay_ms: Millis.optional(), max_delay_ms: Millis.optional() })
    .optional(),
  attempt_timeout_ms: Millis.optional(),
  idle_timeout_ms: Millis.optional(),
  deadline_ms: Millis.optional(),
  circuit: z.strictObject({ failure_threshold: z.number().int().min(1).optional(), cooldown_ms: Millis.optional() }).optional(),
});

const RawPrice = z.strictObject({
  model: ModelName,
  aliases: z.array(ModelName).optional(),
  /** Only calls through this provider (when one model name costs differently at two providers). */
  provider: z.string().min(1).optional(),
  currency: z.enum(['USD', 'CNY'], { message: 'currency must be USD or CNY' }),
  effective_from: z
    .union([z.string(), z.date()])
    .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
    .refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)), { message: 'write the date as YYYY-MM-DD' }),
  per_million: z.strictObject({
    input: Decimal,
    cached_input: Decimal.optional(),
    output: Decimal,
    batch_input: Decimal.optional(),
    batch_cached_input: Decimal.optional(),
    batch_output: Decimal.optional(),
  }).optional(),
  /** Audio and rerank models billed per second, character or search: the price of 1M of that unit. */
  per_unit: z.strictObject({
    unit: z.enum(['second', 'character', 'search'], { message: 'unit must be second, character or search' }),
    per_million: Decimal,
  }).optional(),
  source: z.string().optional(),
  note: z.string().optional(),
}).refine((p) => p.per_million !== undefined || p.per_unit !== undefined, { message: 'give per_million (tokens) or per_unit (seconds, characters, searches)', path: ['per_million'] });

const RawTool = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'use 1-64 letters, digits, _ or -'),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).optional(),
  timeout_ms: Millis.optional(),
});

const RawAgent = z.strictObject({
  id: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  name: z.string().trim().min(1).max(100),
  model: ModelName.optional(),
  system_prompt: z.string().optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).optional(),
  knowledge_bases: z.array(z.string().min(1)).default([]),
  tools: z.array(RawTool).default([]),
  // "mention" is short for { group: mention }: direct chats always get a reply.
  trigger: z
    .union([z.enum(['mention', 'all']), z.strictObject({ group: z.enum(['mention', 'all']) })])
    .transform((t) => (typeof t === 'string' ? { group: t } : t))
    .optional(),
  monthly_budget_usd: z.number().min(0).nullable().optional(),
  guardrails: z.string().min(1).optional(),
});

const HostEntry = z.string().superRefine((entry, ctx) => {
  try {
    parseHostPattern(entry);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const RawOutbound = z.strictObject({
  allow_hosts: z.array(HostEntry).default([]),
  allow_http_hosts: z.array(HostEntry).default([]),
});

// ---- guardrails: word lists, personal data, the injection screen, and named policies that apps, agents and keys select.
const PiiKindName = z.enum(PII_KINDS as [string, ...string[]], { message: `a kind of personal data is one of ${PII_KINDS.join(', ')}` });
// false is short for "mask nothing"; an object's errors then point inside it (pii.mask[0]), not at the whole union.
const RawPii = z.preprocess(
  (v) => (v === false ? { mask: [] } : v),
  z.strictObject({ mask: z.array(PiiKindName).default([...PII_KINDS]), restore_in_reply: z.boolean().default(false) }, { message: 'write pii: false, or { mask: [...], restore_in_reply: true|false }' }),
);
const RawWordList = z
  .strictObject({
    action: z.enum(['block', 'mask', 'flag'], { message: 'action must be block (refuse the call), mask (replace with ***) or flag (log and count only)' }),
    words: z.array(z.string().trim().min(1, 'a word cannot be empty').max(200)).default([]),
    /** One word a line; # starts a comment. Relative to this file's folder. */
    file: z.string().min(1).optional(),
  })
  .refine((l) => l.words.length > 0 || l.file !== undefined, { message: 'give the list its words: [...] or a file: with one word a line' });
/** Provider moderation (OpenAI's moderation model) of prompts (input) and answers (output). */
const RawModeration = z.strictObject({ input: z.boolean().default(false), output: z.boolean().default(false) }, { message: 'write moderation: { input: true|false, output: true|false }' });
const RawPolicy = z.strictObject({
  lists: z.array(z.string().min(1)).optional(),
  pii: RawPii.optional(),
  injection_screen: z.boolean().optional(),
  moderation: RawModeration.optional(),
});
const RawGuardrails = z.strictObject({
  lists: z.record(z.string().regex(NAME, 'a list name is letters, digits, ".", "_" or "-"'), RawWordList).default({}),
  allow: z.array(z.string().trim().min(1)).default([]),
  pii: RawPii.default({ mask: [], restore_in_reply: false }),
  injection_screen: z.boolean().default(true),
  moderation: RawModeration.optional(),
  policies: z.record(z.string().regex(NAME, 'a policy name is letters, digits, ".", "_" or "-"'), RawPolicy).default({}),
  apps: z.record(z.string().min(1), z.string().min(1)).default({}),
});

const RawFile = z.strictObject({
  version: z.literal(1, { message: 'the only version is 1' }).optional(),
  providers: z.record(z.string().regex(NAME, 'a provider name is letters, digits, ".", "_" or "-" (no "/")'), RawProvider).default({}),
  default_routes: z.boolean().default(true),
  router: RawRouter.default({}),
  routes: z.record(ModelName, RawRoute).default({}),
  prices: z.array(RawPrice).default([]),
  currency_rates: z.record(z.string().regex(/^[A-Za-z]{3}$/, 'a currency is a 3-letter code such as CNY'), z.number().positive('a rate is USD per unit, above 0')).default({}),
  agents: z.array(RawAgent).default([]),
  outbound: RawOutbound.default({ allow_hosts: [], allow_http_hosts: [] }),
  guardrails: RawGuardrails.optional(),
});

type RawFile = z.infer<typeof RawFile>;

// ---------------------------------------------------------------- normalising (env, references)

interface Issue {
  path: Array<string | number>;
  message: string;
}

function presetEnabledByEnv(name: PresetName, env: Env): boolean {
  const p = PRESETS[name];
  return p.apiKeyEnv ? Boolean(env[p.apiKeyEnv]) : Boolean(p.baseURLEnv && env[p.baseURLEnv]);
}

function normaliseProvider(name: string, raw: RawFile['providers'][string], env: Env, issues: Issue[]): FileProvider | { skipped: string } {
  const at = (...p: Array<string | number>) => ['providers', name, ...p];
  const out: FileProvider = { name, headers: {}, models: raw.models, ...(raw.preset ? { preset: raw.preset } : {}), ...(raw.timeout_ms ? { timeoutMs: raw.timeout_ms } : {}) };
  const local: Issue[] = [];
  const missing: string[] = [];
  const resolve = (value: string, path: Array<string | number>): string | undefined => {
    const r = interpolate(value, env);
    if ('value' in r) return r.value;
    missing.push(...r.missing);
    local.push({ path, message: unsetMessage(r.missing) });
    return undefined;
  };
  if (raw.api_key !== undefined) {
    if (!ONLY_ENV_REF.test(raw.api_key.trim()) && !raw.allow_literal_api_key) {
      issues.push({
        path: at('api_key'),
        message: 'write the key as a reference to an environment variable, e.g. api_key: ${DEEPSEEK_API_KEY}; a key written in the file ends up in backups and version control (set allow_literal_api_key: true to insist)',
      });
    } else {
      const key = resolve(raw.api_key.trim(), at('api_key'));
      if (key !== undefined) out.apiKey = key;
    }
  }
  if (raw.base_url !== undefined) {
    const url = resolve(raw.base_url, at('base_url'));
    if (url !== undefined) {
      if (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)) out.baseURL = url.replace(/\/+$/, '');
      else local.push({ path: at('base_url'), message: `"${url}" is not an http(s) URL` });
    }
  } else if (!raw.preset) {
    issues.push({ path: at(), message: `say what this provider is: a preset (${PRESET_NAMES.join(', ')}) or a base_url of any OpenAI-compatible server` });
  }
  for (const [header, value] of Object.entries(raw.headers)) {
    const v = resolve(value, at('headers', header));
    if (v !== undefined) out.headers[header] = v;
  }
  if (raw.preset && out.apiKey === undefined && raw.api_key === undefined) {
    const keyEnv = PRESETS[raw.preset].apiKeyEnv;
    if (keyEnv && !env[keyEnv]) {
      missing.push(keyEnv);
      local.push({ path: at(), message: `the ${raw.preset} preset needs a key: set ${keyEnv}, or write api_key: \${SOME_VARIABLE}` });
    }
  }
  if (local.length > 0) {
    if (raw.optional) return { skipped: unsetMessage([...new Set(missing)]) };
    issues.push(...local);
  }
  return out;
}

function parseDeployment(entry: z.infer<typeof DeploymentEntry>, routeModel: string): FileDeployment {
  if (typeof entry === 'string') {
    const slash = entry.indexOf('/');
    const provider = slash < 0 ? entry : entry.slice(0, slash);
    const model = slash < 0 ? routeModel : entry.slice(slash + 1);
    return { provider, model, id: `${provider}/${model}` };
  }
  const model = entry.model ?? routeModel;
  return { provider: entry.provider, model, id: entry.id ?? `${entry.provider}/${model}` };
}

const piiSettings = (raw: z.infer<typeof RawPii>): PiiSettings => ({ mask: raw.mask as PiiSettings['mask'], restoreInReply: raw.restore_in_reply });

/** One word a line; blank lines and # comments skipped. */
function readWordFile(file: string): string[] {
  return readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
}

function normaliseGuardrails(raw: RawFile['guardrails'], agents: RawFile['agents'], baseDir: string, issues: Issue[]): GuardrailsSettings | undefined {
  const names = new Set(raw ? Object.keys(raw.policies) : []);
  agents.forEach((a, i) => {
    if (a.guardrails && a.guardrails !== DEFAULT_POLICY && a.guardrails !== OFF_POLICY && !names.has(a.guardrails)) {
      issues.push({ path: ['agents', i, 'guardrails'], message: `no guardrails policy named "${a.guardrails}"; declare it under guardrails.policies, or use default or off` });
    }
  });
  if (!raw) return undefined;
  const lists: GuardrailsSettings['lists'] = [];
  for (const [name, l] of Object.entries(raw.lists)) {
    const words = [...l.words];
    if (l.file !== undefined) {
      const file = resolvePath(baseDir, l.file);
      try {
        words.push(...readWordFile(file));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        issues.push({ path: ['guardrails', 'lists', name, 'file'], message: `cannot read ${file} (${code === 'ENOENT' ? 'there is no such file' : (err as Error).message}); paths are relative to this file's folder` });
      }
    }
    lists.push({ name, action: l.action, words });
  }
  const listNames = new Set(lists.map((l) => l.name));
  const policies: Record<string, PolicyOverride> = {};
  for (const [name, p] of Object.entries(raw.policies)) {
    if (name === DEFAULT_POLICY || name === OFF_POLICY) {
      issues.push({ path: ['guardrails', 'policies', name], message: `"${name}" is built in (${name === OFF_POLICY ? 'every guardrail off' : 'the top-level settings'}); pick another name` });
      continue;
    }
    p.lists?.forEach((l, i) => {
      if (!listNames.has(l)) issues.push({ path: ['guardrails', 'policies', name, 'lists', i], message: `no list named "${l}"; declared: ${[...listNames].join(', ') || 'none'}` });
    });
    policies[name] = {
      ...(p.lists ? { lists: p.lists } : {}),
      ...(p.pii !== undefined ? { pii: piiSettings(p.pii) } : {}),
      ...(p.injection_screen !== undefined ? { injectionScreen: p.injection_screen } : {}),
      ...(p.moderation !== undefined ? { moderation: p.moderation } : {}),
    };
  }
  for (const [app, policy] of Object.entries(raw.apps)) {
    if (policy !== DEFAULT_POLICY && policy !== OFF_POLICY && !names.has(policy)) {
      issues.push({ path: ['guardrails', 'apps', app], message: `no guardrails policy named "${policy}"; declare it under guardrails.policies, or use default or off` });
    }
  }
  return {
    lists, allow: raw.allow, pii: piiSettings(raw.pii), injectionScreen: raw.injection_screen, policies, apps: raw.apps,
    ...(raw.moderation ? { moderation: raw.moderation } : {}),
  };
}

function normalise(raw: RawFile, env: Env, issues: Issue[], baseDir = process.cwd()): Omit<WarblerFile, 'path' | 'locate'> {
  const providers: FileProvider[] = [];
  const skippedProviders: WarblerFile['skippedProviders'] = [];
  for (const [name, p] of Object.entries(raw.providers)) {
    if (name === 'local') {
      issues.push({ path: ['providers', name], message: '"local" is the name of the built-in models (local/kb-answer); pick another name' });
      continue;
    }
    const r = normaliseProvider(name, p, env, issues);
    if ('skipped' in r) skippedProviders.push({ name, reason: r.skipped });
    else providers.push(r);
  }

  // Providers a route may name: the file's, the presets the environment turns on, and the built-in local models.
  const known = new Set([...providers.map((p) => p.name), ...PRESET_NAMES.filter((n) => presetEnabledByEnv(n, env)), 'local']);
  const skipped = new Set(skippedProviders.map((s) => s.name));
  const routes: FileRoute[] = [];
  for (const [model, r] of Object.entries(raw.routes)) {
    const deployments: FileDeployment[] = [];
    r.deployments.forEach((entry, i) => {
      const d = parseDeployment(entry, model);
      if (known.has(d.provider)) deployments.push(d);
      else if (skipped.has(d.provider)) return;
      else if ((PRESET_NAMES as string[]).includes(d.provider)) {
        const keyEnv = PRESETS[d.provider as PresetName].apiKeyEnv ?? PRESETS[d.provider as PresetName].baseURLEnv;
        issues.push({ path: ['routes', model, 'deployments', i], message: `the ${d.provider} preset is not enabled: set ${keyEnv}, or declare it under providers` });
      } else {
        issues.push({ path: ['routes', model, 'deployments', i], message: `no provider named "${d.provider}"; declared: ${[...known].join(', ')}` });
      }
    });
    // A route whose every deployment belongs to a skipped optional provider goes with them, unless it can fall back.
    if (deployments.length > 0 || r.fallbacks.length > 0) routes.push({ model, deployments, fallbacks: r.fallbacks });
  }

  const prices: ModelPrice[] = [];
  raw.prices.forEach((p, i) => {
    try {
      prices.push(
        definePrice({
          model: p.model,
          currency: p.currency,
          effectiveFrom: p.effective_from,
          perMillion: p.per_million
            ? {
              input: p.per_million.input,
              output: p.per_million.output,
              cachedInput: p.per_million.cached_input,
              batchInput: p.per_million.batch_input,
              batchCachedInput: p.per_million.batch_cached_input,
              batchOutput: p.per_million.batch_output,
            }
            : { input: '0', output: '0' },
          ...(p.per_unit ? { perUnit: { unit: p.per_unit.unit, perMillion: p.per_unit.per_million } } : {}),
          ...(p.aliases ? { aliases: p.aliases } : {}),
          ...(p.provider ? { provider: p.provider } : {}),
          source: p.source ?? 'warbler.yaml',
          ...(p.note ? { note: p.note } : {}),
        }),
      );
    } catch (err) {
      issues.push({ path: ['prices', i], message: (err as Error).message });
    }
  });

  const agents: FileAgent[] = [];
  const seen = new Map<string, number>();
  raw.agents.forEach((a, i) => {
    const key = `${a.app ?? ''}\u0000${a.name.toLowerCase()}`;
    if (seen.has(key)) issues.push({ path: ['agents', i, 'name'], message: `agent "${a.name}" is declared twice (also agents[${seen.get(key)}]); give one an other name` });
    seen.set(key, i);
    const tools: FileAgentTool[] = [];
    a.tools.forEach((t, j) => {
      const url = interpolate(t.url, env);
      if ('missing' in url) issues.push({ path: ['agents', i, 'tools', j, 'url'], message: unsetMessage(url.missing) });
      const headers: Record<string, string> = {};
      for (const [h, v] of Object.entries(t.headers ?? {})) {
        const r = interpolate(v, env);
        if ('missing' in r) issues.push({ path: ['agents', i, 'tools', j, 'headers', h], message: unsetMessage(r.missing) });
        else headers[h] = r.value;
      }
      tools.push({ ...t, url: 'value' in url ? url.value : t.url, ...(t.headers ? { headers } : {}) });
    });
    const { app, ...rest } = a;
    agents.push({ ...rest, ...(app ? { app_id: app } : {}), tools });
  });

  const currencyRates: Record<string, number> = {};
  for (const [code, rate] of Object.entries(raw.currency_rates)) {
    if (code.toUpperCase() === 'USD' && rate !== 1) issues.push({ path: ['currency_rates', code], message: 'USD is 1 by definition' });
    currencyRates[code.toUpperCase()] = rate;
  }

  const r = raw.router;
  const router: FileRouterOptions = {
    ...(r.retry
      ? {
          retry: {
            ...(r.retry.max_retries !== undefined ? { maxRetries: r.retry.max_retries } : {}),
            ...(r.retry.base_delay_ms !== undefined ? { baseDelayMs: r.retry.base_delay_ms } : {}),
            ...(r.retry.max_delay_ms !== undefined ? { maxDelayMs: r.retry.max_delay_ms } : {}),
          },
        }
      : {}),
    ...(r.attempt_timeout_ms !== undefined ? { attemptTimeoutMs: r.attempt_timeout_ms } : {}),
    ...(r.idle_timeout_ms !== undefined ? { idleTimeoutMs: r.idle_timeout_ms } : {}),
    ...(r.deadline_ms !== undefined ? { deadlineMs: r.deadline_ms } : {}),
    ...(r.circuit
      ? {
          circuit: {
            ...(r.circuit.failure_threshold !== undefined ? { failureThreshold: r.circuit.failure_threshold } : {}),
            ...(r.circuit.cooldown_ms !== undefined ? { cooldownMs: r.circuit.cooldown_ms } : {}),
          },
        }
      : {}),
  };

  const outbound = { allowHosts: raw.outbound.allow_hosts, allowHttpHosts: raw.outbound.allow_http_hosts };
  const guardrails = normaliseGuardrails(raw.guardrails, raw.agents, baseDir, issues);
  return { providers, skippedProviders, routes, defaultRoutes: raw.default_routes, router, prices, currencyRates, agents, outbound, guardrails };
}

// ---------------------------------------------------------------- positions

function locator(doc: Document, lines: LineCounter) {
  return (path: ReadonlyArray<string | number>, key?: string): { line: number; column: number } | undefined => {
    // The deepest node that exists along the path; a missing field points at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (!node || !node.range) continue;
      let offset = node.range[0];
      if (key !== undefined && n === path.length && isMap(node)) {
        const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
        const keyNode = pair?.key as Node | undefined;
        if (keyNode?.range) offset = keyNode.range[0];
      }
      const { line, col } = lines.linePos(offset);
      return { line, column: col };
    }
    return undefined;
  };
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (SIMPLE_KEY.test(String(seg))) out += out ? `.${String(seg)}` : String(seg);
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

// ---------------------------------------------------------------- entry points

/** Parses and validates the text of a warbler.yaml; `path` names it in errors. */
export function parseWarblerConfig(text: string, env: Env = process.env, path?: string): WarblerFile {
  const file = path ?? 'warbler.yaml';
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new WarblerConfigError(
      file,
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { path: '', message: `YAML: ${e.message.split('\n')[0]}`, line, column: col };
      }),
    );
  }
  const locate = locator(doc, lines);
  const data: unknown = doc.contents === null ? {} : doc.toJS({ maxAliasCount: 1000 });
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new WarblerConfigError(file, [{ path: '', message: isSeq(doc.contents) ? 'the file must be a mapping (providers:, routes:, ...), not a list' : 'the file must be a mapping (providers:, routes:, ...)' }]);
  }
  const parsed = RawFile.safeParse(data ?? {});
  const toIssue = (path: ReadonlyArray<string | number>, message: string, key?: string): ConfigIssue => {
    const pos = locate(path, key);
    return { path: formatPath(key === undefined ? path : [...path, key]), message, ...(pos ? { line: pos.line, column: pos.column } : {}) };
  };
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((i) => {
      const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => toIssue(path, `unknown field "${k}"${hint(path, k)}`, k));
      return [toIssue(path, i.message)];
    });
    throw new WarblerConfigError(file, issues);
  }
  const issues: Issue[] = [];
  const result = normalise(parsed.data, env, issues, path ? dirname(resolvePath(path)) : process.cwd());
  if (issues.length > 0) throw new WarblerConfigError(file, issues.map((i) => toIssue(i.path, i.message)));
  return { path, ...result, locate: (at) => locate(at) };
}

/**
 * Reads the file at `path`, or at WARBLER_CONFIG when no path is given.
 * Resolves to undefined when neither names a file: the file is optional.
 */
export async function loadWarblerConfig(path?: string, env: Env = process.env): Promise<WarblerFile | undefined> {
  const file = path ?? env.WARBLER_CONFIG;
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new WarblerConfigError(file, [{ path: '', message: `cannot read it (${why}); WARBLER_CONFIG must name a readable warbler.yaml, or be unset` }]);
  }
  return parseWarblerConfig(text, env, file);
}

// Common slips, caught by strict objects; say what was probably meant.
const HINTS: Record<string, string> = {
  apiKey: 'api_key',
  baseURL: 'base_url',
  baseUrl: 'base_url',
  key: 'api_key',
  url: 'base_url',
  fallback: 'fallbacks',
  deployment: 'deployments',
  budget: 'monthly_budget_usd',
  monthly_budget: 'monthly_budget_usd',
  prompt: 'system_prompt',
  systemPrompt: 'system_prompt',
  maxTokens: 'max_tokens',
  knowledge_base_ids: 'knowledge_bases',
  rates: 'currency_rates',
  price: 'prices',
  allowed_hosts: 'allow_hosts',
  allow_list: 'allow_hosts',
  allow_http: 'allow_http_hosts',
};

function hint(path: ReadonlyArray<string | number>, key: string): string {
  const suggestion = HINTS[key];
  if (!suggestion) return '';
  if (key === 'url' && path[0] === 'agents') return '';
  return `; did you mean "${suggestion}"?`;
}
