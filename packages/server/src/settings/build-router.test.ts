import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectChat, seedPriceTable, type AttemptReport, type ChatStreamPart, type LlmProvider, type Usage } from '../llm/index.ts';
import { buildRouter, currencyRatesFrom, DEFAULT_MODELS, openAiPassThrough, planRoutes, priceTableFrom } from './build-router.ts';
import { parseWarblerConfig, WarblerConfigError } from './warbler-file.ts';

let fx: UpstreamFixture;
beforeAll(async () => {
  fx = await startUpstreamFixture({ apiKey: 'sk-fixture' });
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

const usage: Usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2, cachedTokens: 0, reasoningTokens: 0, estimated: true };
/** Stands in for the built-in local/kb-answer model. */
const kbAnswer: LlmProvider = {
  name: 'local',
  async *chat(): AsyncGenerator<ChatStreamPart> {
    yield { type: 'text-delta', text: 'From the docs: …' };
    yield { type: 'finish', finishReason: 'stop', usage };
  },
  complete: () => Promise.reject(new Error('unused')),
  embed: () => Promise.reject(new Error('unused')),
};
const local = { 'local/kb-answer': kbAnswer };

const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hi' }] });
const routeMap = (plan: ReturnType<typeof planRoutes>) =>
  Object.fromEntries(plan.routes.map((r) => [r.model, { deployments: r.deployments.map((d) => `${d.id} → ${d.model}`), ...(r.fallbacks ? { fallbacks: r.fallbacks } : {}) }]));

describe('default routes (no file)', () => {
  it('serves local/kb-answer with no key at all', async () => {
    const router = buildRouter(undefined, {}, { localProviders: local });
    expect(router.models()).toEqual(['local/kb-answer']);
    expect((await collectChat(router.chat(ask('local/kb-answer')))).text).toBe('From the docs: …');
  });

  it('each preset key turns on its models', () => {
    const plan = planRoutes(undefined, { OPENAI_API_KEY: 'a', DEEPSEEK_API_KEY: 'b', DASHSCOPE_API_KEY: 'c', ARK_API_KEY: 'd' }, { localProviders: local });
    expect(routeMap(plan)).toEqual({
      'gpt-4o-mini': { deployments: ['openai/gpt-4o-mini → gpt-4o-mini'] },
      'gpt-4o': { deployments: ['openai/gpt-4o → gpt-4o'] },
      'text-embedding-3-small': { deployments: ['openai/text-embedding-3-small → text-embedding-3-small'] },
      'text-embedding-3-large': { deployments: ['openai/text-embedding-3-large → text-embedding-3-large'] },
      'whisper-1': { deployments: ['openai/whisper-1 → whisper-1'] },
      'gpt-4o-transcribe': { deployments: ['openai/gpt-4o-transcribe → gpt-4o-transcribe'] },
      'gpt-4o-mini-transcribe': { deployments: ['openai/gpt-4o-mini-transcribe → gpt-4o-mini-transcribe'] },
      'tts-1': { deployments: ['openai/tts-1 → tts-1'] },
      'tts-1-hd': { deployments: ['openai/tts-1-hd → tts-1-hd'] },
      'gpt-4o-mini-tts': { deployments: ['openai/gpt-4o-mini-tts → gpt-4o-mini-tts'] },
      'deepseek-chat': { deployments: ['deepseek/deepseek-chat → deepseek-chat'] },
      'deepseek-reasoner': { deployments: ['deepseek/deepseek-reasoner → deepseek-reasoner'] },
      'qwen-plus': { deployments: ['qwen/qwen-plus → qwen-plus'] },
      'qwen-turbo': { deployments: ['qwen/qwen-turbo → qwen-turbo'] },
      'text-embedding-v3': { deployments: ['qwen/text-embedding-v3 → text-embedding-v3'] },
      'text-embedding-v4': { deployments: ['qwen/text-embedding-v4 → text-embedding-v4'] },
      'doubao-seed-1-6': { deployments: ['doubao/doubao-seed-1-6-250615 → doubao-seed-1-6-250615'] },
      'doubao-1-5-pro-32k': { deployments: ['doubao/doubao-1-5-pro-32k-250115 → doubao-1-5-pro-32k-250115'] },
      'doubao-embedding': { deployments: ['doubao/doubao-embedding-text-240715 → doubao-embedding-text-240715'] },
      'doubao-embedding-large': { deployments: ['doubao/doubao-embedding-large-text-240915 → doubao-embedding-large-text-240915'] },
      // DASHSCOPE_API_KEY also turns on DashScope's native rerank.
      'gte-rerank-v2': { deployments: ['dashscope-rerank/gte-rerank-v2 → gte-rerank-v2'] },
      'local/kb-answer': { deployments: ['local/kb-answer → local/kb-answer'] },
    });
  });

  it('rerank keys turn on their rerank models, each at its own base URL unless overridden', () => {
    const plan = planRoutes(undefined, { JINA_API_KEY: 'j', COHERE_API_KEY: 'c', SILICONFLOW_API_KEY: 's', COHERE_BASE_URL: 'http://127.0.0.1:9/v2' }, { localProviders: local });
    expect(routeMap(plan)).toMatchObject({
      'jina-reranker-v2-base-multilingual': { deployments: ['jina/jina-reranker-v2-base-multilingual → jina-reranker-v2-base-multilingual'] },
      'rerank-v3.5': { deployments: ['cohere/rerank-v3.5 → rerank-v3.5'] },
      'BAAI/bge-reranker-v2-m3': { deployments: ['siliconflow/BAAI/bge-reranker-v2-m3 → BAAI/bge-reranker-v2-m3'] },
    });
    expect(plan.routes.find((r) => r.model === 'gpt-4o-mini')).toBeUndefined();
  });

  it('OPENAI_API_KEY and OPENAI_BASE_URL make gpt-4o-mini a real call upstream', async () => {
    const reports: AttemptReport[] = [];
    const router = buildRouter(undefined, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: fx.url }, { localProviders: local, onAttempt: (r) => reports.push(r) });
    fx.script({ model: 'gpt-4o-mini', text: 'hello from upstream', usage: { prompt_tokens: 9, completion_tokens: 3 } });
    const done = await collectChat(router.chat(ask('gpt-4o-mini'), { context: { app_id: 'a', source: 'agent' } }));
    expect(done.text).toBe('hello from upstream');
    expect(fx.requests[0]!.headers.authorization).toBe('Bearer sk-fixture');
    expect(reports[0]).toMatchObject({ deployment: 'openai/gpt-4o-mini', provider: 'openai', usage: { promptTokens: 9 }, context: { app_id: 'a' } });
  });
});

describe('routes from warbler.yaml', () => {
  const FILE = `
providers:
  fixture:
    base_url: \${FIXTURE_URL}
    api_key: \${FIXTURE_KEY}
    models:
      - name: house-model
        upstream_model: gpt-4o
router:
  retry: { max_retries: 0 }
routes:
  assistant:
    deployments: [fixture/gpt-4o-mini]
    fallbacks: [house-model, local/kb-answer]
  kb:
    deployments: [local/kb-answer]
`;
  const env = () => ({ FIXTURE_URL: fx.url, FIXTURE_KEY: 'sk-fixture' });

  it('builds the file providers, their models and its routes, with the router settings', async () => {
    const file = parseWarblerConfig(FILE, env());
    const plan = planRoutes(file, env(), { localProviders: local });
    expect(routeMap(plan)).toEqual({
      'house-model': { deployments: ['fixture/gpt-4o → gpt-4o'] },
      'local/kb-answer': { deployments: ['local/kb-answer → local/kb-answer'] },
      assistant: { deployments: ['fixture/gpt-4o-mini → gpt-4o-mini'], fallbacks: ['house-model', 'local/kb-answer'] },
      kb: { deployments: ['local/kb-answer → local/kb-answer'] },
    });
    expect(plan.options).toEqual({ retry: { maxRetries: 0 } });

    // max_retries 0: one failure on gpt-4o-mini, then straight to the fallback's upstream model.
    const router = buildRouter(file, env(), { localProviders: local });
    fx.script({ model: 'gpt-4o-mini', fault: 'status', status: 500 }, { model: 'gpt-4o', text: 'fallback answered' });
    const parts: ChatStreamPart[] = [];
    for await (const p of router.chat(ask('assistant'))) parts.push(p);
    expect(parts[0]).toMatchObject({ type: 'start', model: 'house-model', deployment: 'fixture/gpt-4o', upstreamModel: 'gpt-4o' });
    expect(fx.requests.map((r) => r.body.model)).toEqual(['gpt-4o-mini', 'gpt-4o']);
  });

  it('the file replaces the defaults it names, keeps the others, and can turn them off', () => {
    const envKeys = { OPENAI_API_KEY: 'k', DEEPSEEK_API_KEY: 'k' };
    const file = parseWarblerConfig('routes:\n  gpt-4o-mini:\n    deployments: [deepseek/deepseek-chat]\n', envKeys);
    const plan = routeMap(planRoutes(file, envKeys));
    expect(plan['gpt-4o-mini']).toEqual({ deployments: ['deepseek/deepseek-chat → deepseek-chat'] });
    expect(plan['gpt-4o']).toEqual({ deployments: ['openai/gpt-4o → gpt-4o'] });
    const off = parseWarblerConfig('default_routes: false\nroutes:\n  m:\n    deployments: [openai/gpt-4o-mini]\n', envKeys);
    expect(Object.keys(routeMap(planRoutes(off, envKeys, { localProviders: local })))).toEqual(['local/kb-answer', 'm']);
  });

  it('a provider in the file named like a preset replaces the one the environment made', async () => {
    const file = parseWarblerConfig('providers:\n  openai:\n    preset: openai\n    base_url: ${FIXTURE_URL}\n', { FIXTURE_URL: fx.url, OPENAI_API_KEY: 'sk-fixture' });
    const router = buildRouter(file, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
    fx.script({ model: 'gpt-4o', text: 'via the file' });
    expect((await collectChat(router.chat(ask('gpt-4o')))).text).toBe('via the file');
  });

  it('two providers of one preset serve its default models side by side', () => {
    const file = parseWarblerConfig('providers:\n  openai-eu:\n    preset: openai\n    base_url: https://eu.example.com/v1\n', { OPENAI_API_KEY: 'k' });
    expect(routeMap(planRoutes(file, { OPENAI_API_KEY: 'k' }))['gpt-4o-mini']).toEqual({ deployments: ['openai/gpt-4o-mini → gpt-4o-mini', 'openai-eu/gpt-4o-mini → gpt-4o-mini'] });
  });

  it('a fallback to nothing is an error with its line; a built-in model that is not there too', () => {
    const file = parseWarblerConfig('routes:\n  a:\n    deployments: [local/kb-answer]\n    fallbacks: [b]\n  c:\n    deployments: [local/other]\n', {});
    let err: unknown;
    try {
      planRoutes(file, {}, { localProviders: local });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WarblerConfigError);
    expect((err as WarblerConfigError).issues).toEqual([
      expect.objectContaining({ path: 'routes.c.deployments[0]', message: 'there is no built-in model "local/other"; built in: local/kb-answer', line: 6 }),
      expect.objectContaining({ path: 'routes.a.fallbacks[0]', message: expect.stringMatching(/^no route for "b"/), line: 4 }),
    ]);
  });

  it('with optional providers left out, routes fall back to what remains, and say so', () => {
    const text = `
providers:
  openai:
    preset: openai
    optional: true
  deepseek:
    preset: deepseek
    optional: true
routes:
  assistant:
    deployments: [openai/gpt-4o-mini]
    fallbacks: [deepseek-chat, local/kb-answer]
  lonely:
    deployments: [openai/gpt-4o]
    fallbacks: [deepseek-chat]
`;
    const file = parseWarblerConfig(text, {});
    expect(file.skippedProviders.map((s) => s.name)).toEqual(['openai', 'deepseek']);
    const warnings: string[] = [];
    const plan = planRoutes(file, {}, { localProviders: local, onWarning: (w) => warnings.push(w) });
    expect(routeMap(plan)).toEqual({ 'local/kb-answer': { deployments: ['local/kb-answer → local/kb-answer'] }, assistant: { deployments: [], fallbacks: ['local/kb-answer'] } });
    expect(warnings).toEqual([
      expect.stringContaining('routes.assistant: fallback "deepseek-chat" has no route'),
      expect.stringContaining('routes.lonely: fallback "deepseek-chat" has no route'),
      'model "lonely" is not served: every provider it would run on was left out',
    ]);
  });

  it('the example file builds with every key set, and with none', () => {
    const example = new URL('../../../../warbler.example.yaml', import.meta.url);
    const all = { OPENAI_API_KEY: 'a', DEEPSEEK_API_KEY: 'b', DASHSCOPE_API_KEY: 'c', ARK_API_KEY: 'd', ORDERS_TOOL_TOKEN: 'e' };
    return import('node:fs/promises').then(async ({ readFile }) => {
      const text = await readFile(example, 'utf8');
      const full = planRoutes(parseWarblerConfig(text, all), all, { localProviders: local });
      expect(routeMap(full).assistant).toEqual({ deployments: ['openai/gpt-4o-mini → gpt-4o-mini'], fallbacks: ['deepseek-chat', 'local/kb-answer'] });
      expect(routeMap(full)['doubao-seed-1-6']).toEqual({ deployments: ['doubao/doubao-seed-1-6-250615 → doubao-seed-1-6-250615'] });
      const bare = planRoutes(parseWarblerConfig(text, { ORDERS_TOOL_TOKEN: 'e' }), { ORDERS_TOOL_TOKEN: 'e' }, { localProviders: local });
      expect(routeMap(bare).assistant).toEqual({ deployments: [], fallbacks: ['local/kb-answer'] });
    });
  });
});

describe('prices and rates from the file', () => {
  it('file prices win from their date; local models are free; seeds stay', () => {
    const file = parseWarblerConfig(
      'prices:\n  - model: gpt-4o-mini\n    currency: USD\n    effective_from: 2030-01-01\n    per_million: { input: 1, output: 2 }\n  - model: house\n    currency: CNY\n    effective_from: 2020-01-01\n    per_million: { input: 1, output: 2 }\n',
      {},
    );
    const table = priceTableFrom(file, { localModels: ['local/kb-answer'] });
    expect(table.lookup('gpt-4o-mini', { at: new Date('2029-12-31') })!.perMillion.input).toBe(150_000);
    expect(table.lookup('gpt-4o-mini', { at: new Date('2030-01-02') })!.perMillion.input).toBe(1_000_000);
    expect(table.lookup('house')).toMatchObject({ currency: 'CNY' });
    expect(table.lookup('local/kb-answer')).toMatchObject({ perMillion: { input: 0, output: 0 } });
  });

  it('currency rates: built-in CNY unless the file sets one', () => {
    expect(currencyRatesFrom(undefined).toJSON()).toEqual({ USD: 1, CNY: 0.14 });
    expect(currencyRatesFrom(parseWarblerConfig('currency_rates: { CNY: 0.139, HKD: 0.128 }', {})).toJSON()).toEqual({ USD: 1, CNY: 0.139, HKD: 0.128 });
  });
});

describe('embedding models by default', () => {
  it('every model a preset serves by default has a seed price, embeddings included', () => {
    const prices = seedPriceTable();
    for (const [preset, models] of Object.entries(DEFAULT_MODELS)) {
      for (const m of models ?? []) expect(prices.lookup(m.upstreamModel, { provider: preset }), `${preset}/${m.upstreamModel}`).toBeDefined();
    }
    expect(prices.lookup('doubao-embedding-large-text-240915')?.perMillion).toMatchObject({ input: 700_000, output: 0 });
    expect(prices.lookup('text-embedding-v4')?.currency).toBe('CNY');
    expect(prices.lookup('nomic-embed-text', { provider: 'ollama' })?.perMillion.input).toBe(0);
  });

  it('OLLAMA_BASE_URL serves nomic-embed-text; OpenAI embeddings come with OPENAI_API_KEY', () => {
    const plan = planRoutes(undefined, { OLLAMA_BASE_URL: 'http://127.0.0.1:11434', OPENAI_API_KEY: 'k' }, { localProviders: local });
    const routes = routeMap(plan);
    expect(routes['nomic-embed-text']).toEqual({ deployments: ['ollama/nomic-embed-text → nomic-embed-text'] });
    expect(routes['text-embedding-3-large']).toEqual({ deployments: ['openai/text-embedding-3-large → text-embedding-3-large'] });
  });

  it('moderation passes through to OpenAI only when an OpenAI key is configured', () => {
    expect(openAiPassThrough(undefined, {})).toBeUndefined();
    expect(openAiPassThrough(undefined, { OPENAI_API_KEY: 'sk-1', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' })).toMatchObject({ apiKey: 'sk-1', baseURL: 'http://127.0.0.1:9/v1' });
  });
});
