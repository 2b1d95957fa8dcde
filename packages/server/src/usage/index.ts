// The usage room: the token and cost ledger, monthly budgets, usage reports.
// Wiring (app.ts):
//   const ledger = new Ledger({ store, prices, log });
//   const budgets = new Budgets({ store, ledger, rates });
//   const router = buildRouter(file, env, { onAttempt: ledger.onAttempt, onAttemptStart: ledger.onAttemptStart, ... });
//   // start-up, before any call: await settleInterruptedCalls({ store, prices, deliveredText })
//   // every call: router.chat(req, { context: { app_id, source: 'agent', agent_id, ... } })
//   // shutdown: after in-flight calls end, `await ledger.close()`, then close the store.
// The cost policy these implement is docs/costs.md.
export { Ledger, LedgerCloseError, newLedgerId, type InFlightListener, type LedgerListener, type LedgerOptions, type LedgerStore, type UsageLog } from './ledger.ts';
export { asksForOutput, DEFAULT_OUTPUT_RESERVATION, expectedOutputTokens, reservedUsage, type ReservedUsage } from './reservation.ts';
export { INTERRUPTED_BY_RESTART, INTERRUPTED_BY_SHUTDOWN, settleInterruptedCalls, type InterruptedCallsOptions } from './interrupted.ts';
export { isUsageContext, ledgerRowFromAttempt, outcomeOf, priceFor, type LedgerOutcome, type PricedRow, type UsageContext } from './policy.ts';
export { Budgets, type BudgetCheck, type BudgetLedger, type BudgetOptions, type BudgetScope, type BudgetStore, type MonthSpend } from './budgets.ts';
export { CurrencyRates, DEFAULT_USD_RATES, formatNanoAmount, formatUsd, nanosToUsd, usdToNanos, type UsdRates } from './money.ts';
export { usageReport, type UsageGroup, type UsageGroupBy, type UsageQuery, type UsageReport, type UsageReportOptions } from './report.ts';
