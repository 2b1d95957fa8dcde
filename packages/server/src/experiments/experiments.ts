// Experiments per agent. The runtime tells this room of every live turn
// (observe, synchronous and cheap) and asks it which settings answer a
// conversation (variantFor, for A/B splits). Shadow work runs in the
// background behind live replies, through the router, on the experiment's
// own daily budget, and only ever produces rows for the report.
import type {
  Experiment, ExperimentCandidate, ExperimentCreateParsed, ExperimentGuards, ExperimentStop, ReportLocale, SwitchingReport,
} from '@warbler/protocol';
import { ROUTE_SUBJECT_PREFIX } from '@warbler/protocol';
import { WarblerError } from '../errors.ts';
import { randomBytes } from 'node:crypto';
import { costOf, type ChatRequest, type LlmProvider, type ModelPrice, type RouterCallOptions, type Usage } from '../llm/index.ts';
import type { Agent } from '../agents/index.ts';
import type { CurrencyRates } from '../usage/index.ts';
import type { ExperimentRow, ExperimentStore, ExperimentTurnRow } from './experiment-store.ts';
import { lexicalGrounding } from './grounding.ts';
import { judgeGrounding, judgePreference, type AskJudge } from './judge.ts';
import { replayTurn, type LiveTurn } from './replay.ts';
import { switchingReport, type ConversationOutcome } from './report.ts';
import { ShadowQueue, type ShadowQueueOptions } from './shadow-queue.ts';

type Router = LlmProvider & {
  chat(request: ChatRequest, options?: RouterCallOptions): ReturnType<LlmProvider['chat']>;
  complete(request: ChatRequest, options?: RouterCallOptions): ReturnType<LlmProvider['complete']>;
};

/** A /v1 chat call as the gateway reports it (structurally its GatewayTurn). */
export interface RouteCall {
  appId: string;
  keyId: string | null;
  requestId: string;
  request: ChatRequest;
  answer: string;
  usage: Usage;
  model: string;
  ttftMs: number | null;
  latencyMs: number;
}

export interface ExperimentsDeps {
  store: ExperimentStore;
  router: Router;
  prices: { lookup(model: string): ModelPrice | undefined };
  rates: () => Pick<CurrencyRates, 'toUsdNanos'>;
  /** The agent as the runtime knows it (for its name, model and prompt). */
  agent: (appId: string, agentId: string) => Agent | undefined;
  /** Thumbs on replies, by message id (A/B negative-feedback guard and report). */
  feedback: (appId: string, messageIds: string[]) => Promise<Map<string, 'up' | 'down'>>;
  /** Whether the gateway serves a model (for experiments on a route); absent: any name is taken. */
  serves?: (model: string) => boolean;
  /** Support outcomes of conversations (A/B handoff guard and report); conversations that are not support ones are left out. */
  outcomes?: (appId: string, conversationIds: string[]) => Promise<Map<string, ConversationOutcome>>;
  onError: (err: unknown, where: string) => void;
  queue?: Partial<Omit<ShadowQueueOptions, 'onError'>>;
  random?: () => number;
  now?: () => number;
}

/** What an experiment is set to, as the wire's Experiment names it; stored as JSON in its row. */
type Settings = Pick<Experiment, 'candidates' | 'sample_rate' | 'max_turns_per_minute' | 'daily_budget_usd' | 'judge_model' | 'min_detectable_effect' | 'guards'>;

type Counters = Experiment['counters'];

/** An A/B arm's turns on this node: failures, its latest replies (thumbs) and conversations (handoffs). */
interface ArmTally {
  turns: number;
  failures: number;
  recent: string[];
  conversations: Set<string>;
}

interface Running {
  row: ExperimentRow;
  settings: Settings;
  counters: Counters;
  dirty: boolean;
  /** nano-USD spent by shadow work on `day` (UTC), and the most one call has cost (held back before each call). */
  spend: { day: string; usdNanos: number; reserve: number };
  minute: { start: number; count: number };
  /** A/B: each arm's turns and failures on this node, and its latest reply ids (the feedback guard reads them). */
  arms: Map<string, ArmTally>;
  /** Shadow calls of this experiment under way: each holds back the dearest call so far from the budget. */
  inFlight: number;
}

const FLUSH_MS = 2_000;
const ASSIGNMENT_CACHE = 10_000;
const FEEDBACK_EVERY = 10;
const MAX_RUNNING_PER_APP = 50;

export class Experiments {
  private readonly byAgent = new Map<string, Running[]>();
  private readonly byId = new Map<string, Running>();
  private readonly assignments = new Map<string, string>();
  private readonly queue: ShadowQueue;
  private readonly random: () => number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ExperimentsDeps) {
    this.queue = new ShadowQueue({ ...deps.queue, onError: (err) => deps.onError(err, 'shadow replay') });
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? Date.now;
  }

  /** Loads running experiments (at start) and begins writing counters in the background. */
  async start(): Promise<void> {
    for (const row of await this.deps.store.running()) await this.track(row);
    this.timer ??= setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Drops shadow work still waiting, lets running replays end, and writes the counters. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.close();
    await this.flush();
  }

  /** Resolves when no shadow work waits or runs (tests, the bench). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  async create(appId: string, input: ExperimentCreateParsed): Promise<Experiment> {
    const subject = await this.subjectOf(appId, input);
    const running = [...this.byId.values()].filter((r) => r.row.app_id === appId);
    if (running.length >= MAX_RUNNING_PER_APP) throw new WarblerError('rate_limited', `This app already runs ${MAX_RUNNING_PER_APP} experiments; stop one first.`);
    if (input.mode === 'ab' && running.some((r) => r.row.agent_id === subject && r.row.mode === 'ab')) {
      throw new WarblerError('conflict', 'This agent already has an A/B split running; stop it before starting another (one conversation can only have one answerer).');
    }
    if (input.mode === 'ab' && input.candidates.reduce((s, c) => s + c.share, 0) > 1) {
      throw new WarblerError('bad_request', 'The shares of an A/B split add up to more than 1: the rest of the conversations stay with the current model, so keep the sum at 1 or below.');
    }
    const now = this.now();
    const settings: Settings = {
      candidates: input.candidates.map((c, i) => ({
        id: `c${i + 1}`, name: c.name ?? c.model, model: c.model, share: c.share, stopped_reason: null,
        ...(c.system_prompt !== undefined && { system_prompt: c.system_prompt }),
        ...(c.temperature !== undefined && { temperature: c.temperature }),
        ...(c.knowledge_base_ids !== undefined && { knowledge_base_ids: c.knowledge_base_ids }),
      })),
      sample_rate: input.sample_rate, max_turns_per_minute: input.max_turns_per_minute, daily_budget_usd: input.daily_budget_usd,
      judge_model: input.judge_model ?? null, min_detectable_effect: input.min_detectable_effect, guards: input.guards,
    };
    const row: ExperimentRow = {
      app_id: appId, id: rowId('exp'), agent_id: subject, name: input.name, mode: input.mode, status: 'running', stopped_reason: null,
      settings: JSON.stringify(settings), counters: JSON.stringify(emptyCounters()), created_at: now, updated_at: now,
    };
    await this.deps.store.insert(row);
    return this.view(await this.track(row));
  }

  /** The agent's id, or `route:<model>` for a gateway route (a model the gateway serves). */
  private async subjectOf(appId: string, input: ExperimentCreateParsed): Promise<string> {
    if (input.route !== undefined) {
      if (this.deps.serves && !this.deps.serves(input.route)) {
        throw new WarblerError('not_found', `The gateway serves no model ${input.route}; name one of GET /v1/models.`);
      }
      return `${ROUTE_SUBJECT_PREFIX}${input.route}`;
    }
    const agent = this.deps.agent(appId, input.agent_id!);
    if (!agent) throw new WarblerError('not_found', `No agent ${input.agent_id} in this app; create the agent first, or check its id.`);
    return agent.id;
  }

  async list(appId: string, agentId?: string): Promise<Experiment[]> {
    return (await this.deps.store.list(appId, agentId)).map((row) => this.view(this.byId.get(row.id) ?? parse(row)));
  }

  async get(appId: string, id: string): Promise<Experiment> {
    return this.view(await this.load(appId, id));
  }

  /** The kill switch: stops one candidate, or the whole experiment. */
  async stop(appId: string, id: string, input: ExperimentStop): Promise<Experiment> {
    const run = await this.load(appId, id);
    const reason = input.reason?.trim() || 'stopped by an operator';
    if (input.candidate_id) {
      const c = run.settings.candidates.find((x) => x.id === input.candidate_id);
      if (!c) throw new WarblerError('not_found', `No candidate ${input.candidate_id} in this experiment; its candidates are ${run.settings.candidates.map((x) => x.id).join(', ')}.`);
      c.stopped_reason ??= reason;
      if (run.settings.candidates.every((x) => x.stopped_reason)) this.end(run, 'every candidate was stopped');
    } else {
      this.end(run, reason);
    }
    await this.save(run);
    return this.view(run);
  }

  async report(appId: string, id: string, locale?: ReportLocale): Promise<SwitchingReport> {
    const run = await this.load(appId, id);
    const turns = await this.deps.store.turns(appId, id);
    const agent = this.deps.agent(appId, run.row.agent_id);
    const route = routeOf(run.row.agent_id);
    const feedback = run.row.mode === 'ab' ? await this.deps.feedback(appId, turns.map((t) => t.message_id)) : undefined;
    const outcomes = run.row.mode === 'ab' ? await this.deps.outcomes?.(appId, [...new Set(turns.map((t) => t.conversation_id))].slice(-2_000)) : undefined;
    const days = Math.max(this.now() - run.row.created_at, 3_600_000) / 86_400_000;
    return switchingReport({
      experiment_id: id, agent_id: run.row.agent_id, agent_name: route !== null ? `/v1 ${route}` : agent?.config.name ?? run.row.agent_id, mode: run.row.mode,
      live_model: route ?? agent?.config.model ?? 'the current model', candidates: run.settings.candidates, turns,
      turns_per_day: run.counters.live_turns / days, min_detectable_effect: run.settings.min_detectable_effect, feedback, outcomes, now: this.now(),
      ...(locale && { locale }),
    });
  }

  /**
   * Which settings answer this conversation: an A/B candidate's for the share
   * of new conversations given to it (sticky: the first choice is stored), the
   * agent's own otherwise. Never throws: a failure here answers with the agent.
   */
  async variantFor(agent: Agent, conversation: { id: string; created_at: number }): Promise<{ agent: Agent; arm: LiveTurn['arm'] } | undefined> {
    const run = this.byAgent.get(agentKey(agent.app_id, agent.id))?.find((r) => r.row.mode === 'ab' && r.row.status === 'running');
    if (!run) return undefined;
    try {
      const arm = await this.armOf(run, conversation);
      const c = run.settings.candidates.find((x) => x.id === arm && !x.stopped_reason);
      if (!c) return { agent, arm: { experiment_id: run.row.id, candidate_id: 'live' } };
      const config = {
        ...agent.config, model: c.model,
        ...(c.system_prompt !== undefined && { system_prompt: c.system_prompt }),
        ...(c.temperature !== undefined && { temperature: c.temperature }),
        ...(c.knowledge_base_ids !== undefined && { knowledge_base_ids: c.knowledge_base_ids }),
      };
      return { agent: { ...agent, config }, arm: { experiment_id: run.row.id, candidate_id: c.id } };
    } catch (err) {
      this.deps.onError(err, `experiment ${run.row.id} choosing an arm`);
      return undefined;
    }
  }

  /**
   * A /v1 chat call on the gateway ended well: shadowed like an agent's turn when an experiment runs on its model
   * (the route). The request is replayed as the client sent it (after the guardrails), its own tool results included;
   * there are no passages, so grounding is left out and the judge compares answers only.
   */
  observeRoute(call: RouteCall): void {
    if (!this.observesRoute(call.appId, call.request.model)) return;
    const subject = `${ROUTE_SUBJECT_PREFIX}${call.request.model}`;
    const lastUser = call.request.messages.findLast((m) => m.role === 'user');
    const question = typeof lastUser?.content === 'string' ? lastUser.content
      : Array.isArray(lastUser?.content) ? lastUser.content.map((p) => (p.type === 'text' ? p.text : '')).join(' ') : '';
    this.observe({
      app_id: call.appId, agent_id: subject, conversation_id: call.requestId, message_id: call.requestId, user_id: call.keyId ?? '',
      question, messages: call.request.messages, tools: call.request.tools ?? [], tool_results: [], passages: [], system_prompt: '',
      ...(call.request.max_tokens !== undefined && { max_tokens: call.request.max_tokens }),
      model: call.model, answer: call.answer, usage: call.usage, ttft_ms: call.ttftMs, latency_ms: call.latencyMs, failed: false, error: null,
    });
  }

  /** Whether an experiment runs on this app's gateway model (the gateway skips the hook otherwise). */
  observesRoute(appId: string, model: string): boolean {
    return this.byAgent.has(agentKey(appId, `${ROUTE_SUBJECT_PREFIX}${model}`));
  }

  /** A live reply ended. Synchronous: the work it starts runs later, behind live replies. */
  observe(turn: LiveTurn): void {
    const runs = this.byAgent.get(agentKey(turn.app_id, turn.agent_id));
    if (!runs) return;
    for (const run of runs) {
      if (run.row.status !== 'running') continue;
      run.counters.live_turns++;
      run.dirty = true;
      if (run.row.mode === 'ab') {
        if (turn.arm?.experiment_id === run.row.id) this.recordAbTurn(run, turn);
      } else {
        this.offerShadow(run, turn);
      }
    }
  }

  // ---- shadow ----

  private offerShadow(run: Running, turn: LiveTurn): void {
    if (turn.failed || this.random() >= run.settings.sample_rate) return;
    const now = this.now();
    if (now - run.minute.start >= 60_000) run.minute = { start: now, count: 0 };
    if (run.minute.count >= run.settings.max_turns_per_minute) {
      run.counters.skipped_rate++;
      return;
    }
    if (!this.canSpend(run)) {
      run.counters.skipped_budget++;
      return;
    }
    const candidates = run.settings.candidates.filter((c) => !c.stopped_reason && this.random() < c.share);
    if (candidates.length === 0) return;
    run.minute.count++;
    if (!this.queue.offer(() => this.shadow(run, turn, candidates))) run.counters.dropped_queue_full++;
  }

  private async shadow(run: Running, turn: LiveTurn, candidates: ExperimentCandidate[]): Promise<void> {
    const live = this.liveRow(run, turn, 'live');
    // Candidates are replayed side by side: a replay waits on the model, not on this node.
    const rows = (await Promise.all(candidates.map((c) => this.replayOne(run, turn, c)))).filter((r): r is ExperimentTurnRow => r !== undefined);
    if (rows.length === 0) return;
    if (run.settings.judge_model && turn.passages.length > 0) await this.judgeLive(run, turn, live);
    await this.deps.store.insertTurns([live, ...rows]);
    run.counters.replayed++;
    run.dirty = true;
  }

  private async replayOne(run: Running, turn: LiveTurn, c: ExperimentCandidate): Promise<ExperimentTurnRow | undefined> {
    // Until one call has shown what a call costs, calls go one at a time, so the budget cannot be overrun by a burst.
    while (run.spend.reserve === 0 && run.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    if (run.row.status !== 'running' || !this.canSpend(run)) {
      run.counters.skipped_budget++;
      return undefined;
    }
    const id = rowId('ext');
    run.inFlight++;
    let result;
    try {
      result = await replayTurn(this.deps.router, turn, c, this.shadowContext(run, turn, id, 'shadow_reply'));
    } finally {
      run.inFlight--;
    }
    const cost = this.cost(result.model, result.usage);
    this.spent(run, cost.usd ?? 0);
    const grounding = lexicalGrounding(result.answer, turn.passages);
    const row: ExperimentTurnRow = {
      app_id: run.row.app_id, id, experiment_id: run.row.id, arm: c.id, conversation_id: turn.conversation_id, message_id: turn.message_id,
      model: result.model, failed: result.failed, error: result.error, cost_nanos: cost.nanos, currency: cost.currency, cost_usd_nanos: cost.usd,
      judge_usd_nanos: 0, ttft_ms: result.ttft_ms, latency_ms: result.latency_ms, output_tokens: result.usage.completionTokens,
      support: result.failed ? null : grounding.support, cited: grounding.cited, judge_grounded: null, preference: null, created_at: this.now(),
    };
    if (!result.failed) await this.judge(run, turn, row, result.answer);
    return row;
  }

  private async judge(run: Running, turn: LiveTurn, row: ExperimentTurnRow, answer: string): Promise<void> {
    const ask = this.judgeFor(run, turn, row.id);
    if (!ask) return;
    try {
      if (turn.passages.length > 0 && this.canSpend(run)) {
        const g = await judgeGrounding(ask, turn.question, turn.passages, answer);
        row.judge_grounded = g.grounded;
        row.judge_usd_nanos += g.usdNanos;
      }
      if (this.canSpend(run)) {
        const p = await judgePreference(ask, turn.question, turn.answer, answer);
        row.preference = p.preference;
        row.judge_usd_nanos += p.usdNanos;
      }
    } catch (err) {
      // A judge that fails leaves the turn unjudged; the replay itself still counts.
      this.deps.onError(err, `experiment ${run.row.id} judging`);
    }
  }

  private async judgeLive(run: Running, turn: LiveTurn, live: ExperimentTurnRow): Promise<void> {
    const ask = this.judgeFor(run, turn, live.id);
    if (!ask || !this.canSpend(run)) return;
    try {
      const g = await judgeGrounding(ask, turn.question, turn.passages, turn.answer);
      live.judge_grounded = g.grounded;
      live.judge_usd_nanos += g.usdNanos;
    } catch (err) {
      this.deps.onError(err, `experiment ${run.row.id} judging`);
    }
  }

  private judgeFor(run: Running, turn: LiveTurn, rowId: string): AskJudge | undefined {
    const model = run.settings.judge_model;
    if (!model) return undefined;
    return async (messages) => {
      const done = await this.deps.router.complete({ model, messages, max_tokens: 8, temperature: 0 }, { context: this.shadowContext(run, turn, rowId, 'judge') });
      const usd = this.cost(done.model ?? model, done.usage).usd ?? 0;
      this.spent(run, usd);
      return { text: done.text, usdNanos: usd };
    };
  }

  /** Shadow calls are the experiment's: no agent_id, so no agent budget ever counts them; request_id links the ledger row to the turn row. */
  private shadowContext(run: Running, turn: LiveTurn, rowId: string, purpose: string) {
    return {
      source: 'shadow', app_id: run.row.app_id, agent_id: null, user_id: null,
      conversation_id: turn.conversation_id, message_id: turn.message_id, request_id: rowId, purpose,
    };
  }

  // ---- A/B ----

  private recordAbTurn(run: Running, turn: LiveTurn): void {
    const arm = turn.arm!.candidate_id;
    const row = this.liveRow(run, turn, arm);
    void this.deps.store.insertTurns([row]).catch((err) => this.deps.onError(err, `experiment ${run.row.id} recording a turn`));
    if (arm === 'live') return;
    const stats = run.arms.get(arm) ?? { turns: 0, failures: 0, recent: [], conversations: new Set<string>() };
    run.arms.set(arm, stats);
    stats.turns++;
    if (turn.failed) stats.failures++;
    stats.recent.push(turn.message_id);
    if (stats.recent.length > 500) stats.recent.shift();
    if (stats.conversations.size < 500) stats.conversations.add(turn.conversation_id);
    void this.guard(run, arm, stats).catch((err) => this.deps.onError(err, `experiment ${run.row.id} guard`));
  }

  /** Stops an A/B candidate whose error rate or negative feedback crosses its guard. */
  private async guard(run: Running, arm: string, stats: ArmTally): Promise<void> {
    const g = run.settings.guards;
    const c = run.settings.candidates.find((x) => x.id === arm);
    if (!c || c.stopped_reason || stats.turns < g.min_turns) return;
    const errorRate = stats.failures / stats.turns;
    if (errorRate > g.max_error_rate) {
      return this.trip(run, c, `guard: error rate ${pct(errorRate)} over ${pct(g.max_error_rate)} after ${stats.turns} turns`);
    }
    // Every turn while an arm is young (a bad candidate is stopped early), every tenth after that: each check reads the store.
    if (stats.turns > 50 && stats.turns % FEEDBACK_EVERY !== 0) return;
    const outcomes = await this.deps.outcomes?.(run.row.app_id, [...stats.conversations]);
    if (outcomes && outcomes.size > 0) {
      const handedOff = [...outcomes.values()].filter((o) => o.handedOff).length / outcomes.size;
      if (handedOff > g.max_handoff_rate) {
        return this.trip(run, c, `guard: handoff rate ${pct(handedOff)} over ${pct(g.max_handoff_rate)} after ${stats.turns} turns`);
      }
    }
    const thumbs = await this.deps.feedback(run.row.app_id, stats.recent);
    const down = [...thumbs.values()].filter((v) => v === 'down').length;
    const rate = down / stats.recent.length;
    if (rate > g.max_negative_feedback_rate) {
      await this.trip(run, c, `guard: negative feedback ${pct(rate)} over ${pct(g.max_negative_feedback_rate)} after ${stats.turns} turns`);
    }
  }

  private async trip(run: Running, c: ExperimentCandidate, reason: string): Promise<void> {
    c.stopped_reason ??= reason;
    if (run.settings.candidates.every((x) => x.stopped_reason)) this.end(run, 'every candidate was stopped');
    await this.save(run);
  }

  private async armOf(run: Running, conversation: { id: string; created_at: number }): Promise<string> {
    const k = `${run.row.id}\u0000${conversation.id}`;
    const cached = this.assignments.get(k);
    if (cached) return cached;
    let arm = await this.deps.store.assignment(run.row.app_id, run.row.id, conversation.id);
    // Conversations already going when the split began stay with the current model: a customer never sees the answerer change mid-way.
    if (!arm && conversation.created_at < run.row.created_at) return 'live';
    if (!arm) {
      let r = this.random();
      arm = 'live';
      for (const c of run.settings.candidates) {
        if (c.stopped_reason) continue;
        if (r < c.share) {
          arm = c.id;
          break;
        }
        r -= c.share;
      }
      arm = await this.deps.store.assign(run.row.app_id, run.row.id, conversation.id, arm, this.now());
    }
    if (this.assignments.size >= ASSIGNMENT_CACHE) this.assignments.delete(this.assignments.keys().next().value!);
    this.assignments.set(k, arm);
    return arm;
  }

  // ---- shared ----

  private liveRow(run: Running, turn: LiveTurn, arm: string): ExperimentTurnRow {
    const cost = this.cost(turn.model, turn.usage);
    const grounding = lexicalGrounding(turn.answer, turn.passages);
    return {
      app_id: run.row.app_id, id: rowId('ext'), experiment_id: run.row.id, arm, conversation_id: turn.conversation_id, message_id: turn.message_id,
      model: turn.model, failed: turn.failed, error: turn.error, cost_nanos: cost.nanos, currency: cost.currency, cost_usd_nanos: cost.usd,
      judge_usd_nanos: 0, ttft_ms: turn.ttft_ms, latency_ms: turn.latency_ms, output_tokens: turn.usage.completionTokens,
      support: turn.failed ? null : grounding.support, cited: grounding.cited, judge_grounded: null, preference: null, created_at: this.now(),
    };
  }

  private cost(model: string, usage: Usage): { nanos: number; currency: string; usd: number | null } {
    const price = this.deps.prices.lookup(model);
    if (!price) return { nanos: 0, currency: 'USD', usd: 0 };
    const c = costOf(usage, price);
    const usd = this.deps.rates().toUsdNanos(c.currency, BigInt(c.nanos));
    return { nanos: Number(c.nanos), currency: c.currency, usd: usd === undefined ? null : Number(usd) };
  }

  /** Room for one more shadow call today: what was spent plus the dearest call so far stays within the daily budget. */
  private canSpend(run: Running): boolean {
    this.rollDay(run);
    return run.spend.usdNanos + run.spend.reserve * (run.inFlight + 1) < run.settings.daily_budget_usd * 1e9;
  }

  private spent(run: Running, usdNanos: number): void {
    this.rollDay(run);
    run.spend.usdNanos += usdNanos;
    run.spend.reserve = Math.max(run.spend.reserve, usdNanos);
  }

  private rollDay(run: Running): void {
    const day = new Date(this.now()).toISOString().slice(0, 10);
    if (run.spend.day !== day) run.spend = { day, usdNanos: 0, reserve: run.spend.reserve };
  }

  private end(run: Running, reason: string): void {
    run.row.status = 'stopped';
    run.row.stopped_reason ??= reason;
    const k = agentKey(run.row.app_id, run.row.agent_id);
    const left = (this.byAgent.get(k) ?? []).filter((r) => r !== run);
    if (left.length > 0) this.byAgent.set(k, left);
    else this.byAgent.delete(k);
    this.byId.delete(run.row.id);
  }

  private async save(run: Running): Promise<void> {
    run.row.updated_at = this.now();
    run.dirty = false;
    await this.deps.store.update(run.row.app_id, run.row.id, {
      status: run.row.status, stopped_reason: run.row.stopped_reason, settings: JSON.stringify(run.settings),
      counters: JSON.stringify(run.counters), updated_at: run.row.updated_at,
    });
  }

  private async flush(): Promise<void> {
    for (const run of this.byId.values()) {
      if (!run.dirty) continue;
      run.dirty = false;
      await this.deps.store.update(run.row.app_id, run.row.id, { counters: JSON.stringify(run.counters) })
        .catch((err) => this.deps.onError(err, `experiment ${run.row.id} counters`));
    }
  }

  private async load(appId: string, id: string): Promise<Running> {
    const known = this.byId.get(id);
    if (known && known.row.app_id === appId) return known;
    const row = await this.deps.store.get(appId, id);
    if (!row) throw new WarblerError('not_found', `No experiment ${id} in this app.`);
    return parse(row);
  }

  private async track(row: ExperimentRow): Promise<Running> {
    const run = parse(row);
    const dayStart = Date.parse(`${run.spend.day}T00:00:00Z`);
    run.spend.usdNanos = await this.deps.store.shadowSpend(row.app_id, row.id, dayStart);
    this.byId.set(row.id, run);
    const k = agentKey(row.app_id, row.agent_id);
    this.byAgent.set(k, [...(this.byAgent.get(k) ?? []), run]);
    return run;
  }

  private view(run: Running): Experiment {
    const { row, settings, counters } = run;
    return {
      id: row.id, app_id: row.app_id, agent_id: row.agent_id, route: routeOf(row.agent_id), name: row.name, mode: row.mode, status: row.status, stopped_reason: row.stopped_reason,
      ...settings, spent_today_usd: Math.round(run.spend.usdNanos / 1e3) / 1e6, counters, created_at: row.created_at, updated_at: row.updated_at,
    };
  }
}

function parse(row: ExperimentRow): Running {
  return {
    row: { ...row }, settings: JSON.parse(row.settings) as Settings, counters: { ...emptyCounters(), ...(JSON.parse(row.counters) as Partial<Counters>) },
    dirty: false, spend: { day: new Date().toISOString().slice(0, 10), usdNanos: 0, reserve: 0 }, minute: { start: 0, count: 0 }, arms: new Map(), inFlight: 0,
  };
}

function emptyCounters(): Counters {
  return { live_turns: 0, replayed: 0, dropped_queue_full: 0, skipped_budget: 0, skipped_rate: 0 };
}

/** Time-ordered ids (index locality), unguessable. */
const rowId = (prefix: string) => `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(12).toString('base64url')}`;
const agentKey = (appId: string, agentId: string) => `${appId}\u0000${agentId}`;
const routeOf = (subject: string) => (subject.startsWith(ROUTE_SUBJECT_PREFIX) ? subject.slice(ROUTE_SUBJECT_PREFIX.length) : null);
const pct = (x: number) => `${Math.round(x * 100)}%`;
