import { afterEach, describe, expect, it } from 'vitest';
import { definePrice, seedPriceTable, type AttemptStart } from '../llm/index.ts';
import type { AiStore } from '../store/index.ts';
import { Budgets } from './budgets.ts';
import { INTERRUPTED_BY_RESTART, INTERRUPTED_BY_SHUTDOWN, settleInterruptedCalls } from './interrupted.ts';
import { Ledger } from './ledger.ts';
import { DEFAULT_OUTPUT_RESERVATION } from './reservation.ts';
import { APP, STORE_KINDS, attempt, openTestStore, usage, type StoreKind, type TestStore } from './test-support.ts';

const prices = seedPriceTable();
let open: TestStore[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function storeOf(kind: StoreKind) {
  const s = await openTestStore(kind);
  open.push(s);
  return s as TestStore & { store: TestStore['store'] & Pick<AiStore, 'listInFlightLedger'> };
}

function start(over: Partial<AttemptStart> = {}): AttemptStart {
  const a = attempt();
  return {
    callId: a.callId, operation: 'chat', requestedModel: a.requestedModel, model: a.model, deployment: a.deployment, provider: a.provider,
    upstreamModel: a.upstreamModel, attempt: 1, startedAt: a.startedAt, context: a.context,
    request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 1000 },
    ...over,
  };
}

describe.each(STORE_KINDS)('in-flight ledger rows on %s', (kind) => {
  it('writes a pending row at the worst case when an attempt is sent, and settles the same row exactly when it ends', async () => {
    const s = await storeOf(kind);
    const ledger = new Ledger({ store: s.store, prices, flushMs: 60_000 });
    const opened = ledger.openAttempt(start())!;
    await ledger.flush();
    const [pending] = await s.store.listLedger(APP, { limit: 10 });
    expect(pending).toMatchObject({ id: opened.id, outcome: 'pending', estimated: true, completion_tokens: 1000 });
    // 1,000 output tokens at $0.60/1M alone is 600,000 nano-USD.
    expect(pending!.cost_nanos).toBeGreaterThan(600_000n);
    expect(ledger.inFlight).toBe(1);

    ledger.recordAttempt(attempt());
    await ledger.flush();
    const rows = await s.store.listLedger(APP, { limit: 10 });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: opened.id, outcome: 'ok', estimated: false, prompt_tokens: 100, completion_tokens: 20, cost_nanos: 27_000n });
    expect(ledger.inFlight).toBe(0);
    await ledger.close();
  });

  it('a call that ends before its open row is written is written once, settled; without max_tokens the default output is reserved', async () => {
    const s = await storeOf(kind);
    const ledger = new Ledger({ store: s.store, prices, flushMs: 60_000 });
    const opened = ledger.openAttempt(start({ request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } }))!;
    expect(opened.completion_tokens).toBe(DEFAULT_OUTPUT_RESERVATION);
    ledger.recordAttempt(attempt());
    expect(ledger.pending).toBe(1);
    await ledger.close();
    expect(await s.store.listLedger(APP, { limit: 10 })).toMatchObject([{ id: opened.id, outcome: 'ok' }]);
  });

  it('settles what a crash left open as interrupted, from the delivered text, and what a shutdown left as interrupted too', async () => {
    const s = await storeOf(kind);
    const crashed = new Ledger({ store: s.store, prices, flushMs: 60_000 });
    const reply = crashed.openAttempt(start({ context: { ...attempt().context as object, message_id: 'msg_1' } }))!;
    const relayed = crashed.openAttempt(start({ callId: 'call_2', context: { app_id: APP, source: 'gateway', key_id: 'key_1' } }))!;
    await crashed.flush();
    // kill -9 here: nothing more is written by that process.

    const settled = await settleInterruptedCalls({
      store: s.store, prices,
      deliveredText: async (row) => (row.message_id === 'msg_1' ? 'Half of an answer that reached the user' : undefined),
    });
    expect(settled).toBe(2);
    const rows = await s.store.listLedger(APP, { limit: 10 });
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(reply.id)).toMatchObject({ outcome: 'interrupted', estimated: true, prompt_tokens: reply.prompt_tokens, error: INTERRUPTED_BY_RESTART });
    expect(byId.get(reply.id)!.completion_tokens).toBeGreaterThan(0);
    expect(byId.get(reply.id)!.completion_tokens).toBeLessThan(20);
    expect(byId.get(relayed.id)).toMatchObject({ outcome: 'interrupted', completion_tokens: 0, created_at: relayed.created_at });
    expect(byId.get(relayed.id)!.cost_nanos).toBeGreaterThan(0n);
    expect(await s.store.listInFlightLedger(10)).toEqual([]);

    const stopping = new Ledger({ store: s.store, prices, flushMs: 60_000 });
    const late = stopping.openAttempt(start({ callId: 'call_3' }))!;
    expect(stopping.interruptInFlight(INTERRUPTED_BY_SHUTDOWN)).toBe(1);
    // The call's own report after that is dropped: the row already says what happened.
    expect(stopping.recordAttempt(attempt({ callId: 'call_3' }))).toBeUndefined();
    await stopping.close();
    expect((await s.store.listLedger(APP, { limit: 10 })).find((r) => r.id === late.id)).toMatchObject({ outcome: 'interrupted', error: INTERRUPTED_BY_SHUTDOWN });
  });
});

describe('budgets and calls in flight', () => {
  it('count the worst case of a call in flight, then its settled cost instead', async () => {
    const s = await storeOf('memory');
    const now = () => Date.parse('2025-11-10T12:00:00Z');
    const ledger = new Ledger({ store: s.store, prices, flushMs: 60_000, now });
    const budgets = new Budgets({ store: s.store, ledger, now });
    const scope = { agentId: 'usr_agent' };
    expect((await budgets.check(APP, scope, 0.0005)).ok).toBe(true);
    ledger.openAttempt(start());
    // 1,000 output tokens at $0.60/1M: $0.0006 held, past a $0.0005 budget while it runs.
    expect(await budgets.check(APP, scope, 0.0005)).toMatchObject({ ok: false });
    ledger.recordAttempt(attempt({ usage: usage({ promptTokens: 10, completionTokens: 5 }) }));
    const after = await budgets.check(APP, scope, 0.0005);
    expect(after.ok).toBe(true);
    expect(after.spentUsd).toBeCloseTo(0.0000045, 9);
    budgets.close();
    await ledger.close();
  });
});

describe('pricing an attempt once', () => {
  const store = { appendLedger: async () => {} };
  const pricier = prices.with([definePrice({ model: 'gpt-4o-mini', currency: 'USD', effectiveFrom: '2025-01-01', perMillion: { input: '1', output: '2' } })]);

  it('settles at the price its open row had, or at the new table when an operator swapped prices meanwhile', async () => {
    const ledger = new Ledger({ store, prices, flushMs: 60_000 });
    ledger.openAttempt(start());
    // 100 prompt tokens at $0.15/1M + 20 completion at $0.60/1M.
    expect(ledger.recordAttempt(attempt())).toMatchObject({ cost_nanos: 27_000n, price_id: 'gpt-4o-mini@2024-10-01' });

    ledger.openAttempt(start({ callId: 'call_2' }));
    ledger.setPrices(pricier);
    expect(ledger.recordAttempt(attempt({ callId: 'call_2' }))).toMatchObject({ cost_nanos: 140_000n, price_id: 'gpt-4o-mini@2025-01-01' });

    // A report naming other models than its open row (not the router's way) is looked up for what it names.
    ledger.openAttempt(start({ callId: 'call_3' }));
    expect(ledger.recordAttempt(attempt({ callId: 'call_3', upstreamModel: 'gpt-4o', model: 'gpt-4o', requestedModel: 'gpt-4o' }))).toMatchObject({ price_id: expect.stringMatching(/^gpt-4o@/) });
    await ledger.close();
  });
});
