// The cost policy of docs/costs.md, case by case, end to end: the upstream
// fixture (real HTTP, real SSE) → the OpenAI-compatible adapter → the Router →
// the Ledger → a real store. Each case checks the ledger row against what the
// fixture reported (or, where nothing was reported, against the o200k count of
// what reached the caller) and the cost the policy says it has.
import { startUpstreamFixture, type Step, type UpstreamFixture, type UsageNumbers } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Router,
  collectChat,
  costOf,
  createOpenAICompatibleProvider,
  estimateUsage,
  seedPriceTable,
  type ChatRequest,
  type ChatStreamPart,
  type LlmProvider,
  type Route,
} from '../llm/index.ts';
import type { LedgerRow } from '../store/index.ts';
import { Ledger } from './ledger.ts';
import type { UsageContext } from './policy.ts';
import { APP, STORE_KINDS, openTestStore, type TestStore } from './test-support.ts';

const prices = seedPriceTable();
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'deepseek-chat', 'deepseek-reasoner', 'qwen-plus'];

let fx: UpstreamFixture;
let upstream: LlmProvider;
beforeAll(async () => {
  fx = await startUpstreamFixture();
  upstream = createOpenAICompatibleProvider({ name: 'fixture', baseURL: fx.url });
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

const routes = (fallbacks: Record<string, string[]> = {}): Route[] =>
  MODELS.map((m) => ({ model: m, deployments: [{ id: `fx/${m}`, provider: upstream, model: m }], ...(fallbacks[m] ? { fallbacks: fallbacks[m] } : {}) }));

const ask = (model: string): ChatRequest => ({
  model,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Tell me about the ledger.' },
  ],
});

const texts = (parts: ChatStreamPart[]) => parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : [])).join('');
const reported = (u: UsageNumbers) => ({
  promptTokens: u.prompt_tokens,
  completionTokens: u.completion_tokens,
  cachedTokens: u.cached_tokens ?? 0,
  reasoningTokens: u.reasoning_tokens ?? 0,
});

describe.each(STORE_KINDS.filter((k) => k !== 'memory'))('cost policy, fixture → Router → Ledger → %s', (kind) => {
  let s: TestStore;
  let ledger: Ledger;
  let caseNo = 0;
  beforeAll(async () => {
    s = await openTestStore(kind);
    ledger = new Ledger({ store: s.store, prices });
  });
  afterAll(async () => {
    await ledger.close();
    await s.close();
  });

  /** A router whose attempts land in the ledger under a fresh agent id; returns the call's rows, oldest first. */
  function harness(options: { maxRetries?: number; fallbacks?: Record<string, string[]>; idleTimeoutMs?: number } = {}) {
    const agentId = `usr_case_${++caseNo}`;
    const context: UsageContext = { app_id: APP, source: 'agent', agent_id: agentId, conversation_id: 'cnv_1', message_id: `msg_${caseNo}`, user_id: 'usr_human' };
    const router = new Router({
      routes: routes(options.fallbacks),
      retry: { maxRetries: options.maxRetries ?? 2, baseDelayMs: 1, maxDelayMs: 2 },
      random: () => 0,
      onAttempt: ledger.onAttempt,
      ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    });
    const rows = async (): Promise<LedgerRow[]> => {
      await ledger.flush();
      return (await s.store.listLedger(APP, { agent_id: agentId, limit: 100 })).reverse();
    };
    return { router, context, rows };
  }

  async function stream(router: Router, request: ChatRequest, context: UsageContext, script: Step[], stopAfter?: { deltas: number; how: 'abort' | 'break' }) {
    fx.script(...script);
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    let deltas = 0;
    for await (const p of router.chat(request, { context, signal: controller.signal })) {
      parts.push(p);
      if (p.type === 'text-delta' && stopAfter && ++deltas === stopAfter.deltas) {
        if (stopAfter.how === 'break') break;
        controller.abort();
      }
    }
    return parts;
  }

  it('a complete reply: exactly the usage upstream reported, cached tokens at the cached rate', async () => {
    const { router, context, rows } = harness();
    const usage = { prompt_tokens: 1200, completion_tokens: 300, cached_tokens: 1024 };
    await stream(router, ask('gpt-4o-mini'), context, [{ model: 'gpt-4o-mini', chunks: ['The ', 'ledger ', 'adds up.'], usage }]);
    const [row, ...rest] = await rows();
    expect(rest).toHaveLength(0);
    expect(row).toMatchObject({
      source: 'agent',
      user_id: 'usr_human',
      conversation_id: 'cnv_1',
      model: 'gpt-4o-mini',
      deployment: 'fx/gpt-4o-mini',
      provider: 'fixture',
      upstream_model: 'gpt-4o-mini',
      attempt: 1,
      prompt_tokens: 1200,
      cached_tokens: 1024,
      completion_tokens: 300,
      reasoning_tokens: 0,
      estimated: false,
      // 176 × $0.15 + 1024 × $0.075 + 300 × $0.60 per 1M
      cost_nanos: 26_400n + 76_800n + 180_000n,
      currency: 'USD',
      price_id: 'gpt-4o-mini@2024-10-01',
      outcome: 'ok',
      error: null,
    });
    expect(row!.ttft_ms).not.toBeNull();
    expect(row!.latency_ms).toBeGreaterThanOrEqual(row!.ttft_ms!);
  });

  it('DeepSeek-style cache hits: the cached share at the cached rate, the rest at the input rate', async () => {
    const { router, context, rows } = harness();
    await stream(router, ask('deepseek-chat'), context, [{ model: 'deepseek-chat', text: 'ok', usage: { prompt_tokens: 10_000, completion_tokens: 1_000, cached_tokens: 8_000 } }]);
    // 2000 × $0.28 + 8000 × $0.028 + 1000 × $0.42 per 1M
    expect((await rows())[0]).toMatchObject({ prompt_tokens: 10_000, cached_tokens: 8_000, cost_nanos: 560_000n + 224_000n + 420_000n, estimated: false });
  });

  it('reasoning tokens: their own column, billed once as part of completion', async () => {
    const { router, context, rows } = harness();
    const usage = { prompt_tokens: 20, completion_tokens: 500, reasoning_tokens: 450 };
    await stream(router, ask('deepseek-reasoner'), context, [{ model: 'deepseek-reasoner', reasoning: 'Let me think about it.', text: 'Done.', usage }]);
    const [row] = await rows();
    expect(row).toMatchObject({ ...snake(reported(usage)), estimated: false, cost_nanos: 20n * 280n + 500n * 420n });
  });

  it('a model billed in CNY keeps its currency', async () => {
    const { router, context, rows } = harness();
    await stream(router, ask('qwen-plus'), context, [{ model: 'qwen-plus', text: '好的', usage: { prompt_tokens: 1000, completion_tokens: 1000 } }]);
    // 1000 × ¥0.8 + 1000 × ¥2 per 1M
    expect((await rows())[0]).toMatchObject({ currency: 'CNY', cost_nanos: 800_000n + 2_000_000n, price_id: 'qwen-plus@2025-07-28' });
  });

  it.each(['abort', 'break'] as const)('a reply stopped by the user (%s): o200k count of the prompt and of what was shown, flagged estimated', async (how) => {
    const { router, context, rows } = harness();
    const request = ask('gpt-4o-mini');
    const parts = await stream(
      router,
      request,
      context,
      [{ model: 'gpt-4o-mini', chunks: ['One ', 'two ', 'three ', 'four ', 'five ', 'six'], intervalMs: 40, usage: { prompt_tokens: 999, completion_tokens: 999 } }],
      { deltas: 2, how },
    );
    const shown = texts(parts);
    expect(shown).toBe('One two ');
    const estimate = estimateUsage(request, { text: shown });
    const [row, ...rest] = await rows();
    expect(rest).toHaveLength(0);
    expect(row).toMatchObject({
      outcome: 'stopped',
      estimated: true,
      prompt_tokens: estimate.promptTokens,
      completion_tokens: estimate.completionTokens,
      cached_tokens: 0,
      cost_nanos: BigInt(costOf(estimate, prices.lookup('gpt-4o-mini')!).nanos),
    });
  });

  it('a reply stopped before its first token: nothing counted, cost 0, outcome stopped', async () => {
    const { router, context, rows } = harness();
    fx.script({ model: 'gpt-4o-mini', text: 'late', ttftMs: 300 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const parts: ChatStreamPart[] = [];
    for await (const p of router.chat(ask('gpt-4o-mini'), { context, signal: controller.signal })) parts.push(p);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { kind: 'aborted' } });
    expect(await rows()).toEqual([expect.objectContaining({ outcome: 'stopped', prompt_tokens: 0, completion_tokens: 0, cost_nanos: 0n, estimated: false, price_id: null })]);
  });

  it('a cut stream: billed like a stop, for what arrived before the cut', async () => {
    const { router, context, rows } = harness();
    const request = ask('gpt-4o-mini');
    const parts = await stream(router, request, context, [{ model: 'gpt-4o-mini', fault: 'cut', afterChunks: 2, text: 'alpha beta gamma delta' }]);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { kind: 'cut_stream' } });
    const shown = texts(parts);
    expect(shown).toBe('alpha beta ');
    const estimate = estimateUsage(request, { text: shown });
    const [row, ...rest] = await rows();
    // Output had reached the user, so the router does not retry (that would repeat it).
    expect(rest).toHaveLength(0);
    expect(row).toMatchObject({
      outcome: 'cut',
      estimated: true,
      prompt_tokens: estimate.promptTokens,
      completion_tokens: estimate.completionTokens,
      cost_nanos: BigInt(costOf(estimate, prices.lookup('gpt-4o-mini')!).nanos),
    });
    expect(row!.error).toMatch(/^cut_stream/);
  });

  it.each([
    ['malformed chunk', { fault: 'malformed', afterChunks: 2, text: 'alpha beta gamma delta' }, 'cut', 'malformed', {}],
    ['silence past the idle timeout', { fault: 'hang', afterChunks: 2, text: 'alpha beta gamma delta' }, 'timeout', 'timeout', { idleTimeoutMs: 100 }],
  ] as const)('a stream that breaks another way (%s): billed like a cut', async (_, fault, outcome, kind, options) => {
    const { router, context, rows } = harness(options);
    const request = ask('gpt-4o-mini');
    const parts = await stream(router, request, context, [{ model: 'gpt-4o-mini', ...fault }]);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { kind } });
    const estimate = estimateUsage(request, { text: texts(parts) });
    expect(texts(parts)).toBe('alpha beta ');
    expect(await rows()).toEqual([
      expect.objectContaining({ outcome, estimated: true, prompt_tokens: estimate.promptTokens, completion_tokens: estimate.completionTokens, cost_nanos: BigInt(costOf(estimate, prices.lookup('gpt-4o-mini')!).nanos) }),
    ]);
  });

  it('an upstream error before any token: 0 tokens, cost 0, the outcome and error recorded', async () => {
    const { router, context, rows } = harness({ maxRetries: 0 });
    const parts = await stream(router, ask('gpt-4o-mini'), context, [{ model: 'gpt-4o-mini', fault: 'status', status: 500 }]);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { kind: 'server' } });
    const [row, ...rest] = await rows();
    expect(rest).toHaveLength(0);
    expect(row).toMatchObject({ outcome: 'error', prompt_tokens: 0, cached_tokens: 0, completion_tokens: 0, reasoning_tokens: 0, cost_nanos: 0n, estimated: false, price_id: null, ttft_ms: null });
    expect(row!.error).toMatch(/^server 500: /);
  });

  it('an empty reply: the prompt tokens upstream reported are billed', async () => {
    const { router, context, rows } = harness();
    const parts = await stream(router, ask('gpt-4o-mini'), context, [{ model: 'gpt-4o-mini', text: '', usage: { prompt_tokens: 57, completion_tokens: 0 } }]);
    expect(parts.at(-1)).toMatchObject({ type: 'finish' });
    expect((await rows())[0]).toMatchObject({ outcome: 'ok', prompt_tokens: 57, completion_tokens: 0, estimated: false, cost_nanos: 57n * 150n });
  });

  it('an empty reply with no usage from upstream: the prompt counted with o200k, flagged', async () => {
    const { router, context, rows } = harness();
    const request = ask('gpt-4o-mini');
    await stream(router, request, context, [{ model: 'gpt-4o-mini', text: '', usage: null }]);
    const estimate = estimateUsage(request, { text: '' });
    expect((await rows())[0]).toMatchObject({ outcome: 'ok', estimated: true, prompt_tokens: estimate.promptTokens, completion_tokens: 0, cost_nanos: BigInt(estimate.promptTokens) * 150n });
  });

  it('a retried call: one row per attempt; failures before output cost 0; the attempt that answered is billed exactly', async () => {
    const { router, context, rows } = harness({ maxRetries: 2 });
    const usage = { prompt_tokens: 40, completion_tokens: 10 };
    await stream(router, ask('gpt-4o-mini'), context, [
      { model: 'gpt-4o-mini', fault: 'status', status: 500 },
      { model: 'gpt-4o-mini', fault: 'rate_limit', retryAfterMs: 5 },
      { model: 'gpt-4o-mini', text: 'third time lucky', usage },
    ]);
    const all = await rows();
    expect(all.map((r) => [r.attempt, r.outcome, r.prompt_tokens, r.completion_tokens, r.cost_nanos])).toEqual([
      [1, 'error', 0, 0, 0n],
      [2, 'rate_limited', 0, 0, 0n],
      [3, 'ok', 40, 10, 40n * 150n + 10n * 600n],
    ]);
    expect(new Set(all.map((r) => r.message_id)).size).toBe(1);
  });

  it('a fallback: failed attempts on the first model cost 0, the model that answered is billed at its own price', async () => {
    const { router, context, rows } = harness({ maxRetries: 0, fallbacks: { 'gpt-4o': ['gpt-4o-mini'] } });
    await stream(router, ask('gpt-4o'), context, [
      { model: 'gpt-4o', fault: 'status', status: 503 },
      { model: 'gpt-4o-mini', text: 'from the fallback', usage: { prompt_tokens: 100, completion_tokens: 4 } },
    ]);
    const all = await rows();
    expect(all.map((r) => [r.model, r.upstream_model, r.outcome, r.cost_nanos, r.price_id])).toEqual([
      ['gpt-4o', 'gpt-4o', 'error', 0n, null],
      ['gpt-4o', 'gpt-4o-mini', 'ok', 100n * 150n + 4n * 600n, 'gpt-4o-mini@2024-10-01'],
    ]);
  });

  it('non-streaming calls and embeddings follow the same rules', async () => {
    const { router, context, rows } = harness();
    fx.script({ model: 'gpt-4o-mini', text: 'plain', usage: { prompt_tokens: 30, completion_tokens: 2, cached_tokens: 0 } });
    await router.complete(ask('gpt-4o-mini'), { context });
    const embedRouter = new Router({
      routes: [{ model: 'text-embedding-3-small', deployments: [{ id: 'fx/emb', provider: upstream, model: 'text-embedding-3-small' }] }],
      onAttempt: ledger.onAttempt,
    });
    const result = await embedRouter.embed({ model: 'text-embedding-3-small', input: ['a ledger row', 'another'] }, { context });
    const all = await rows();
    expect(all[0]).toMatchObject({ outcome: 'ok', prompt_tokens: 30, completion_tokens: 2, cost_nanos: 30n * 150n + 2n * 600n });
    expect(all[1]).toMatchObject({ outcome: 'ok', prompt_tokens: result.usage.promptTokens, completion_tokens: 0, cost_nanos: BigInt(result.usage.promptTokens) * 20n });
  });

  it('collectChat over the router gives the same row as streaming', async () => {
    const { router, context, rows } = harness();
    fx.script({ model: 'gpt-4o-mini', text: 'collected', usage: { prompt_tokens: 11, completion_tokens: 1 } });
    const done = await collectChat(router.chat(ask('gpt-4o-mini'), { context }));
    expect(done.usage).toMatchObject({ promptTokens: 11, completionTokens: 1 });
    expect((await rows())[0]).toMatchObject({ prompt_tokens: 11, completion_tokens: 1, cost_nanos: 11n * 150n + 600n });
  });
});

function snake(u: ReturnType<typeof reported>) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, cached_tokens: u.cachedTokens, reasoning_tokens: u.reasoningTokens };
}
