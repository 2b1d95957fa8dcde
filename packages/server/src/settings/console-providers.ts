// Providers an operator adds in the console, at run time: kind, base URL,
// key, models and prices. The key is sealed with the SecretBox before it is
// stored and never leaves again except as its last four characters. Each
// change is applied to this node's router at once and, through the broker's
// providers_changed signal, to every other node (as agents are).
// Providers from warbler.yaml and the environment keep working and are shown
// beside these, read-only.
import type { ProviderInput, ProviderModel, ProviderPatch, ProviderTestResult, ProviderView } from '@warbler/protocol';
import type { Kysely } from 'kysely';
import { WarblerError } from '../errors.ts';
import {
  customProvider, definePrice, maskSecret, providerFromPreset, PRESETS,
  type LlmProvider, type ModelPrice, type PresetName, type Route, type Router, type SecretBox,
} from '../llm/index.ts';
import type { Outbound, OutboundPolicy } from '../outbound/index.ts';
import type { WarblerFile } from './warbler-file.ts';

interface ProviderRow {
  id: string;
  kind: string;
  base_url: string | null;
  sealed_key: string | null;
  key_hint: string | null;
  models: string;
  created_at: number;
  updated_at: number;
}

interface Tables {
  console_providers: ProviderRow;
}

export interface ConsoleProvidersOptions {
  db: Kysely<any>;
  box: SecretBox;
  router: Router;
  policy: OutboundPolicy;
  outbound: Outbound;
  /** Read-only providers: warbler.yaml's and the environment's. */
  configured: ProviderView[];
  /** Prices of console providers' models changed: give the ledger the new table. */
  onPrices: (prices: ModelPrice[]) => void;
  /** Tell the other nodes to reload. */
  onChange: () => void;
  /** The router's models changed on this node (the gateway refreshes its list). */
  onRoutes?: () => void;
}

const MAX_PROVIDERS = 50;

export class ConsoleProviders {
  private readonly db: Kysely<Tables>;

  constructor(private readonly options: ConsoleProvidersOptions) {
    this.db = options.db as Kysely<Tables>;
  }

  /** Reads every console provider and routes their models (at start, and when another node changed one). */
  async load(): Promise<void> {
    const rows = await this.rows();
    const routes: Route[] = [];
    const prices: ModelPrice[] = [];
    for (const row of rows) {
      const provider = this.providerOf(row);
      for (const m of parseModels(row.models)) {
        const upstream = m.upstream ?? m.name;
        routes.push({ model: m.name, deployments: [{ id: `console:${row.id}/${upstream}`, provider, model: upstream }] });
        if (m.input_per_million !== undefined && m.output_per_million !== undefined) {
          prices.push(definePrice({
            // This provider's price for the model, from the day it was entered: it wins over seed prices of the same model.
            model: upstream, ...(upstream !== m.name ? { aliases: [m.name] } : {}), provider: row.id, currency: m.currency as ModelPrice['currency'],
            effectiveFrom: new Date(Number(row.updated_at)).toISOString().slice(0, 10),
            perMillion: { input: String(m.input_per_million), output: String(m.output_per_million), ...(m.cached_input_per_million !== undefined ? { cachedInput: String(m.cached_input_per_million) } : {}) },
            note: `entered in the console for provider ${row.id}`,
          }));
        }
      }
    }
    const unused = this.options.router.replaceRuntimeRoutes(routes);
    this.options.onPrices(prices);
    this.options.onRoutes?.();
    // Calls in flight finish on the old adapter; close it once they have had time to.
    if (unused.length) setTimeout(() => void Promise.all(unused.map((p) => p.close?.())).catch(() => {}), 60_000).unref();
  }

  async list(): Promise<ProviderView[]> {
    const own = (await this.rows()).map(view);
    return [...own, ...this.options.configured];
  }

  async get(id: string): Promise<ProviderView> {
    return view(await this.row(id));
  }

  async create(input: ProviderInput): Promise<ProviderView> {
    if (this.options.configured.some((p) => p.id === input.id)) {
      throw new WarblerError('conflict', `A provider named "${input.id}" comes from warbler.yaml or the environment; choose another name, or change it there.`);
    }
    if ((await this.rows()).length >= MAX_PROVIDERS) throw new WarblerError('bad_request', `At most ${MAX_PROVIDERS} providers can be added in the console; remove one first.`);
    if (await this.find(input.id)) throw new WarblerError('conflict', `A provider named "${input.id}" already exists; edit it, or choose another name.`);
    this.checkShape(input.kind, input.base_url, input.models);
    const now = Date.now();
    const row: ProviderRow = {
      id: input.id, kind: input.kind, base_url: input.base_url ?? null,
      sealed_key: input.api_key ? this.options.box.seal(input.api_key, sealContext(input.id)) : null,
      key_hint: input.api_key ? maskSecret(input.api_key) : null,
      models: JSON.stringify(input.models), created_at: now, updated_at: now,
    };
    await this.db.insertInto('console_providers').values(row).execute();
    await this.changed();
    return view(row);
  }

  async update(id: string, patch: ProviderPatch): Promise<ProviderView> {
    const row = await this.row(id);
    const kind = patch.kind ?? row.kind;
    const baseUrl = patch.base_url ?? row.base_url ?? undefined;
    const models = patch.models ?? parseModels(row.models);
    this.checkShape(kind, baseUrl, models);
    const next: ProviderRow = {
      ...row, kind, base_url: baseUrl ?? null, models: JSON.stringify(models), updated_at: Date.now(),
      ...(patch.api_key ? { sealed_key: this.options.box.seal(patch.api_key, sealContext(id)), key_hint: maskSecret(patch.api_key) } : {}),
    };
    await this.db.updateTable('console_providers').set(next).where('id', '=', id).execute();
    await this.changed();
    return view(next);
  }

  async remove(id: string): Promise<void> {
    await this.row(id);
    await this.db.deleteFrom('console_providers').where('id', '=', id).execute();
    await this.changed();
  }

  /** One cheap call (a one-token completion) through the outbound policy: does this URL and key answer? */
  async test(id: string, model?: string): Promise<ProviderTestResult> {
    const row = await this.row(id);
    const models = parseModels(row.models);
    const chosen = models.find((m) => m.name === model) ?? models[0]!;
    const upstream = chosen.upstream ?? chosen.name;
    const base = baseUrlOf(row.kind, row.base_url).replace(/\/$/, '');
    const key = row.sealed_key ? this.options.box.open(row.sealed_key, sealContext(row.id)) : undefined;
    const started = Date.now();
    try {
      const answer = await this.options.outbound.send(`${base}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ model: upstream, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: false }),
        signal: AbortSignal.timeout(15_000), maxBytes: 64 * 1024,
      });
      const ok = answer.status >= 200 && answer.status < 300;
      return { ok, model: chosen.name, latency_ms: Date.now() - started, message: ok ? `${chosen.name} answered.` : `The provider answered ${answer.status}: ${upstreamMessage(answer.text)}` };
    } catch (err) {
      return { ok: false, model: chosen.name, latency_ms: Date.now() - started, message: err instanceof Error ? err.message : String(err) };
    }
  }

  private async changed(): Promise<void> {
    await this.load();
    this.options.onChange();
  }

  private checkShape(kind: string, baseUrl: string | undefined, models: readonly ProviderModel[]): void {
    if (kind === 'openai-compatible' && !baseUrl) throw new WarblerError('bad_request', 'An OpenAI-compatible provider needs its base URL (e.g. https://llm.example.com/v1).');
    const url = new URL(baseUrlOf(kind, baseUrl ?? null));
    const refusal = this.options.policy.refusalBeforeSaving(url);
    if (refusal) {
      throw new WarblerError('bad_request', `${refusal}. Providers are called like agent tools: public https only, unless warbler.yaml allows the host under outbound.allow_hosts / allow_http_hosts.`);
    }
    const names = new Set<string>();
    for (const m of models) {
      if (names.has(m.name)) throw new WarblerError('bad_request', `Model "${m.name}" is listed twice; list each once.`);
      names.add(m.name);
      if (m.name.startsWith('local/')) throw new WarblerError('bad_request', 'Model names starting with local/ are the built-in models; choose another name.');
    }
  }

  private providerOf(row: ProviderRow): LlmProvider {
    const apiKey = row.sealed_key ? this.options.box.open(row.sealed_key, sealContext(row.id)) : undefined;
    const common = { name: row.id, ...(apiKey ? { apiKey } : {}) };
    if (row.kind === 'openai-compatible') return customProvider({ ...common, baseURL: row.base_url! });
    // No environment: a console provider says everything itself.
    return providerFromPreset(row.kind as PresetName, { ...common, ...(row.base_url ? { baseURL: row.base_url } : {}) }, {});
  }

  private rows(): Promise<ProviderRow[]> {
    return this.db.selectFrom('console_providers').selectAll().orderBy('id').execute();
  }

  private find(id: string): Promise<ProviderRow | undefined> {
    return this.db.selectFrom('console_providers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  private async row(id: string): Promise<ProviderRow> {
    const row = await this.find(id);
    if (!row) {
      if (this.options.configured.some((p) => p.id === id)) throw new WarblerError('forbidden', `Provider "${id}" comes from warbler.yaml or the environment: change it there.`);
      throw new WarblerError('not_found', `There is no provider "${id}" added in the console.`);
    }
    return row;
  }
}

/** The read-only providers: warbler.yaml's, then each preset the environment turns on. */
export function configuredProviders(file: WarblerFile | undefined, env: Record<string, string | undefined>): ProviderView[] {
  const out: ProviderView[] = [];
  for (const p of file?.providers ?? []) {
    out.push({
      id: p.name, kind: p.preset ?? 'openai-compatible', base_url: p.baseURL ?? (p.preset ? PRESETS[p.preset].baseURL : null),
      api_key: p.apiKey ? maskSecret(p.apiKey) : null, models: p.models.map((m) => ({ name: m.name, upstream: m.upstreamModel, currency: 'USD' })),
      source: 'file', updated_at: null,
    });
  }
  for (const name of Object.keys(PRESETS) as PresetName[]) {
    const preset = PRESETS[name];
    const on = preset.apiKeyEnv ? Boolean(env[preset.apiKeyEnv]) : Boolean(preset.baseURLEnv && env[preset.baseURLEnv]);
    if (!on || out.some((p) => p.id === name)) continue;
    const key = preset.apiKeyEnv ? env[preset.apiKeyEnv] : undefined;
    out.push({ id: name, kind: name, base_url: (preset.baseURLEnv && env[preset.baseURLEnv]) || preset.baseURL, api_key: key ? maskSecret(key) : null, models: [], source: 'env', updated_at: null });
  }
  return out;
}

// The sealed key is bound to its provider: copied to another row, it does not open.
const sealContext = (id: string) => `console-provider/${id}`;

function baseUrlOf(kind: string, baseUrl: string | null): string {
  return baseUrl ?? PRESETS[kind as PresetName]?.baseURL ?? 'https://invalid.example';
}

function view(row: ProviderRow): ProviderView {
  return { id: row.id, kind: row.kind, base_url: row.base_url, api_key: row.key_hint, models: parseModels(row.models), source: 'console', updated_at: Number(row.updated_at) };
}

function parseModels(text: string): ProviderModel[] {
  return JSON.parse(text) as ProviderModel[];
}

function upstreamMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message.slice(0, 300);
  } catch {
    // Not JSON: the start of the text says enough.
  }
  return text.slice(0, 300);
}
