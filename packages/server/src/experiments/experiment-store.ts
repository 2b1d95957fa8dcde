import type { Kysely } from 'kysely';

/** An experiment as stored: its settings as JSON, its counters kept beside them. */
export interface ExperimentRow {
  app_id: string;
  id: string;
  agent_id: string;
  name: string;
  mode: 'shadow' | 'ab';
  status: 'running' | 'stopped';
  stopped_reason: string | null;
  /** ExperimentSettings as JSON (candidates, rates, budget, judge, guards). */
  settings: string;
  /** Counters as JSON (live turns seen, replayed, dropped...). */
  counters: string;
  created_at: number;
  updated_at: number;
}

/**
 * One measured answer: the live agent's (arm 'live') or a candidate's. In
 * shadow mode a candidate's row shares `message_id` with the live row it was
 * replayed from; in A/B mode each row is its own live turn.
 */
export interface ExperimentTurnRow {
  app_id: string;
  id: string;
  experiment_id: string;
  /** 'live' for the current model, else the candidate's id. */
  arm: string;
  conversation_id: string;
  message_id: string;
  model: string;
  failed: boolean;
  error: string | null;
  cost_nanos: number;
  currency: string;
  /** The cost in nano-USD (null when the currency has no rate). */
  cost_usd_nanos: number | null;
  /** What judging this turn cost, in nano-USD (shadow budget). */
  judge_usd_nanos: number;
  ttft_ms: number | null;
  latency_ms: number;
  output_tokens: number;
  /** Lexical support score (0..1); null without retrieved passages. */
  support: number | null;
  cited: boolean;
  judge_grounded: boolean | null;
  /** Pairwise preference of the candidate over live: 1 better, 0 tie, -1 worse; null when not judged. */
  preference: number | null;
  created_at: number;
}

interface Tables {
  experiments: Omit<ExperimentRow, never>;
  experiment_turns: Omit<ExperimentTurnRow, 'failed' | 'cited' | 'judge_grounded'> & { failed: number; cited: number; judge_grounded: number | null };
  experiment_assignments: { app_id: string; experiment_id: string; conversation_id: string; arm: string; created_at: number };
}

/** Most turns a report reads; older ones are left out (the report says how many it used). */
export const REPORT_TURNS = 50_000;

/** The experiments room's tables (migration 0017_experiments). */
export class ExperimentStore {
  private readonly db: Kysely<Tables>;

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<Tables>;
  }

  async insert(row: ExperimentRow): Promise<void> {
    await this.db.insertInto('experiments').values(row).execute();
  }

  async update(appId: string, id: string, patch: Partial<Pick<ExperimentRow, 'status' | 'stopped_reason' | 'settings' | 'counters' | 'updated_at'>>): Promise<void> {
    await this.db.updateTable('experiments').set(patch).where('app_id', '=', appId).where('id', '=', id).execute();
  }

  async get(appId: string, id: string): Promise<ExperimentRow | undefined> {
    const row = await this.db.selectFrom('experiments').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && numbers(row);
  }

  async list(appId: string, agentId?: string): Promise<ExperimentRow[]> {
    let q = this.db.selectFrom('experiments').selectAll().where('app_id', '=', appId);
    if (agentId) q = q.where('agent_id', '=', agentId);
    return (await q.orderBy('created_at', 'desc').limit(200).execute()).map(numbers);
  }

  /** Every running experiment of every app: loaded at start. */
  async running(): Promise<ExperimentRow[]> {
    return (await this.db.selectFrom('experiments').selectAll().where('status', '=', 'running').execute()).map(numbers);
  }

  async insertTurns(rows: ExperimentTurnRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('experiment_turns')
      .values(rows.map((r) => ({ ...r, failed: r.failed ? 1 : 0, cited: r.cited ? 1 : 0, judge_grounded: r.judge_grounded === null ? null : r.judge_grounded ? 1 : 0 })))
      .execute();
  }

  /** The newest turns of an experiment, oldest first. */
  async turns(appId: string, experimentId: string, limit = REPORT_TURNS): Promise<ExperimentTurnRow[]> {
    const rows = await this.db
      .selectFrom('experiment_turns').selectAll()
      .where('app_id', '=', appId).where('experiment_id', '=', experimentId)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.reverse().map((r) => ({
      ...r,
      cost_nanos: Number(r.cost_nanos), cost_usd_nanos: r.cost_usd_nanos === null ? null : Number(r.cost_usd_nanos),
      judge_usd_nanos: Number(r.judge_usd_nanos), ttft_ms: r.ttft_ms === null ? null : Number(r.ttft_ms), latency_ms: Number(r.latency_ms),
      output_tokens: Number(r.output_tokens), support: r.support === null ? null : Number(r.support), created_at: Number(r.created_at),
      failed: Number(r.failed) === 1, cited: Number(r.cited) === 1, judge_grounded: r.judge_grounded === null ? null : Number(r.judge_grounded) === 1,
      preference: r.preference === null ? null : Number(r.preference),
    }));
  }

  /** nano-USD that shadow replays and judging of an experiment spent since `since` (the budget). */
  async shadowSpend(appId: string, experimentId: string, since: number): Promise<number> {
    const rows = await this.db
      .selectFrom('experiment_turns').select(['arm', 'cost_usd_nanos', 'judge_usd_nanos'])
      .where('app_id', '=', appId).where('experiment_id', '=', experimentId).where('created_at', '>=', since).execute();
    let total = 0;
    for (const r of rows) total += (r.arm === 'live' ? 0 : Number(r.cost_usd_nanos ?? 0)) + Number(r.judge_usd_nanos);
    return total;
  }

  async assignment(appId: string, experimentId: string, conversationId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('experiment_assignments').select('arm')
      .where('app_id', '=', appId).where('experiment_id', '=', experimentId).where('conversation_id', '=', conversationId).executeTakeFirst();
    return row?.arm;
  }

  /** Keeps the first arm given to a conversation: another node that assigned it at the same moment wins, and both read it back. */
  async assign(appId: string, experimentId: string, conversationId: string, arm: string, now: number): Promise<string> {
    await this.db
      .insertInto('experiment_assignments')
      .values({ app_id: appId, experiment_id: experimentId, conversation_id: conversationId, arm, created_at: now })
      .onConflict((oc) => oc.columns(['app_id', 'experiment_id', 'conversation_id']).doNothing())
      .execute();
    return (await this.assignment(appId, experimentId, conversationId)) ?? arm;
  }
}

function numbers(row: ExperimentRow): ExperimentRow {
  return { ...row, created_at: Number(row.created_at), updated_at: Number(row.updated_at) };
}
