import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { UsageCalls, UsageCallsQuery, UsageQuery, UsageReport } from '@warbler/protocol';
import { badRequest } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { usageReport, type CurrencyRates, type Ledger } from '../usage/index.ts';
import type { HttpDeps } from './deps.ts';

export interface UsageDeps {
  store: Store;
  ledger: Ledger;
  rates: CurrencyRates;
}

const DAY = 24 * 3600 * 1000;

/** Usage and cost from the ledger, for the console's charts and exports. */
export const usageRoutes = (deps: HttpDeps, usage: UsageDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/api/usage', {
    schema: {
      tags: ['usage'],
      summary: 'Tokens, cost, attempts and failures grouped by day, model, agent, key or purpose (reply, summary) over [from, to)',
      querystring: UsageQuery,
      response: { 200: UsageReport },
    },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const to = request.query.to ?? Date.now() + 1;
    const from = request.query.from ?? to - 30 * DAY;
    if (from >= to) throw badRequest('from must be before to (both are epoch milliseconds).');
    if (to - from > 400 * DAY) throw badRequest('A report covers at most 400 days; narrow from and to.');
    return usageReport(usage.store, appId, { from, to, groupBy: request.query.group_by }, { rates: usage.rates, ledger: usage.ledger });
  });

  app.get('/api/usage/calls', {
    schema: {
      tags: ['usage'],
      summary: 'Ledger rows, newest first: one per model call attempt',
      querystring: UsageCallsQuery,
      response: { 200: UsageCalls },
    },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const q = request.query;
    await usage.ledger.flush();
    const rows = await usage.store.listLedger(appId, {
      limit: q.limit,
      ...(q.from !== undefined && { since: q.from }),
      ...(q.to !== undefined && { until: q.to }),
      ...(q.agent_id && { agent_id: q.agent_id }),
      ...(q.key_id && { key_id: q.key_id }),
      ...(q.before_created_at !== undefined && q.before_id && { before: { created_at: q.before_created_at, id: q.before_id } }),
    });
    // bigint does not survive JSON: costs leave as exact decimal strings of nano-units.
    return { calls: rows.map((r) => ({ ...r, cost_nanos: r.cost_nanos.toString() })) };
  });
};
