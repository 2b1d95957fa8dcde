import { describe, expect, it } from 'vitest';
import type { ExperimentTurnRow } from './experiment-store.ts';
import { switchingReport, type ConversationOutcome, type ReportInput } from './report.ts';

/** One A/B turn of `arm` in conversation `conv`, costing `usd` dollars. */
function turn(arm: string, conv: string, usd: number, i: number): ExperimentTurnRow {
  return {
    app_id: 'a', id: `t${arm}${i}`, experiment_id: 'e', arm, conversation_id: conv, message_id: `m${arm}${i}`, model: arm === 'live' ? 'gpt-4o-mini' : 'doubao-lite',
    failed: false, error: null, cost_nanos: usd * 1e9, currency: 'USD', cost_usd_nanos: usd * 1e9, judge_usd_nanos: 0,
    ttft_ms: 300, latency_ms: 900, output_tokens: 40, support: null, cited: false, judge_grounded: null, preference: null, created_at: i,
  };
}

/**
 * 200 support conversations per arm, one turn each: the live model resolves 150 of its conversations (75%), the
 * candidate 90 (45%), with more reopens and lower ratings; the candidate costs half as much per turn.
 */
function abInput(locale?: 'en' | 'zh-CN'): ReportInput {
  const turns: ExperimentTurnRow[] = [];
  const outcomes = new Map<string, ConversationOutcome>();
  for (let i = 0; i < 200; i++) {
    turns.push(turn('live', `live-${i}`, 0.002 + (i % 5) * 0.0001, i));
    outcomes.set(`live-${i}`, { handedOff: i >= 150, resolvedByAi: i < 150, ended: true, csat: i % 4 === 0 ? 4 + (i % 8 === 0 ? 1 : 0) : null, reopened: i % 50 === 0 });
    turns.push(turn('c1', `cand-${i}`, 0.001 + (i % 5) * 0.00005, i));
    outcomes.set(`cand-${i}`, { handedOff: i >= 90, resolvedByAi: i < 90, ended: true, csat: i % 4 === 0 ? 2 + (i % 8 === 0 ? 1 : 0) : null, reopened: i % 5 === 0 });
  }
  return {
    experiment_id: 'e', agent_id: 'ag', agent_name: 'Support Bot', mode: 'ab', live_model: 'gpt-4o-mini',
    candidates: [{ id: 'c1', name: 'Doubao', model: 'doubao-lite', share: 0.5, stopped_reason: null }],
    turns, turns_per_day: 200, min_detectable_effect: 0.1, outcomes, now: 1, ...(locale && { locale }),
  };
}

describe('switching report with support outcomes', () => {
  it('compares resolution, rating and reopens per conversation, and rejects a cheaper model that resolves less', () => {
    const [c] = switchingReport(abInput()).candidates;
    const metric = (name: string) => c!.metrics.find((m) => m.metric === name)!;
    expect(metric('resolution_rate').live.value).toBe(0.75);
    expect(metric('resolution_rate').candidate.value).toBe(0.45);
    expect(metric('resolution_rate').difference.significant).toBe(true);
    expect(metric('handoff_rate').candidate.value).toBe(0.55);
    expect(metric('reopen_rate').live.value).toBe(0.02);
    expect(metric('reopen_rate').candidate.value).toBe(0.2);
    expect(metric('csat').live.n).toBe(50);
    expect(metric('csat').live.value).toBe(4.5);
    expect(metric('csat').candidate.value).toBe(2.5);
    expect(c!.verdict).toBe('reject');
    expect(c!.recommendation).toMatch(/^Keep gpt-4o-mini: doubao-lite is significantly worse in .*resolution by the AI \(75% vs 45%, p < 0\.001\)/);
    expect(c!.recommendation).toContain('customer rating (4.50 vs 2.50');
    // Cost per resolved conversation: every turn of the arm over the conversations the AI resolved.
    const liveTotal = 200 * 0.002 + 40 * (0 + 1 + 2 + 3 + 4) * 0.0001;
    expect(c!.cost.live_per_resolved_usd).toBeCloseTo(liveTotal / 150, 6);
    const candTotal = 200 * 0.001 + 40 * (0 + 1 + 2 + 3 + 4) * 0.00005;
    expect(c!.cost.candidate_per_resolved_usd).toBeCloseTo(candTotal / 90, 6);
    // And in the currency billed, exact: the same USD here, to the nano-dollar.
    expect(c!.cost.live_per_resolved).toEqual([{ currency: 'USD', amount: (liveTotal / 150).toFixed(9).replace(/0+$/, ''), usd: Math.round((liveTotal / 150) * 1e6) / 1e6 }]);
  });

  it('writes the recommendation in Chinese when asked', () => {
    const report = switchingReport(abInput('zh-CN'));
    expect(report.locale).toBe('zh-CN');
    expect(report.candidates[0]!.recommendation).toMatch(/^保留 gpt-4o-mini：doubao-lite 在.*AI 解决率（75% 对 45%，p < 0\.001）.*上明显更差（n = 200）。$/);
  });

  it('leaves the outcome metrics out of a shadow report', () => {
    const report = switchingReport({ ...abInput(), mode: 'shadow' });
    expect(report.candidates[0]!.metrics.map((m) => m.metric)).not.toContain('resolution_rate');
    expect(report.candidates[0]!.cost.live_per_resolved_usd).toBeUndefined();
  });
});
