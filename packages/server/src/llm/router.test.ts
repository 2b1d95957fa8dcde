import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from './openai-compatible.ts';
import { costOf, seedPriceTable } from './prices.ts';
import { Router, type AttemptReport, type Deployment, type Route, type RouterOptions } from './router.ts';
import { collectChat } from './stream.ts';
import { countTextTokens } from './tokens.ts';
import type { LlmError } from './errors.ts';
import type { ChatRequest, ChatStreamPart, LlmProvider } from './types.ts';

let fx: UpstreamFixture;
let upstream: LlmProvider;
beforeAll(async () => {
  fx = await startUpstreamFixture();
  upstream = createOpenAICompatibleProvider({ name: 'fixture', baseURL: fx.url });
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

const dep = (model: string): Deployment => ({ id: `fx/${model}`, provider: upstream, model });

function setup(routes: Route[], options: Partial<RouterOptions> = {}) {
  const reports: AttemptReport[] = [];
  const router = new Router({
    routes,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    random: () => 0.5,
    onAttempt: (r) => reports.push(r),
    ...options,
  });
  return { router, reports };
}

const ask = (model: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model, messages: [{ role: 'user', content: 'Hello' }], ...extra });

async function parts(stream: AsyncIterable<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const out: ChatStreamPart[] = [];
  for await (const p of stream) out.push(p);
  return out;
}

const texts = (ps: ChatStreamPart[]) => ps.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));
const requestsFor = (model: string) => fx.requests.filter((r) => r.body?.model === model);

describe('Router streaming', () => {
  it('streams the reply in order behind a start part, and reports the attempt with upstream usage', async () => {
    const { router, reports } = setup([{ model: 'assistant', deployments: [dep('gpt-4o-mini')] }]);
    fx.script({ model: 'gpt-4o-mini', chunks: ['Hi', ' there', '!'], usage: { prompt_tokens: 20, completion_tokens: 3, cached_tokens: 10 } });
    const ps = await parts(router.chat(ask('assistant'), { context: { agent: 'a1' } }));
    expect(ps[0]).toEqual({ type: 'start', model: 'assistant', deployment: 'fx/gpt-4o-mini', upstreamModel: 'gpt-4o-mini', attempt: 1 });
    expect(texts(ps)).toEqual(['Hi', ' there', '!']);
    expect(ps.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', usage: { promptTokens: 20, completionTokens: 3, cachedTokens: 10, estimated: false } });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      operation: 'chat',
      requestedModel: 'assistant',
      model: 'assistant',
      deployment: 'fx/gpt-4o-mini',
      provider: 'fixture',
      outcome: 'success',
      committed: true,
      usage: { promptTokens: 20, completionTokens: 3, cachedTokens: 10 },
      context: { agent: 'a1' },
    });
    expect(reports[0]!.ttftMs).toBeGreaterThan(0);
    expect(reports[0]!.latencyMs).toBeGreaterThanOrEqual(reports[0]!.ttftMs!);
    expect(requestsFor('gpt-4o-mini')[0]!.body.stream_options).toEqual({ include_usage: true });
  });

  it('the ledger cost of a reported attempt is exact for cached tokens', async () => {
    const { router, reports } = setup([{ model: 'gpt-4o-mini', deployments: [dep('gpt-4o-mini')] }]);
    fx.script({ text: 'ok', usage: { prompt_tokens: 1200, completion_tokens: 300, cached_tokens: 1024 } });
    await collectChat(router.chat(ask('gpt-4o-mini')));
    const price = seedPriceTable().lookup(reports[0]!.upstreamModel)!;
    // 176 × $0.15 + 1024 × $0.075 + 300 × $0.60 per 1M = $0.0000264 + $0.0000768 + $0.00018
    expect(costOf(reports[0]!.usage!, price).nanos).toBe(26_400 + 76_800 + 180_000);
  });

  it('honours Retry-After on a 429, then succeeds', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }], { random: () => 0 });
    fx.script({ fault: 'rate_limit', retryAfterS: 1 }, { text: 'after the wait' });
    const c = await collectChat(router.chat(ask('m')));
    expect(c.text).toBe('after the wait');
    const [first, second] = requestsFor('m');
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
    expect(reports.map((r) => [r.outcome, r.error?.kind])).toEqual([
      ['failure', 'rate_limited'],
      ['success', undefined],
    ]);
    expect(reports[0]!.committed).toBe(false);
    expect(reports[0]!.usage).toBeUndefined();
  });

  it('retries 500 and 503 with backoff, then succeeds', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }]);
    fx.script({ fault: 'status', status: 500 }, { fault: 'status', status: 503 }, { text: 'third time' });
    expect((await collectChat(router.chat(ask('m')))).text).toBe('third time');
    expect(requestsFor('m')).toHaveLength(3);
    expect(reports.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(reports.map((r) => r.error?.kind)).toEqual(['server', 'server', undefined]);
  });

  it('falls back to the next model once retries are spent', async () => {
    const { router, reports } = setup(
      [
        { model: 'main', deployments: [dep('main-a')], fallbacks: ['backup'] },
        { model: 'backup', deployments: [dep('backup-a')] },
      ],
      { retry: { maxRetries: 1, baseDelayMs: 1 } },
    );
    fx.script({ model: 'main-a', fault: 'status', status: 500, times: Infinity }, { model: 'backup-a', text: 'from backup' });
    const ps = await parts(router.chat(ask('main')));
    expect(ps[0]).toMatchObject({ type: 'start', model: 'backup', deployment: 'fx/backup-a' });
    expect(texts(ps).join('')).toBe('from backup');
    expect(requestsFor('main-a')).toHaveLength(2);
    expect(reports.map((r) => [r.requestedModel, r.model, r.outcome])).toEqual([
      ['main', 'main', 'failure'],
      ['main', 'main', 'failure'],
      ['main', 'backup', 'success'],
    ]);
  });

  it('does not retry a bad request', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('m')], fallbacks: ['n'] }, { model: 'n', deployments: [dep('n')] }]);
    fx.script({ fault: 'status', status: 400 });
    const ps = await parts(router.chat(ask('m')));
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ type: 'error', error: { kind: 'bad_request', deployment: 'fx/m' } });
    expect(fx.requests).toHaveLength(1);
  });

  it('moves past a deployment whose key is refused, without waiting', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('bad-key'), dep('good')] }], { retry: { baseDelayMs: 10_000 } });
    fx.script({ model: 'bad-key', fault: 'status', status: 401 });
    const t0 = Date.now();
    await collectChat(router.chat(ask('m')));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(reports.map((r) => [r.deployment, r.error?.kind])).toEqual([
      ['fx/bad-key', 'auth'],
      ['fx/good', undefined],
    ]);
  });

  it('opens the circuit after repeated failures and stops calling the dead deployment', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('dead'), dep('live')] }], { circuit: { failureThreshold: 2, cooldownMs: 300 } });
    fx.script({ model: 'dead', fault: 'status', status: 503, times: Infinity });
    for (let i = 0; i < 6; i++) expect((await collectChat(router.chat(ask('m')))).text).toBe('Hello');
    expect(requestsFor('dead')).toHaveLength(2);
    expect(requestsFor('live')).toHaveLength(6);
    expect(router.health().find((h) => h.deployment === 'fx/dead')).toMatchObject({ state: 'open' });

    // After the cool-down one probe goes through; it succeeds and the circuit closes.
    fx.reset();
    await new Promise((r) => setTimeout(r, 320));
    expect(router.health().find((h) => h.deployment === 'fx/dead')!.state).toBe('half_open');
    await collectChat(router.chat(ask('m')));
    expect(requestsFor('dead')).toHaveLength(1);
    expect(router.health().find((h) => h.deployment === 'fx/dead')!.state).toBe('closed');
  });

  // This test used to expect 'unavailable' with no upstream call: the defect of issue 10 item 2, where one
  // tenant's failing prompts paused the only deployment of a model for every tenant.
  it('keeps calling the last deployment of a model when its circuit is open: one try per call, no retries', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('dead')] }], { circuit: { failureThreshold: 1, cooldownMs: 60_000 }, retry: { maxRetries: 2 } });
    fx.script({ model: 'dead', fault: 'status', status: 500, times: Infinity });
    await parts(router.chat(ask('m')));
    expect(requestsFor('dead')).toHaveLength(1);
    expect(router.health()[0]).toMatchObject({ state: 'open' });
    const ps = await parts(router.chat(ask('m')));
    expect(ps).toEqual([{ type: 'error', error: expect.objectContaining({ kind: 'server', status: 500 }) }]);
    expect(requestsFor('dead')).toHaveLength(2);
    await expect(router.complete(ask('m'))).rejects.toMatchObject({ kind: 'server' });
    expect(requestsFor('dead')).toHaveLength(3);

    // The deployment recovers (or it was only some prompts that failed): the next caller is answered and the circuit closes.
    fx.reset();
    expect((await collectChat(router.chat(ask('m')))).text).toBe('Hello');
    expect(router.health()[0]).toMatchObject({ state: 'closed' });
    expect(reports.map((r) => r.outcome)).toEqual(['failure', 'failure', 'failure', 'success']);
  });

  it('while a fallback can answer, skips the open deployment instead', async () => {
    const { router } = setup(
      [
        { model: 'main', deployments: [dep('main-a')], fallbacks: ['backup'] },
        { model: 'backup', deployments: [dep('backup-a')] },
      ],
      { circuit: { failureThreshold: 1, cooldownMs: 60_000 }, retry: { maxRetries: 0 } },
    );
    fx.script({ model: 'main-a', fault: 'status', status: 500, times: Infinity });
    for (let i = 0; i < 4; i++) expect((await collectChat(router.chat(ask('main')))).text).toBe('Hello');
    expect(requestsFor('main-a')).toHaveLength(1);
    expect(requestsFor('backup-a')).toHaveLength(4);
  });

  it('when the whole chain is open, tries the deployment that failed longest ago', async () => {
    let now = 1_000;
    const { router } = setup(
      [
        { model: 'main', deployments: [dep('main-a')], fallbacks: ['backup'] },
        { model: 'backup', deployments: [dep('backup-a')] },
      ],
      { circuit: { failureThreshold: 1, cooldownMs: 60_000, now: () => now }, retry: { maxRetries: 0 } },
    );
    fx.script({ fault: 'status', status: 500, times: Infinity });
    await parts(router.chat(ask('main')));
    expect(fx.requests.map((r) => r.body?.model)).toEqual(['main-a', 'backup-a']);
    // Both opened at the same moment: the requested model's own deployment goes first...
    now += 10;
    await parts(router.chat(ask('main')));
    // ...and having just failed again, it waits behind the fallback's.
    now += 10;
    await parts(router.chat(ask('main')));
    expect(fx.requests.map((r) => r.body?.model)).toEqual(['main-a', 'backup-a', 'main-a', 'backup-a']);
  });

  it('surfaces a stream cut after the first token as an error part, without retrying', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }]);
    fx.script({ fault: 'cut', afterChunks: 1, text: 'partial reply here' });
    const ps = await parts(router.chat(ask('m')));
    expect(ps.map((p) => p.type)).toEqual(['start', 'text-delta', 'error']);
    const last = ps.at(-1) as Extract<ChatStreamPart, { type: 'error' }>;
    expect(last.error.kind).toBe('cut_stream');
    expect(last.usage).toMatchObject({ completionTokens: countTextTokens('partial '), estimated: true });
    expect(fx.requests).toHaveLength(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ outcome: 'failure', committed: true, usage: { estimated: true } });
  });

  it('retries a cut that happens before any token', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('m')] }]);
    fx.script({ fault: 'cut', afterChunks: 0 }, { fault: 'malformed', afterChunks: 0 }, { text: 'fine' });
    expect((await collectChat(router.chat(ask('m')))).text).toBe('fine');
    expect(fx.requests).toHaveLength(3);
  });

  it('times out an attempt with no first token and tries again', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }], { attemptTimeoutMs: 150 });
    fx.script({ fault: 'hang' }, { fault: 'hang', afterChunks: 0 }, { text: 'awake' });
    expect((await collectChat(router.chat(ask('m')))).text).toBe('awake');
    expect(reports.map((r) => r.error?.kind)).toEqual(['timeout', 'timeout', undefined]);
    expect(reports[0]!.latencyMs).toBeGreaterThanOrEqual(140);
  });

  it('gives up at the overall deadline', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }], { attemptTimeoutMs: 100, deadlineMs: 250, retry: { maxRetries: 10, baseDelayMs: 1 } });
    fx.script({ fault: 'hang', times: Infinity });
    const t0 = Date.now();
    const ps = await parts(router.chat(ask('m')));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(ps.at(-1)).toMatchObject({ type: 'error', error: { kind: 'timeout' } });
    expect(reports.length).toBeLessThanOrEqual(3);
    expect(reports.at(-1)!.outcome).toBe('aborted');
  });

  it('ends a stream that goes silent mid-reply when an idle limit is set', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('m')] }], { idleTimeoutMs: 100 });
    fx.script({ fault: 'hang', afterChunks: 1, text: 'one two' });
    const ps = await parts(router.chat(ask('m')));
    expect(texts(ps)).toEqual(['one ']);
    expect(ps.at(-1)).toMatchObject({ type: 'error', error: { kind: 'timeout' } });
    expect(fx.requests).toHaveLength(1);
  });

  it('reports a reply the caller stopped reading as aborted, with estimated usage of what it got', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }]);
    fx.script({ chunks: ['a ', 'b ', 'c ', 'd '], intervalMs: 20 });
    for await (const p of router.chat(ask('m'))) {
      if (p.type === 'text-delta') break;
    }
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ outcome: 'aborted', committed: true, usage: { completionTokens: countTextTokens('a '), estimated: true } });
    expect(router.health()[0]!.state).toBe('closed');
  });

  it('stops when the caller aborts its signal', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }]);
    fx.script({ chunks: ['a ', 'b ', 'c '], intervalMs: 100 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const ps = await parts(router.chat(ask('m'), { signal: controller.signal }));
    expect(ps.at(-1)).toMatchObject({ type: 'error', error: { kind: 'aborted' } });
    expect(reports[0]).toMatchObject({ outcome: 'aborted' });
  });

  it('assembles tool calls through the router', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('m')] }]);
    fx.script({ text: '', toolCalls: [{ id: 'call_1', name: 'search_kb', arguments: '{"query":"refund policy"}', argumentChunks: ['{"query":', '"refund ', 'policy"}'] }] });
    const c = await collectChat(router.chat(ask('m')));
    expect(c.toolCalls).toEqual([{ id: 'call_1', name: 'search_kb', arguments: '{"query":"refund policy"}' }]);
    expect(c.finishReason).toBe('tool_calls');
  });

  it('a request our own code cannot serialise is an internal error: not sent, not retried, not counted against any deployment', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('a'), dep('b')] }], { circuit: { failureThreshold: 1, cooldownMs: 60_000 } });
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const hostile = ask('m', { messages: [{ role: 'user', content: 'hi', deep } as never] });
    for (let i = 0; i < 3; i++) {
      const ps = await parts(router.chat(hostile));
      expect(ps).toEqual([{ type: 'error', error: expect.objectContaining({ kind: 'internal' }) }]);
      const error = (ps[0] as { error: LlmError }).error;
      expect(error.message).not.toMatch(/call stack/);
      expect(error.cause).toBeInstanceOf(RangeError);
      await expect(router.complete(hostile)).rejects.toMatchObject({ kind: 'internal' });
    }
    expect(fx.requests).toHaveLength(0);
    expect(router.health().map((h) => h.state)).toEqual(['closed', 'closed']);
    expect((await collectChat(router.chat(ask('m')))).text).toBe('Hello');
  });

  it('a bug in a provider (a TypeError) is internal too, and does not open its circuit', async () => {
    const buggy: LlmProvider = {
      name: 'buggy',
      async *chat() {
        throw new TypeError("Cannot read properties of undefined (reading 'x')");
      },
      complete: () => Promise.reject(new TypeError('not a function')),
      embed: () => Promise.reject(new TypeError('not a function')),
    };
    const { router } = setup([{ model: 'm', deployments: [{ id: 'buggy/m', provider: buggy, model: 'm' }] }], { circuit: { failureThreshold: 1 } });
    for (let i = 0; i < 3; i++) {
      expect(await parts(router.chat(ask('m')))).toEqual([{ type: 'error', error: expect.objectContaining({ kind: 'internal' }) }]);
      await expect(router.complete(ask('m'))).rejects.toMatchObject({ kind: 'internal' });
    }
    expect(router.health()[0]).toMatchObject({ state: 'closed' });
  });

  it('answers an unknown model with not_found', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('m')] }]);
    const ps = await parts(router.chat(ask('nope')));
    expect(ps).toEqual([{ type: 'error', error: expect.objectContaining({ kind: 'not_found' }) }]);
  });

  it('rejects routes that fall back to nothing', () => {
    expect(() => new Router({ routes: [{ model: 'm', deployments: [], fallbacks: ['ghost'] }] })).toThrow(/ghost/);
  });
});

describe('Router complete and embed', () => {
  it('retries a non-streaming call and reports each attempt', async () => {
    const { router, reports } = setup([{ model: 'm', deployments: [dep('m')] }]);
    fx.script({ fault: 'status', status: 502 }, { text: 'done', usage: { prompt_tokens: 7, completion_tokens: 1 } });
    const c = await router.complete(ask('m'));
    expect(c.text).toBe('done');
    expect(reports.map((r) => [r.operation, r.outcome])).toEqual([
      ['complete', 'failure'],
      ['complete', 'success'],
    ]);
    expect(reports[1]!.usage).toMatchObject({ promptTokens: 7, completionTokens: 1 });
  });

  it('times out a non-streaming attempt', async () => {
    const { router } = setup([{ model: 'm', deployments: [dep('m')] }], { attemptTimeoutMs: 100, retry: { maxRetries: 0 } });
    fx.script({ fault: 'hang' });
    await expect(router.complete(ask('m'))).rejects.toMatchObject({ kind: 'timeout' });
  });

  it('embeds through a route with fallback', async () => {
    const { router, reports } = setup(
      [
        { model: 'embed', deployments: [dep('emb-a')], fallbacks: ['embed-b'] },
        { model: 'embed-b', deployments: [dep('emb-b')] },
      ],
      { retry: { maxRetries: 0 } },
    );
    fx.script({ endpoint: 'embeddings', model: 'emb-a', fault: 'status', status: 500 });
    const r = await router.embed({ model: 'embed', input: ['a', 'b'], dimensions: 8 });
    expect(r.vectors).toHaveLength(2);
    expect(reports.map((x) => [x.deployment, x.outcome])).toEqual([
      ['fx/emb-a', 'failure'],
      ['fx/emb-b', 'success'],
    ]);
  });
});
