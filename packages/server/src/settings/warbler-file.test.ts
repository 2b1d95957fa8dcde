import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWarblerConfig, parseWarblerConfig, WarblerConfigError } from './warbler-file.ts';

const ENV = { DEEPSEEK_API_KEY: 'sk-deep', VLLM_TOKEN: 'tok-vllm' };
const dir = mkdtempSync(join(tmpdir(), 'warbler-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(text: string, env: Record<string, string | undefined> = ENV): WarblerConfigError {
  try {
    parseWarblerConfig(text, env);
  } catch (e) {
    if (e instanceof WarblerConfigError) return e;
    throw e;
  }
  throw new Error('expected the file to be refused');
}

const FULL = `
version: 1
providers:
  deepseek:
    preset: deepseek
    api_key: \${DEEPSEEK_API_KEY}
  vllm:
    base_url: http://10.0.0.5:8000/v1/
    api_key: \${VLLM_TOKEN}
    headers:
      x-team: "search-\${VLLM_TOKEN}"
    timeout_ms: 60000
    models:
      - llama-3.1-70b
      - name: small
        upstream_model: llama-3.1-8b-instruct
router:
  retry: { max_retries: 1, base_delay_ms: 100 }
  attempt_timeout_ms: 20000
  circuit: { failure_threshold: 3, cooldown_ms: 10000 }
routes:
  assistant:
    deployments: [deepseek/deepseek-chat, { provider: vllm, model: llama-3.1-70b, id: vllm-big }]
    fallbacks: [small]
  small:
    deployments: [vllm/llama-3.1-8b-instruct]
prices:
  - model: llama-3.1-70b
    currency: USD
    effective_from: 2025-01-01
    per_million: { input: 0.1, output: "0.4", cached_input: 0.05 }
  - model: deepseek-chat
    provider: deepseek
    currency: USD
    effective_from: "2026-01-01"
    per_million: { input: 0.3, output: 0.5 }
currency_rates:
  CNY: 0.138
agents:
  - name: Support Bot
    model: assistant
    system_prompt: |
      You answer questions about \${PRODUCT}. Keep \${placeholders} as they are.
    temperature: 0.3
    max_tokens: 800
    knowledge_bases: [Product docs, kb_123]
    tools:
      - name: lookup_order
        description: Find an order
        url: https://shop.example.com/tools/order
        headers: { authorization: "Bearer \${VLLM_TOKEN}" }
        parameters: { type: object, properties: { id: { type: string } } }
    trigger: all
    monthly_budget_usd: 5
`;

describe('parseWarblerConfig', () => {
  it('reads every section into typed, camelCased settings, resolving ${VAR} only where secrets go', () => {
    const c = parseWarblerConfig(FULL, ENV);
    expect(c.providers).toEqual([
      { name: 'deepseek', preset: 'deepseek', apiKey: 'sk-deep', headers: {}, models: [] },
      {
        name: 'vllm',
        baseURL: 'http://10.0.0.5:8000/v1',
        apiKey: 'tok-vllm',
        headers: { 'x-team': 'search-tok-vllm' },
        timeoutMs: 60_000,
        models: [
          { name: 'llama-3.1-70b', upstreamModel: 'llama-3.1-70b' },
          { name: 'small', upstreamModel: 'llama-3.1-8b-instruct' },
        ],
      },
    ]);
    expect(c.routes).toEqual([
      {
        model: 'assistant',
        deployments: [
          { provider: 'deepseek', model: 'deepseek-chat', id: 'deepseek/deepseek-chat' },
          { provider: 'vllm', model: 'llama-3.1-70b', id: 'vllm-big' },
        ],
        fallbacks: ['small'],
      },
      { model: 'small', deployments: [{ provider: 'vllm', model: 'llama-3.1-8b-instruct', id: 'vllm/llama-3.1-8b-instruct' }], fallbacks: [] },
    ]);
    expect(c.router).toEqual({ retry: { maxRetries: 1, baseDelayMs: 100 }, attemptTimeoutMs: 20_000, circuit: { failureThreshold: 3, cooldownMs: 10_000 } });
    expect(c.prices[0]).toMatchObject({ model: 'llama-3.1-70b', currency: 'USD', effectiveFrom: '2025-01-01', perMillion: { input: 100_000, output: 400_000, cachedInput: 50_000 } });
    expect(c.prices[1]).toMatchObject({ model: 'deepseek-chat', provider: 'deepseek', effectiveFrom: '2026-01-01' });
    expect(c.currencyRates).toEqual({ CNY: 0.138 });
    expect(c.defaultRoutes).toBe(true);
    expect(c.agents).toEqual([
      {
        name: 'Support Bot',
        model: 'assistant',
        // Prompts are not templates: ${...} stays as written.
        system_prompt: 'You answer questions about ${PRODUCT}. Keep ${placeholders} as they are.\n',
        temperature: 0.3,
        max_tokens: 800,
        knowledge_bases: ['Product docs', 'kb_123'],
        tools: [
          {
            name: 'lookup_order',
            description: 'Find an order',
            url: 'https://shop.example.com/tools/order',
            headers: { authorization: 'Bearer tok-vllm' },
            parameters: { type: 'object', properties: { id: { type: 'string' } } },
          },
        ],
        trigger: { group: 'all' },
        monthly_budget_usd: 5,
      },
    ]);
  });

  it('an empty file is a valid file', () => {
    const c = parseWarblerConfig('', {});
    expect(c).toMatchObject({ providers: [], routes: [], prices: [], agents: [], currencyRates: {}, defaultRoutes: true, router: {} });
  });

  it('names the place of an unset variable, with its line', () => {
    const e = failure(FULL, { DEEPSEEK_API_KEY: 'x' });
    expect(e.issues).toContainEqual(expect.objectContaining({ path: 'providers.vllm.api_key', message: 'environment variable VLLM_TOKEN is not set', line: 9 }));
    expect(e.issues).toContainEqual(expect.objectContaining({ path: 'providers.vllm.headers.x-team', line: 11 }));
    expect(e.issues).toContainEqual(expect.objectContaining({ path: 'agents[0].tools[0].headers.authorization' }));
    expect(e.message).toMatch(/^warbler\.yaml is not valid:\n {2}providers\.vllm\.api_key \(line 9\): environment variable VLLM_TOKEN is not set/);
  });

  it('refuses a key written in the file unless the operator insists', () => {
    const text = 'providers:\n  openai:\n    preset: openai\n    api_key: sk-live-123\n';
    const e = failure(text, {});
    expect(e.issues).toEqual([expect.objectContaining({ path: 'providers.openai.api_key', line: 4 })]);
    expect(e.issues[0]!.message).toMatch(/environment variable.*\$\{DEEPSEEK_API_KEY\}.*allow_literal_api_key/);
    expect(parseWarblerConfig(`${text}    allow_literal_api_key: true\n`, {}).providers[0]!.apiKey).toBe('sk-live-123');
  });

  it('a preset needs its key from somewhere', () => {
    expect(failure('providers:\n  ds:\n    preset: deepseek\n', {}).issues[0]!.message).toMatch(/set DEEPSEEK_API_KEY/);
    expect(parseWarblerConfig('providers:\n  ds:\n    preset: deepseek\n', { DEEPSEEK_API_KEY: 'k' }).providers[0]).toMatchObject({ name: 'ds', preset: 'deepseek' });
    // Keyless presets and servers need nothing.
    expect(parseWarblerConfig('providers:\n  ol:\n    preset: ollama\n    models: [llama3.2]\n', {}).providers).toHaveLength(1);
  });

  it('leaves out an optional provider whose variables are unset, and the routes that only it served', () => {
    const c = parseWarblerConfig(
      'providers:\n  ark:\n    preset: doubao\n    optional: true\n    api_key: ${ARK_KEY}\nroutes:\n  fast:\n    deployments: [ark/doubao-seed-1-6-250615]\n',
      {},
    );
    expect(c.providers).toEqual([]);
    expect(c.skippedProviders).toEqual([{ name: 'ark', reason: 'environment variable ARK_KEY is not set' }]);
    expect(c.routes).toEqual([]);
  });

  it('unknown fields are errors, with a hint for common slips', () => {
    const e = failure('providers:\n  x:\n    baseURL: http://a\n    apiKey: ${K}\nagents:\n  - name: A\n    budget: 3\n', { K: 'k' });
    expect(e.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'providers.x.baseURL', message: 'unknown field "baseURL"; did you mean "base_url"?', line: 3 }),
        expect.objectContaining({ path: 'providers.x.apiKey', message: 'unknown field "apiKey"; did you mean "api_key"?', line: 4 }),
        expect.objectContaining({ path: 'agents[0].budget', message: 'unknown field "budget"; did you mean "monthly_budget_usd"?', line: 7 }),
      ]),
    );
  });

  it('checks what routes refer to', () => {
    const e = failure('routes:\n  a:\n    deployments: [nowhere/m]\n  b:\n    deployments: [deepseek]\n', {});
    expect(e.issues).toEqual([
      expect.objectContaining({ path: 'routes.a.deployments[0]', message: expect.stringMatching(/no provider named "nowhere"/), line: 3 }),
      expect.objectContaining({ path: 'routes.b.deployments[0]', message: 'the deepseek preset is not enabled: set DEEPSEEK_API_KEY, or declare it under providers' }),
    ]);
    // A preset the environment enables needs no declaration; "local" is the built-in models.
    expect(parseWarblerConfig('routes:\n  a:\n    deployments: [deepseek/deepseek-chat, local/kb-answer]\n', { DEEPSEEK_API_KEY: 'k' }).routes[0]!.deployments).toHaveLength(2);
  });

  it('quotes keys that are not plain words in paths', () => {
    const e = failure('routes:\n  doubao-1.5-pro:\n    deployments: []\n', {});
    expect(e.issues[0]).toMatchObject({ path: 'routes["doubao-1.5-pro"].deployments', message: 'a route needs at least one deployment', line: 3 });
  });

  it('validates prices: decimals, dates, currencies', () => {
    const e = failure(
      'prices:\n  - model: m\n    currency: EUR\n    effective_from: 2025-13-45\n    per_million: { input: -1, output: 0.0000001 }\n',
      {},
    );
    const paths = e.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['prices[0].currency', 'prices[0].effective_from', 'prices[0].per_million.input', 'prices[0].per_million.output']));
    expect(e.issues.find((i) => i.path === 'prices[0].per_million.input')!.message).toMatch(/decimal amount per 1M tokens/);
  });

  it('takes per-unit prices for audio and rerank models, and wants some price', () => {
    const c = parseWarblerConfig('prices:\n  - model: whisper-large\n    currency: USD\n    effective_from: 2026-01-01\n    per_unit: { unit: second, per_million: 90 }\n', {});
    expect(c.prices[0]).toMatchObject({ model: 'whisper-large', perMillion: { input: 0, output: 0 }, perUnit: { unit: 'second', perMillion: 90_000_000 } });
    const e = failure('prices:\n  - model: m\n    currency: USD\n    effective_from: 2026-01-01\n', {});
    expect(e.issues[0]).toMatchObject({ path: 'prices[0].per_million', message: expect.stringMatching(/per_unit/) });
    expect(failure('prices:\n  - model: m\n    currency: USD\n    effective_from: 2026-01-01\n    per_unit: { unit: minute, per_million: 1 }\n', {}).issues[0]!.path).toBe('prices[0].per_unit.unit');
  });

  it('validates agents: ranges, duplicates, trigger forms', () => {
    const e = failure('agents:\n  - name: A\n    temperature: 3\n  - name: a\n    trigger: sometimes\n', {});
    expect(e.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['agents[0].temperature', 'agents[1].trigger']));
    const dup = failure('agents:\n  - name: Helper\n  - name: helper\n', {});
    expect(dup.issues).toEqual([expect.objectContaining({ path: 'agents[1].name', line: 3 })]);
    const ok = parseWarblerConfig('agents:\n  - name: A\n    trigger: { group: mention }\n    app: app_1\n', {});
    expect(ok.agents[0]).toMatchObject({ trigger: { group: 'mention' }, app_id: 'app_1', knowledge_bases: [], tools: [] });
  });

  it('reports YAML syntax errors with their line', () => {
    const e = failure('providers:\n  x: [unclosed\n', {});
    expect(e.issues[0]!.message).toMatch(/^YAML: /);
    expect(e.issues[0]!.line).toBeGreaterThan(0);
    expect(failure('providers: {}\nproviders: {}\n', {}).issues[0]!.message).toMatch(/YAML: .*unique/i);
    expect(failure('- a\n- b\n', {}).issues[0]!.message).toMatch(/mapping.*not a list/);
  });

  it('locate() finds a path for errors found later (buildRouter)', () => {
    const c = parseWarblerConfig(FULL, ENV);
    expect(c.locate(['routes', 'assistant', 'fallbacks', 0])).toEqual({ line: 24, column: 17 });
  });
});

describe('loadWarblerConfig', () => {
  it('reads the path given, else WARBLER_CONFIG, else there is no file', async () => {
    const file = join(dir, 'warbler.yaml');
    writeFileSync(file, 'currency_rates: { CNY: 0.14 }\n');
    expect((await loadWarblerConfig(file, {}))!.currencyRates).toEqual({ CNY: 0.14 });
    expect((await loadWarblerConfig(undefined, { WARBLER_CONFIG: file }))!.path).toBe(file);
    expect(await loadWarblerConfig(undefined, {})).toBeUndefined();
  });

  it('names the file in every error, and says what to do when it is missing', async () => {
    const missing = join(dir, 'nope.yaml');
    await expect(loadWarblerConfig(missing, {})).rejects.toThrow(`${missing} is not valid:\n  (top level): cannot read it (there is no such file)`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'currency_rates: { CNY: -1 }\n');
    await expect(loadWarblerConfig(bad, {})).rejects.toThrow(`${bad} is not valid:\n  currency_rates.CNY (line 1): a rate is USD per unit, above 0`);
  });

  it('reads the outbound allow-lists, and names a bad host entry with its line', () => {
    const c = parseWarblerConfig('outbound:\n  allow_hosts: ["tools.internal:8443", "10.20.0.0/16"]\n  allow_http_hosts: [tools.internal]\n', ENV);
    expect(c.outbound).toEqual({ allowHosts: ['tools.internal:8443', '10.20.0.0/16'], allowHttpHosts: ['tools.internal'] });
    expect(parseWarblerConfig('version: 1\n', ENV).outbound).toEqual({ allowHosts: [], allowHttpHosts: [] });
    const e = failure('outbound:\n  allow_hosts:\n    - https://tools.internal/x\n', ENV);
    expect(e.issues[0]).toMatchObject({ path: 'outbound.allow_hosts[0]', line: 3 });
    expect(e.issues[0]!.message).toMatch(/is not a host: write a name/);
    expect(failure('outbound:\n  allowed_hosts: [a]\n', ENV).issues[0]!.message).toMatch(/did you mean "allow_hosts"/);
  });

  it('the sample warbler.example.yaml at the repository root is valid', async () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
    const c = await loadWarblerConfig(join(root, 'warbler.example.yaml'), {
      OPENAI_API_KEY: 'sk-openai',
      DEEPSEEK_API_KEY: 'sk-deepseek',
      DASHSCOPE_API_KEY: 'sk-dashscope',
      ARK_API_KEY: 'ark-key',
      ORDERS_TOOL_TOKEN: 'tok',
    });
    expect(c!.providers.length).toBeGreaterThan(0);
    expect(c!.agents.length).toBeGreaterThan(0);
  });
});
