// The switching report's plain sentences, in each language the console
// speaks. The numbers and model names are the same in every language; only
// the words around them change, so each sentence is a small function of them.
import type { MetricName, ReportLocale } from '@warbler/protocol';

export interface ReportWords {
  label: Record<MetricName, string>;
  /** `a`, `b` and `c` as a list ("a, b and c" / "a、b和c"). */
  list(items: string[]): string;
  worseIn(metric: string, live: string, candidate: string, p: string): string;
  judgePreferredCurrent(losses: number, wins: number, p: string): string;
  reject(live: string, candidate: string, reasons: string, n: string): string;
  notEnough(more: string, n: string, required: string): string;
  unchanged(metrics: string, n: string, p: string): string;
  preference: string;
  cheaper(agent: string, candidate: string, pct: string, plusMinus: string, unchanged: string): string;
  preferred(agent: string, candidate: string, wins: number, losses: number, p: string, moreCost: string | null): string;
  keep(candidate: string, cost: CostWord, unchanged: string): string;
}

export type CostWord = { kind: 'unknown' } | { kind: 'same' } | { kind: 'more' | 'less'; pct: string };

const en: ReportWords = {
  label: {
    cost_per_turn_usd: 'cost', ttft_ms: 'time to first token', latency_ms: 'latency', output_tokens: 'output length',
    failure_rate: 'failure rate', grounding_score: 'grounding', citation_rate: 'citations', judge_grounded_rate: 'grounding (judge)',
    negative_feedback_rate: 'negative feedback', handoff_rate: 'handoff rate',
    resolution_rate: 'resolution by the AI', csat: 'customer rating', reopen_rate: 'reopen rate',
  },
  list: (items) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`),
  worseIn: (metric, live, candidate, p) => `${metric} (${live} vs ${candidate}, ${p})`,
  judgePreferredCurrent: (losses, wins, p) => `the judge preferred the current answers (${losses} to ${wins}, ${p})`,
  reject: (live, candidate, reasons, n) => `Keep ${live}: ${candidate} is significantly worse in ${reasons} (n = ${n}).`,
  notEnough: (more, n, required) => `Not enough data yet: ${more} more turns needed (${n} of ${required}).`,
  unchanged: (metrics, n, p) => `no significant change in ${metrics} (n = ${n}, p = ${p})`,
  preference: 'preference',
  cheaper: (agent, candidate, pct, pm, unchanged) => `Switching ${agent} to ${candidate} would cut cost ${pct}${pm ? ` (±${pm})` : ''} with ${unchanged}.`,
  preferred: (agent, candidate, wins, losses, p, more) =>
    `Switching ${agent} to ${candidate} would give answers the judge prefers (${wins} to ${losses}, ${p})${more ? ` at ${more} more cost` : ''}.`,
  keep: (candidate, cost, unchanged) => {
    const word = cost.kind === 'unknown' ? 'an unknown cost' : cost.kind === 'same' ? 'about the same' : `${cost.pct} ${cost.kind}`;
    return `No reason to switch: ${candidate} costs ${word} with ${unchanged}.`;
  },
};

const zh: ReportWords = {
  label: {
    cost_per_turn_usd: '费用', ttft_ms: '首字延迟', latency_ms: '延迟', output_tokens: '输出长度',
    failure_rate: '失败率', grounding_score: '依据性', citation_rate: '引用率', judge_grounded_rate: '依据性（评审）',
    negative_feedback_rate: '点踩率', handoff_rate: '转人工率',
    resolution_rate: 'AI 解决率', csat: '客户评分', reopen_rate: '重新打开率',
  },
  list: (items) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join('、')}和${items.at(-1)}`),
  worseIn: (metric, live, candidate, p) => `${metric}（${live} 对 ${candidate}，${p}）`,
  judgePreferredCurrent: (losses, wins, p) => `评审更偏好当前的回答（${losses} 比 ${wins}，${p}）`,
  reject: (live, candidate, reasons, n) => `保留 ${live}：${candidate} 在${reasons}上明显更差（n = ${n}）。`,
  notEnough: (more, n, required) => `数据还不够：还需要 ${more} 轮（已有 ${n} / ${required}）。`,
  unchanged: (metrics, n, p) => `${metrics}没有显著变化（n = ${n}，p = ${p}）`,
  preference: '偏好',
  cheaper: (agent, candidate, pct, pm, unchanged) => `把 ${agent} 换成 ${candidate} 可降低 ${pct}${pm ? `（±${pm}）` : ''}的费用，且${unchanged}。`,
  preferred: (agent, candidate, wins, losses, p, more) =>
    `把 ${agent} 换成 ${candidate} 会得到评审更偏好的回答（${wins} 比 ${losses}，${p}）${more ? `，费用多 ${more}` : ''}。`,
  keep: (candidate, cost, unchanged) => {
    const word = cost.kind === 'unknown' ? '未知' : cost.kind === 'same' ? '基本相同' : `${cost.kind === 'more' ? '多' : '少'} ${cost.pct}`;
    return `没有切换的理由：${candidate} 的费用${word}，且${unchanged}。`;
  },
};

export function reportWords(locale: ReportLocale | undefined): ReportWords {
  return locale === 'zh-CN' ? zh : en;
}
