// A run's summary: each figure with its 95% interval and sample size, the
// candidate's grounding and citations beside the reference's (the live answer
// of the same items), and the judge's preference with the sign test. The
// statistics are the switching report's (experiments room), not a copy.
import type { DatasetRunSummary } from '@warbler/protocol';
import { meanInterval, signTest, twoProportionZ, welch, wilson } from '../experiments/index.ts';
import type { DatasetResultRow } from './dataset-store.ts';

const rate = (k: number, n: number) => ({ n, k, rate: n === 0 ? null : k / n, ci: wilson(k, n) });
const usd = (nanos: number) => Math.round(nanos / 1e3) / 1e6;

export function runSummary(items: number, results: readonly DatasetResultRow[]): DatasetRunSummary {
  const answered = results.filter((r) => !r.failed);
  const candidateSupport = answered.flatMap((r) => (r.support === null ? [] : [r.support]));
  // The reference side of the same items the candidate answered, so both columns cover one set.
  const referenceSupport = answered.flatMap((r) => (r.reference_support === null ? [] : [r.reference_support]));
  const cited = answered.filter((r) => r.cited).length;
  const referenceCited = answered.filter((r) => r.reference_cited).length;
  const judged = answered.filter((r) => r.judge_grounded !== null);
  const prefs = answered.flatMap((r) => (r.preference === null ? [] : [r.preference]));
  const wins = prefs.filter((p) => p > 0).length;
  const losses = prefs.filter((p) => p < 0).length;
  const costs = results.flatMap((r) => (r.cost_usd_nanos === null ? [] : [r.cost_usd_nanos / 1e9]));
  const diff = (t: ReturnType<typeof welch>) => t && { estimate: t.estimate, ci: t.ci, p: t.p };
  return {
    items,
    answered: answered.length,
    failure_rate: rate(results.length - answered.length, results.length),
    cost_usd: meanInterval(costs),
    total_cost_usd: usd(results.reduce((s, r) => s + (r.cost_usd_nanos ?? 0), 0)),
    judge_cost_usd: usd(results.reduce((s, r) => s + r.judge_usd_nanos, 0)),
    ttft_ms: meanInterval(answered.flatMap((r) => (r.ttft_ms === null ? [] : [r.ttft_ms]))),
    latency_ms: meanInterval(answered.map((r) => r.latency_ms)),
    output_tokens: meanInterval(answered.map((r) => r.output_tokens)),
    grounding: { candidate: meanInterval(candidateSupport), reference: meanInterval(referenceSupport), difference: diff(welch(referenceSupport, candidateSupport)) },
    citations: {
      candidate: rate(cited, answered.length), reference: rate(referenceCited, answered.length),
      difference: diff(twoProportionZ(referenceCited, answered.length, cited, answered.length)),
    },
    judge_grounded: rate(judged.filter((r) => r.judge_grounded).length, judged.length),
    preference: { wins, losses, ties: prefs.length - wins - losses, win_rate: rate(wins, prefs.length), p: prefs.length === 0 ? null : signTest(wins, losses) },
  };
}
