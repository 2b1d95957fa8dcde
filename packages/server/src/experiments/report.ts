// The switching report: each candidate side by side with the live model, each
// metric with its 95% interval, sample size and a test of the difference, and
// one plain sentence that recommends, rejects, or says how many more turns it
// needs before it can tell (a power calculation, not a guess).
import type {
  CandidateReport, CostFigure, ReportLocale, ExperimentCandidate, ExperimentMode, MetricComparison, MetricEstimate, MetricName, SwitchingReport,
} from '@warbler/protocol';
import { formatNanoAmount } from '../usage/index.ts';
import type { ExperimentTurnRow } from './experiment-store.ts';
import { reportWords, type CostWord } from './report-words.ts';
import { meanInterval, sampleSizeForMeans, sampleSizeForProportions, signTest, summarize, twoProportionZ, welch, wilson } from './stats.ts';

const ALPHA = 0.05;
/** The grounding score's spread assumed when the sample shows less (a handful of identical answers is not proof of no variance). */
const MIN_SCORE_SD = 0.15;

export interface ReportInput {
  experiment_id: string;
  agent_id: string;
  agent_name: string;
  mode: ExperimentMode;
  live_model: string;
  candidates: ExperimentCandidate[];
  turns: ExperimentTurnRow[];
  turns_per_day: number;
  min_detectable_effect: number;
  /** A/B: the thumbs on each live reply, by message id ('down' counts as negative). */
  feedback?: ReadonlyMap<string, 'up' | 'down'>;
  /** A/B: how each support conversation went, by conversation id. */
  outcomes?: ReadonlyMap<string, ConversationOutcome>;
  now: number;
  /** The language of the recommendation sentences (English by default). */
  locale?: ReportLocale;
}

/** How a support conversation went, as the support room recorded it (A/B compares these per arm). */
export interface ConversationOutcome {
  handedOff: boolean;
  /** Ended as resolved by the AI, with no person involved. */
  resolvedByAi: boolean;
  /** Ended at all (resolved by anyone, abandoned, spam): only ended conversations count for the resolution rate. */
  ended: boolean;
  /** The customer's rating, 1–5, when they gave one. */
  csat: number | null;
  reopened: boolean;
}

export function switchingReport(input: ReportInput): SwitchingReport {
  return {
    experiment_id: input.experiment_id, agent_id: input.agent_id, agent_name: input.agent_name, mode: input.mode, live_model: input.live_model,
    generated_at: input.now, locale: input.locale ?? 'en', turns_per_day: round(input.turns_per_day, 1),
    candidates: input.candidates.map((c) => candidateReport(input, c)),
  };
}

/** The live and candidate rows to compare: paired by live message in shadow mode, each arm's own turns in A/B. */
function samples(input: ReportInput, candidateId: string): { live: ExperimentTurnRow[]; candidate: ExperimentTurnRow[] } {
  const candidate = input.turns.filter((t) => t.arm === candidateId);
  if (input.mode === 'ab') return { live: input.turns.filter((t) => t.arm === 'live'), candidate };
  const replayed = new Set(candidate.map((t) => t.message_id));
  return { live: input.turns.filter((t) => t.arm === 'live' && replayed.has(t.message_id)), candidate };
}

function candidateReport(input: ReportInput, c: ExperimentCandidate): CandidateReport {
  const { live, candidate } = samples(input, c.id);
  const metrics = compare(live, candidate, input.feedback, input.mode);
  const outcomes = input.mode === 'ab' && input.outcomes && input.outcomes.size > 0 ? input.outcomes : undefined;
  if (outcomes) metrics.push(...outcomeMetrics(live, candidate, outcomes));
  const prefs = candidate.map((t) => t.preference).filter((p): p is number => p !== null);
  const wins = prefs.filter((p) => p > 0).length;
  const losses = prefs.filter((p) => p < 0).length;
  const preference = prefs.length === 0 ? null : (() => {
    const p = signTest(wins, losses);
    return { wins, losses, ties: prefs.length - wins - losses, win_rate: rate(wins, wins + losses), p: round(p, 4), significant: p < ALPHA };
  })();
  const required = requiredTurns(live, candidate, input.min_detectable_effect);
  const n = Math.min(live.length, candidate.length);
  const cost = { ...costBlock(live, candidate, input.turns_per_day), ...(outcomes && perResolved(live, candidate, outcomes)) };
  const { verdict, sentence } = decide({ input, c, n, required, metrics, preference, cost });
  return {
    candidate_id: c.id, name: c.name, model: c.model, stopped_reason: c.stopped_reason, turns: n, verdict, recommendation: sentence,
    more_turns_needed: Math.max(0, required - n), required_turns: required, metrics, preference, cost,
  };
}

function compare(live: ExperimentTurnRow[], cand: ExperimentTurnRow[], feedback: ReportInput['feedback'], mode: ExperimentMode): MetricComparison[] {
  const ok = (rows: ExperimentTurnRow[]) => rows.filter((r) => !r.failed);
  const out: MetricComparison[] = [
    means('cost_per_turn_usd', 'lower', live, cand, (r) => (r.cost_usd_nanos === null ? null : r.cost_usd_nanos / 1e9)),
    means('ttft_ms', 'lower', ok(live), ok(cand), (r) => r.ttft_ms),
    means('latency_ms', 'lower', ok(live), ok(cand), (r) => r.latency_ms),
    means('output_tokens', 'lower', ok(live), ok(cand), (r) => r.output_tokens),
    rates('failure_rate', 'lower', live, cand, (r) => r.failed),
  ];
  const grounded = (rows: ExperimentTurnRow[]) => ok(rows).filter((r) => r.support !== null);
  if (grounded(live).length + grounded(cand).length > 0) {
    out.push(means('grounding_score', 'higher', grounded(live), grounded(cand), (r) => r.support));
    out.push(rates('citation_rate', 'higher', grounded(live), grounded(cand), (r) => r.cited));
  }
  const judged = (rows: ExperimentTurnRow[]) => ok(rows).filter((r) => r.judge_grounded !== null);
  if (judged(cand).length > 0) out.push(rates('judge_grounded_rate', 'higher', judged(live), judged(cand), (r) => r.judge_grounded === true));
  if (mode === 'ab' && feedback) {
    const rated = (rows: ExperimentTurnRow[]) => rows.filter((r) => feedback.has(r.message_id));
    out.push(rates('negative_feedback_rate', 'lower', rated(live), rated(cand), (r) => feedback.get(r.message_id) === 'down'));
  }
  return out;
}

function means(metric: MetricName, better: 'lower' | 'higher', live: ExperimentTurnRow[], cand: ExperimentTurnRow[], pick: (r: ExperimentTurnRow) => number | null): MetricComparison {
  const a = live.map(pick).filter((v): v is number => v !== null);
  const b = cand.map(pick).filter((v): v is number => v !== null);
  const t = welch(a, b);
  return {
    metric, better, live: estimate(a), candidate: estimate(b),
    difference: { estimate: t ? t.estimate : null, ci: t?.ci ?? null, p: t ? round(t.p, 4) : null, test: 'welch_t', significant: t !== null && t.p < ALPHA },
  };
}

function rates(metric: MetricName, better: 'lower' | 'higher', live: ExperimentTurnRow[], cand: ExperimentTurnRow[], hit: (r: ExperimentTurnRow) => boolean): MetricComparison {
  const k1 = live.filter(hit).length;
  const k2 = cand.filter(hit).length;
  const z = twoProportionZ(k1, live.length, k2, cand.length);
  return {
    metric, better, live: rate(k1, live.length), candidate: rate(k2, cand.length),
    difference: { estimate: z ? z.estimate : null, ci: z?.ci ?? null, p: z ? round(z.p, 4) : null, test: 'two_proportion_z', significant: z !== null && z.p < ALPHA },
  };
}

/**
 * The real outcomes of each arm's support conversations, counted per conversation (not per turn): handed to a
 * person, resolved by the AI (of those that ended), the customer's rating, and reopened after being resolved.
 */
function outcomeMetrics(live: ExperimentTurnRow[], cand: ExperimentTurnRow[], outcomes: ReadonlyMap<string, ConversationOutcome>): MetricComparison[] {
  const live1 = firstTurns(live, outcomes);
  const cand1 = firstTurns(cand, outcomes);
  const of = (r: ExperimentTurnRow) => outcomes.get(r.conversation_id)!;
  const ended = (rows: ExperimentTurnRow[]) => rows.filter((r) => of(r).ended);
  const out = [
    rates('handoff_rate', 'lower', live1, cand1, (r) => of(r).handedOff),
    rates('resolution_rate', 'higher', ended(live1), ended(cand1), (r) => of(r).resolvedByAi),
    rates('reopen_rate', 'lower', live1, cand1, (r) => of(r).reopened),
  ];
  const rated = (rows: ExperimentTurnRow[]) => rows.filter((r) => of(r).csat !== null);
  if (rated(live1).length + rated(cand1).length > 0) out.push(means('csat', 'higher', rated(live1), rated(cand1), (r) => of(r).csat));
  return out;
}

/** One row per support conversation of an arm (its first turn stands for it). */
function firstTurns(rows: ExperimentTurnRow[], outcomes: ReadonlyMap<string, ConversationOutcome>): ExperimentTurnRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => outcomes.has(r.conversation_id) && !seen.has(r.conversation_id) && seen.add(r.conversation_id));
}

/**
 * What an arm's turns cost per support conversation the AI resolved (all the arm's turns in support conversations
 * over the resolved count): in USD, and in each currency the provider billed (exact).
 */
function perResolved(live: ExperimentTurnRow[], cand: ExperimentTurnRow[], outcomes: ReadonlyMap<string, ConversationOutcome>) {
  const of = (rows: ExperimentTurnRow[]) => {
    const inSupport = rows.filter((r) => outcomes.has(r.conversation_id));
    const resolved = firstTurns(inSupport, outcomes).filter((r) => outcomes.get(r.conversation_id)!.resolvedByAi).length;
    if (resolved === 0) return { usd: null, figures: [] };
    const usd = inSupport.some((r) => r.cost_usd_nanos === null) ? null : round(inSupport.reduce((sum, r) => sum + r.cost_usd_nanos!, 0) / 1e9 / resolved, 6);
    return { usd, figures: costPer(inSupport, resolved, 1) };
  };
  const l = of(live);
  const c = of(cand);
  return { live_per_resolved_usd: l.usd, candidate_per_resolved_usd: c.usd, live_per_resolved: l.figures, candidate_per_resolved: c.figures };
}

function estimate(values: number[]): MetricEstimate {
  const m = meanInterval(values);
  return { n: m.n, value: m.mean, ci: m.ci };
}

function rate(k: number, n: number): MetricEstimate {
  return { n, value: n === 0 ? null : k / n, ci: wilson(k, n) };
}

/**
 * Turns needed to see, with 80% power at α 0.05, a change of the minimum
 * detectable effect in the failure rate (from the live rate) and in the
 * grounding score (with the observed spread, at least MIN_SCORE_SD).
 */
export function requiredTurns(live: ExperimentTurnRow[], cand: ExperimentTurnRow[], mde: number): number {
  const p1 = live.length === 0 ? 0 : live.filter((r) => r.failed).length / live.length;
  const p2 = Math.min(1, p1 + mde);
  let n = sampleSizeForProportions(p1, p2 === p1 ? Math.max(0, p1 - mde) : p2);
  const scores = [...live, ...cand].map((r) => r.support).filter((v): v is number => v !== null);
  if (scores.length > 0) {
    const sd = Math.max(Math.sqrt(summarize(scores).variance || 0), MIN_SCORE_SD);
    n = Math.max(n, sampleSizeForMeans(sd, mde));
  }
  return n;
}

function costBlock(live: ExperimentTurnRow[], cand: ExperimentTurnRow[], perDay: number): CandidateReport['cost'] {
  const liveUsd = live.map((r) => r.cost_usd_nanos).filter((v): v is number => v !== null);
  const candUsd = cand.map((r) => r.cost_usd_nanos).filter((v): v is number => v !== null);
  const liveMean = liveUsd.length ? summarize(liveUsd).mean / 1e9 : null;
  const candMean = candUsd.length ? summarize(candUsd).mean / 1e9 : null;
  const t = welch(liveUsd, candUsd);
  const change = liveMean && t ? { estimate: t.estimate / 1e9 / liveMean, ci: t.ci ? ([t.ci[0] / 1e9 / liveMean, t.ci[1] / 1e9 / liveMean] as [number, number]) : null } : { estimate: null, ci: null };
  return {
    live_per_1000_turns: per1000(live), candidate_per_1000_turns: per1000(cand), change,
    monthly_live_usd: liveMean === null ? null : round(liveMean * perDay * 30, 2),
    monthly_candidate_usd: candMean === null ? null : round(candMean * perDay * 30, 2),
  };
}

/** Cost of 1,000 turns in each currency the arm was billed in, exact, and in USD. */
function per1000(rows: ExperimentTurnRow[]): CostFigure[] {
  return costPer(rows, rows.length, 1000);
}

/** The rows' cost per currency, times `times` over `count` (per 1,000 turns, per resolved conversation…), exact, and in USD. */
function costPer(rows: ExperimentTurnRow[], count: number, times: number): CostFigure[] {
  // Over every row's count, not each currency's: an arm that fell back to another provider shows two figures that add up.
  const by = new Map<string, { nanos: number; usd: number | null }>();
  for (const r of rows) {
    const e = by.get(r.currency) ?? { nanos: 0, usd: 0 };
    e.nanos += r.cost_nanos;
    e.usd = e.usd === null || r.cost_usd_nanos === null ? null : e.usd + r.cost_usd_nanos;
    by.set(r.currency, e);
  }
  return [...by].map(([currency, e]) => ({
    currency,
    amount: formatNanoAmount(BigInt(Math.round((e.nanos / count) * times))),
    usd: e.usd === null ? null : round((e.usd / count) * times / 1e9, 6),
  }));
}

const QUALITY: MetricName[] = [
  'failure_rate', 'grounding_score', 'citation_rate', 'judge_grounded_rate', 'negative_feedback_rate', 'handoff_rate', 'resolution_rate', 'csat', 'reopen_rate',
];

interface Decision {
  input: ReportInput;
  c: ExperimentCandidate;
  n: number;
  required: number;
  metrics: MetricComparison[];
  preference: CandidateReport['preference'];
  cost: CandidateReport['cost'];
}

function decide({ input, c, n, required, metrics, preference, cost }: Decision): { verdict: CandidateReport['verdict']; sentence: string } {
  const w = reportWords(input.locale);
  const quality = metrics.filter((m) => QUALITY.includes(m.metric));
  const worse = quality.filter((m) => m.difference.significant && isWorse(m));
  const prefWorse = preference?.significant === true && preference.losses > preference.wins;
  if (worse.length > 0 || prefWorse) {
    const reasons = worse.map((m) => w.worseIn(w.label[m.metric], show(m, 'live'), show(m, 'candidate'), pText(m.difference.p)));
    if (prefWorse) reasons.push(w.judgePreferredCurrent(preference!.losses, preference!.wins, pText(preference!.p)));
    return { verdict: 'reject', sentence: w.reject(input.live_model, c.model, w.list(reasons), fmt(n)) };
  }
  if (n < required) {
    return { verdict: 'not_enough_data', sentence: w.notEnough(fmt(required - n), fmt(n), fmt(required)) };
  }
  const costMetric = metrics.find((m) => m.metric === 'cost_per_turn_usd')!;
  const pMin = Math.min(...quality.map((m) => m.difference.p ?? 1), preference?.p ?? 1);
  const unchanged = w.unchanged(w.list(quality.map((m) => w.label[m.metric]).concat(preference ? [w.preference] : [])), fmt(n), pMin.toFixed(2));
  const change = cost.change.estimate;
  const half = cost.change.ci ? (cost.change.ci[1] - cost.change.ci[0]) / 2 : null;
  const pct = (x: number) => `${Math.abs(Math.round(x * 100))}%`;
  if (costMetric.difference.significant && change !== null && change < 0) {
    return { verdict: 'recommend', sentence: w.cheaper(input.agent_name, c.model, pct(change), half === null ? '' : pct(half), unchanged) };
  }
  if (preference?.significant && preference.wins > preference.losses) {
    return {
      verdict: 'recommend',
      sentence: w.preferred(input.agent_name, c.model, preference.wins, preference.losses, pText(preference.p), change !== null && change > 0 ? pct(change) : null),
    };
  }
  const costWord: CostWord = change === null ? { kind: 'unknown' } : costMetric.difference.significant ? { kind: change > 0 ? 'more' : 'less', pct: pct(change) } : { kind: 'same' };
  return { verdict: 'keep_current', sentence: w.keep(c.model, costWord, unchanged) };
}

function isWorse(m: MetricComparison): boolean {
  const d = m.difference.estimate ?? 0;
  return m.better === 'lower' ? d > 0 : d < 0;
}

function show(m: MetricComparison, side: 'live' | 'candidate'): string {
  const v = m[side].value;
  if (v === null) return '–';
  return m.metric.endsWith('_rate') ? `${Math.round(v * 100)}%` : v.toFixed(2);
}

const pText = (p: number | null) => (p === null ? 'p = –' : p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);
const fmt = (n: number) => n.toLocaleString('en-US');
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The report as CSV: one line per candidate and metric. */
export function reportCsv(report: SwitchingReport): string {
  const head = ['candidate', 'model', 'metric', 'live_n', 'live_value', 'live_ci_low', 'live_ci_high', 'candidate_n', 'candidate_value', 'candidate_ci_low', 'candidate_ci_high', 'difference', 'p', 'test', 'significant', 'verdict'];
  const lines = [head.join(',')];
  const num = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(round(x, 6)));
  for (const c of report.candidates) {
    for (const m of c.metrics) {
      lines.push([
        csv(c.name), csv(c.model), m.metric, m.live.n, num(m.live.value), num(m.live.ci?.[0]), num(m.live.ci?.[1]),
        m.candidate.n, num(m.candidate.value), num(m.candidate.ci?.[0]), num(m.candidate.ci?.[1]),
        num(m.difference.estimate), num(m.difference.p), m.difference.test, m.difference.significant, c.verdict,
      ].join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

function csv(value: string): string {
  // A cell starting with = + - @ is a formula to a spreadsheet: quote it with a leading apostrophe.
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\n]/.test(safe) || safe !== value ? `"${safe.replace(/"/g, '""')}"` : safe;
}
