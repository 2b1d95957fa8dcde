import type { Conversation, HandoffReason, Message, SupportConversation, SupportLocale, SupportOutcome, SupportPushFrame, SupportStatus } from '@warbler/protocol';
import type { Kysely } from 'kysely';
import type { Agent, SupportReplies } from '../agents/index.ts';
import { KeyedSerial, type PublishChatEvent } from '../chat/index.ts';
import { badRequest, forbidden, notFound, WarblerError } from '../errors.ts';
import type { DomainEvents, DomainEventType } from '../events/index.ts';
import type { ToolDefinition } from '../llm/index.ts';
import { asksForPerson } from './asks-for-person.ts';
import { noticeText, type Notice } from './notices.ts';
import { keywordIn, policyFor } from './policy.ts';
import type { ChangeGuard, SupportPatch, SupportRow, SupportStore } from './support-store.ts';
import { supportId, toWire } from './wire.ts';
import { isOpen, nextOpening } from './working-hours.ts';

/** What the support room needs of the chat room. */
export interface SupportChat {
  createSupport(appId: string, customerId: string, agentId: string, title: string | null): Promise<Conversation>;
  /** Adds a person to the conversation (as the app: no membership check). */
  addMember(appId: string, conversationId: string, userId: string): Promise<void>;
  removeMember(appId: string, conversationId: string, userId: string): Promise<void>;
  /** Posts a system message as the agent; a repeated key is stored once (nothing is said twice). */
  notice(appId: string, conversationId: string, agentId: string, key: string, content: { text: string; support: Record<string, unknown> }): Promise<void>;
  userName(appId: string, userId: string): Promise<string | undefined>;
}

/** What the support room needs of the agents. */
export interface SupportAgents {
  /** The agent, when it exists in the app. */
  get(appId: string, agentId: string): Agent | undefined;
  /** The agent a visitor gets when the caller names none. */
  defaultFor(appId: string): Promise<string | undefined>;
  /** Stops the agent's replies streaming in the conversation (a person took it). */
  stopReplies(appId: string, conversationId: string): void;
}

/** An amount in a currency as USD (the operator's rates); undefined when the currency has no rate. */
export type ToUsd = (currency: string, nanos: bigint) => number | undefined;

export interface SupportDeps {
  store: SupportStore;
  chat: SupportChat;
  agents: SupportAgents;
  events: Pick<DomainEvents, 'emit' | 'begin'>;
  publish: PublishChatEvent;
  toUsd: ToUsd;
  now?: () => number;
  onError?: (err: unknown, where: string) => void;
  /** Closes as `abandoned` a conversation whose customer went silent this long (ms); 0 = never. Default 24 h. */
  abandonAfterMs?: number;
  /** The cluster's leases (store.takeLease/dropLease): one node sweeps at a time. */
  lease?: { take(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> };
}

/** What a change writes beside the row, in its transaction. */
interface ChangeEffects {
  /** support_events rows (the report counts them). */
  events?: Array<{ type: string; reason: string | null }>;
  actorId: string | null;
  /** The domain event (webhooks); its data is known before the change, so its outbox rows are ready before the transaction. */
  domain?: { type: DomainEventType; data: Record<string, unknown> };
}

export const HANDOFF_TOOL = 'handoff_to_human';

const HANDOFF_TOOL_DEFINITION: ToolDefinition = {
  type: 'function',
  function: {
    name: HANDOFF_TOOL,
    description:
      'Hand this conversation to a human support person. Call it only when the customer needs something you cannot do ' +
      '(an account change, a refund decision, a complaint) or has asked twice for what you could not answer; ' +
      'not for questions the knowledge passages answer. Say in reason why.',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', description: 'Why a person is needed, in one sentence' } },
      required: ['reason'],
    },
  },
};

/** Statuses in which a person holds (or is about to hold) the conversation: the AI is silent. */
const HELD: readonly SupportStatus[] = ['pending_human', 'human'];
const OPEN: readonly SupportStatus[] = ['bot', 'pending_human', 'human'];
const MAX_DETAIL = 500;
export const DEFAULT_ABANDON_AFTER_MS = 24 * 3_600_000;

/**
 * Support conversations: a customer and an app's agent, handed to a person
 * when the customer asks, the agent calls its tool or a policy fires; held by
 * that person (the AI silent) until they hand it back or resolve it; reopened
 * by the customer's next message. Every change is a compare-and-set on the
 * row's status, so two people claiming at once, or a resolve pressed twice,
 * change it once and say it once.
 */
export class Support {
  /** What the agent runtime asks before and after each reply in a support conversation (app.ts: runtime.useSupport). */
  readonly replies: SupportReplies = {
    handoffTool: HANDOFF_TOOL_DEFINITION,
    mayReply: (agent, conversation, trigger) => this.mayReply(agent, conversation, trigger),
    handoff: (agent, conversation, _trigger, args) => this.toolHandoff(agent, conversation, args),
    replied: (agent, conversation, reply) => this.replied(agent, conversation, reply),
  };
  /** Customer messages taken in (reopen, triggers) once each, however many agents or nodes ask. */
  private readonly intake = new Map<string, Promise<void>>();
  private readonly serial = new KeyedSerial();
  /** Apps with support conversations; every other app's messages pass by without a query. */
  private readonly apps = new Set<string>();
  private refresher: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: SupportDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Learns which apps have support conversations, now and every 30 s (one may have been opened on another node). */
  async start(): Promise<void> {
    const load = async () => {
      for (const appId of await this.deps.store.apps()) this.apps.add(appId);
    };
    await load();
    this.refresher ??= setInterval(() => void load().catch((err: unknown) => this.deps.onError?.(err, 'support: loading apps')), 30_000);
    this.refresher.unref();
  }

  stop(): void {
    clearInterval(this.refresher);
    this.refresher = undefined;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  // ---- opening ----

  /**
   * The visitor's open support conversation with the agent, or a new one.
   * What the widget calls when a visitor opens the chat.
   */
  async openFor(appId: string, customerId: string, options: { agentId?: string; locale?: SupportLocale } = {}): Promise<{ conversation: SupportConversation; created: boolean }> {
    const agentId = options.agentId ?? (await this.deps.agents.defaultFor(appId));
    if (!agentId || !this.deps.agents.get(appId, agentId)) {
      throw new WarblerError('not_found', options.agentId ? `No agent ${options.agentId} in this app: create it first, or leave agent_id out.` : 'This app has no AI agent to answer support conversations: create one first.');
    }
    this.apps.add(appId);
    const existing = await this.deps.store.findOpen(appId, customerId, agentId);
    if (existing) return { conversation: toWire(existing), created: false };
    const locale = options.locale ?? 'en';
    const chat = await this.deps.chat.createSupport(appId, customerId, agentId, locale === 'zh-CN' ? '客服会话' : 'Support');
    const now = this.now();
    const row: SupportRow = {
      app_id: appId, conversation_id: chat.id, customer_id: customerId, agent_id: agentId, status: 'bot', locale,
      assignee_id: null, handoff_reason: null, handoff_detail: null, handoff_at: null, handoffs: 0, reopens: 0, outcome: null,
      no_knowledge_streak: 0, first_customer_at: null, first_response_at: null, first_human_response_at: null, human_messages: 0,
      csat_rating: null, csat_comment: null, csat_at: null, model: null, created_at: now, updated_at: now, resolved_at: null,
      last_customer_at: null, last_response_at: null,
    };
    const events = await this.deps.events.begin([
      { type: 'conversation.created', appId, data: { conversation_id: row.conversation_id, status: row.status, customer_id: customerId, agent_id: agentId } },
    ]);
    const inserted = await this.deps.store.insert(row, (tx) => events.write(tx));
    if (!inserted) {
      // The same visitor opened it twice at once (two tabs): both get the one that won; the spare chat stays empty.
      const winner = await this.deps.store.findOpen(appId, customerId, agentId);
      if (winner) return { conversation: toWire(winner), created: false };
      throw new WarblerError('conflict', 'The support conversation changed while it was being opened; try again.');
    }
    await events.committed();
    await this.pushToStaff(row, 'created');
    return { conversation: toWire(row), created: true };
  }

  async get(appId: string, conversationId: string): Promise<SupportConversation> {
    return toWire(await this.row(appId, conversationId));
  }

  /** The support row, for callers that check access (the customer, staff). */
  async row(appId: string, conversationId: string): Promise<SupportRow> {
    const row = await this.deps.store.get(appId, conversationId);
    if (!row) throw notFound('The support conversation');
    return row;
  }

  // ---- state changes ----

  /**
   * Sends the conversation to a person, recording why. A conversation a
   * person already holds (or one waiting for one) stays as it is, so a
   * second trigger cannot start a loop; a resolved one is reopened first.
   */
  async handoff(appId: string, conversationId: string, reason: HandoffReason, detail: string | null, actorId: string | null = null): Promise<SupportConversation> {
    return this.serial.run(key(appId, conversationId), () => this.handoffNow(appId, conversationId, reason, detail, actorId));
  }

  private async handoffNow(
    appId: string, conversationId: string, reason: HandoffReason, detail: string | null, actorId: string | null, options: { keepReplying?: boolean } = {},
  ): Promise<SupportConversation> {
    let row = await this.row(appId, conversationId);
    if (row.status === 'closed') throw badRequest('This support conversation is closed; a new visit starts a new one.');
    if (HELD.includes(row.status)) return toWire(row);
    if (row.status === 'resolved') row = await this.reopenNow(row, actorId);
    const now = this.now();
    const clipped = detail === null ? null : detail.slice(0, MAX_DETAIL);
    const policy = await policyFor(this.deps.store, appId, row.agent_id);
    const hours = policy.working_hours;
    const notice: Notice = hours && !isOpen(hours, now)
      ? { kind: 'after_hours', opensAt: nextOpening(hours, now), timeZone: hours.time_zone }
      : { kind: 'handoff' };
    const after = await this.change(row, {
      status: 'pending_human', handoff_reason: reason, handoff_detail: clipped, handoff_at: now, handoffs: row.handoffs + 1, updated_at: now,
    }, { status: ['bot'] }, {
      events: [{ type: 'handoff', reason }], actorId,
      domain: { type: 'conversation.handoff', data: { status: 'pending_human', reason, after_hours: notice.kind === 'after_hours' } },
    });
    if (!after) return toWire(await this.row(appId, conversationId));
    // A reply the AI was still writing stops: the customer asked for a person, not for more of it.
    if (!options.keepReplying) this.deps.agents.stopReplies(appId, conversationId);
    await this.say(after, `handoff:${after.handoffs}`, notice);
    await this.pushToStaff(after, 'handoff');
    return toWire(after);
  }

  /**
   * A support user takes the conversation (from the queue, or given it by
   * assign/transfer): it becomes theirs, the AI stops at once, and they join
   * it. `expect` is the assignee the caller saw, so a claim races fairly.
   */
  async assign(appId: string, conversationId: string, staffId: string, by: { actorId: string | null; expect?: string | null }): Promise<SupportConversation> {
    return this.serial.run(key(appId, conversationId), async () => {
      let row = await this.row(appId, conversationId);
      if (row.status === 'closed') throw badRequest('This support conversation is closed.');
      if (by.expect !== undefined && row.assignee_id !== by.expect) {
        throw new WarblerError('conflict', row.assignee_id ? 'Someone else has already taken this conversation.' : 'The conversation changed; reload the queue.');
      }
      if (row.assignee_id === staffId && row.status === 'human') return toWire(row);
      if (row.status === 'resolved') row = await this.reopenNow(row, by.actorId);
      const now = this.now();
      const previous = row.assignee_id;
      const patch: SupportPatch = { status: 'human', assignee_id: staffId, updated_at: now };
      // Taken straight from the bot (no handoff before): that is a handoff too, by a person's choice.
      if (row.status === 'bot') Object.assign(patch, { handoff_reason: 'staff', handoff_detail: null, handoff_at: now, handoffs: row.handoffs + 1 });
      const after = await this.change(row, patch, { status: [row.status], assignee: previous }, {
        events: [...(row.status === 'bot' ? [{ type: 'handoff', reason: 'staff' }] : []), { type: 'assigned', reason: previous ? `from:${previous}` : null }],
        actorId: by.actorId,
        domain: { type: 'conversation.assigned', data: { status: 'human', assignee_id: staffId, previous_assignee_id: previous } },
      });
      if (!after) throw new WarblerError('conflict', 'Someone else changed this conversation at the same moment; reload it.');
      // Status first, then the stop: a reply starting in between sees the new status and stops itself.
      this.deps.agents.stopReplies(appId, conversationId);
      await this.deps.chat.addMember(appId, conversationId, staffId);
      if (previous && previous !== staffId) await this.deps.chat.removeMember(appId, conversationId, previous).catch(() => {});
      const name = (await this.deps.chat.userName(appId, staffId)) ?? (after.locale === 'zh-CN' ? '客服' : 'A support person');
      await this.say(after, `claimed:${after.handoffs}:${staffId}`, { kind: 'claimed', name });
      await this.pushToStaff(after, 'assigned');
      return toWire(after);
    });
  }

  /** The person gives the conversation back to the AI. */
  async handBack(appId: string, conversationId: string, actorId: string | null): Promise<SupportConversation> {
    return this.serial.run(key(appId, conversationId), async () => {
      const row = await this.row(appId, conversationId);
      if (!HELD.includes(row.status)) throw badRequest(`Only a conversation waiting for or held by a person can be handed back (it is ${row.status}).`);
      const now = this.now();
      const after = await this.change(row, { status: 'bot', assignee_id: null, no_knowledge_streak: 0, updated_at: now }, { status: [row.status] }, {
        events: [{ type: 'returned_to_bot', reason: null }], actorId,
      });
      if (!after) throw new WarblerError('conflict', 'Someone else changed this conversation at the same moment; reload it.');
      if (row.assignee_id) await this.deps.chat.removeMember(appId, conversationId, row.assignee_id).catch(() => {});
      await this.say(after, `back:${after.handoffs}:${now}`, { kind: 'back_to_bot' });
      await this.pushToStaff(after, 'updated');
      return toWire(after);
    });
  }

  /**
   * Ends the conversation with an outcome. resolved_by_ai / resolved_by_human
   * leave it `resolved` (the customer's next message reopens it); spam and
   * abandoned close it for good. Resolving a resolved conversation changes
   * nothing and says nothing.
   */
  async resolve(appId: string, conversationId: string, outcome: SupportOutcome | undefined, actorId: string | null): Promise<SupportConversation> {
    return this.serial.run(key(appId, conversationId), async () => {
      const row = await this.row(appId, conversationId);
      const after = await this.resolveNow(row, outcome, actorId, { status: [row.status] });
      return toWire(after ?? (await this.row(appId, conversationId)));
    });
  }

  /** Must be called inside the conversation's serial. Undefined when the guard did not hold (or it is already ended). */
  private async resolveNow(row: SupportRow, outcome: SupportOutcome | undefined, actorId: string | null, guard: ChangeGuard): Promise<SupportRow | undefined> {
    if (!OPEN.includes(row.status)) return row;
    const chosen = outcome ?? (row.assignee_id || row.human_messages > 0 ? 'resolved_by_human' : 'resolved_by_ai');
    const status: SupportStatus = chosen === 'spam' || chosen === 'abandoned' ? 'closed' : 'resolved';
    const now = this.now();
    const after = await this.change(row, { status, outcome: chosen, resolved_at: now, updated_at: now }, guard, {
      events: [{ type: status === 'closed' ? 'closed' : 'resolved', reason: chosen }], actorId,
      domain: { type: 'conversation.resolved', data: { status, outcome: chosen, assignee_id: row.assignee_id } },
    });
    if (!after) return undefined;
    this.deps.agents.stopReplies(row.app_id, row.conversation_id);
    if (status === 'resolved') await this.say(after, `resolved:${after.reopens}`, { kind: 'resolved' });
    await this.pushToStaff(after, 'resolved');
    return after;
  }

  // ---- abandoned ----

  /**
   * Closes as `abandoned` every open conversation (bot or human; one waiting
   * for a person is not the customer's silence) whose customer went silent
   * before `now - abandonAfterMs`, in batches. The guard is in the UPDATE, so
   * a customer who writes at that moment, or another node sweeping the same
   * rows, makes the change (and its event) happen at most once.
   */
  async sweepAbandoned(now = this.now(), batch = 200): Promise<number> {
    const after = this.deps.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
    if (after <= 0) return 0;
    const cutoff = now - after;
    let closed = 0;
    for (;;) {
      const rows = await this.deps.store.quiet(cutoff, batch);
      let changed = 0;
      for (const row of rows) {
        const done = await this.serial.run(key(row.app_id, row.conversation_id), async () => {
          const fresh = await this.deps.store.get(row.app_id, row.conversation_id);
          if (!fresh || (fresh.status !== 'bot' && fresh.status !== 'human')) return false;
          return (await this.resolveNow(fresh, 'abandoned', null, { status: [fresh.status], quietBefore: cutoff })) !== undefined;
        });
        if (done) changed++;
      }
      closed += changed;
      // A batch where nothing changed is one another node is sweeping (or customers wrote): leave the rest to the next run.
      if (rows.length < batch || changed === 0) return closed;
    }
  }

  /** The sweep on the one node holding the lease; undefined when another node holds it. */
  async sweepOnce(owner: string, intervalMs: number, now = this.now()): Promise<number | undefined> {
    if (this.deps.lease && !(await this.deps.lease.take('support:abandon', owner, now, Math.max(intervalMs, 60_000)))) return undefined;
    return this.sweepAbandoned(now);
  }

  /** Sweeps every `intervalMs` (app.ts); stopped by stop(). */
  startSweeper(owner: string, intervalMs: number): void {
    if ((this.deps.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS) <= 0 || this.sweeper) return;
    let running = false;
    this.sweeper = setInterval(() => {
      if (running) return;
      running = true;
      this.sweepOnce(owner, intervalMs).catch((err: unknown) => this.deps.onError?.(err, 'support: closing abandoned conversations')).finally(() => (running = false));
    }, intervalMs);
    this.sweeper.unref();
  }

  /** Must be called inside the conversation's serial. */
  private async reopenNow(row: SupportRow, actorId: string | null): Promise<SupportRow> {
    const now = this.now();
    const after = await this.change(row, {
      status: 'bot', outcome: null, resolved_at: null, assignee_id: null, reopens: row.reopens + 1, no_knowledge_streak: 0, updated_at: now,
    }, { status: ['resolved'] }, {
      events: [{ type: 'reopened', reason: null }], actorId,
      domain: { type: 'conversation.reopened', data: { status: 'bot', reopens: row.reopens + 1 } },
    });
    if (!after) return this.row(row.app_id, row.conversation_id);
    if (row.assignee_id) await this.deps.chat.removeMember(row.app_id, row.conversation_id, row.assignee_id).catch(() => {});
    await this.pushToStaff(after, 'reopened');
    return after;
  }

  /**
   * The customer's rating, once per conversation, after it is resolved. A
   * second rating is refused (409), so a widget retried or replayed cannot
   * change or stack ratings.
   */
  async rate(appId: string, conversationId: string, customerId: string, rating: number, comment: string | null): Promise<SupportConversation> {
    const row = await this.row(appId, conversationId);
    if (row.customer_id !== customerId) throw forbidden('Only the customer of this conversation can rate it.');
    if (row.status !== 'resolved' && row.status !== 'closed') throw badRequest('Rate the conversation once it is resolved.');
    if (row.csat_rating !== null) throw new WarblerError('conflict', 'This conversation has already been rated; a rating is given once.');
    const now = this.now();
    const events = await this.deps.events.begin([
      { type: 'csat.submitted', appId, data: { conversation_id: conversationId, customer_id: customerId, agent_id: row.agent_id, assignee_id: row.assignee_id, rating, outcome: row.outcome } },
    ]);
    const after = await this.deps.store.rate(appId, conversationId, { rating, comment, at: now }, async (tx, a) => {
      await this.record(a, 'csat', String(rating), customerId, now, tx);
      await events.write(tx);
    });
    if (!after) throw new WarblerError('conflict', 'This conversation has already been rated; a rating is given once.');
    await events.committed();
    await this.pushToStaff(after, 'updated');
    return toWire(after);
  }

  // ---- what the runtime asks (SupportReplies) ----

  private async mayReply(agent: Agent, conversation: Conversation, trigger: Message): Promise<boolean> {
    this.apps.add(conversation.app_id);
    await this.takeIn(trigger);
    const row = await this.deps.store.get(conversation.app_id, conversation.id);
    return row !== undefined && row.status === 'bot' && row.agent_id === agent.id && trigger.sender_id === row.customer_id;
  }

  private async toolHandoff(agent: Agent, conversation: Conversation, args: string): Promise<string> {
    let reason = '';
    try {
      const parsed = JSON.parse(args || '{}') as { reason?: unknown };
      reason = typeof parsed.reason === 'string' ? parsed.reason : '';
    } catch {
      // A model's malformed arguments still hand off: the customer needs a person either way.
    }
    // The reply that called the tool goes on to tell the customer; only replies after it are held back.
    await this.serial.run(key(conversation.app_id, conversation.id), () =>
      this.handoffNow(conversation.app_id, conversation.id, 'agent_tool', reason.trim() || null, agent.id, { keepReplying: true }));
    return 'The conversation has been handed to a human support person, who will answer next. Tell the customer so in one short sentence; do not answer further.';
  }

  private replied(agent: Agent, conversation: Conversation, reply: { message_id: string; state: 'complete' | 'failed'; passages: number; stopped: boolean }): void {
    void this.afterReply(conversation.app_id, conversation.id, reply, agent.config.knowledge_base_ids.length > 0).catch((err: unknown) => this.deps.onError?.(err, 'support: after an AI reply'));
  }

  private async afterReply(appId: string, conversationId: string, reply: { state: 'complete' | 'failed'; passages: number; stopped: boolean }, hasKnowledge: boolean): Promise<void> {
    if (reply.stopped || reply.state !== 'complete') return;
    const now = this.now();
    await this.deps.store.answered(appId, conversationId, now, false);
    const row = await this.deps.store.get(appId, conversationId);
    if (!row || row.status !== 'bot') return;
    const policy = await policyFor(this.deps.store, appId, row.agent_id);
    // An agent without a knowledge base never "finds nothing": the streak is about knowledge it should have had.
    if (!hasKnowledge || reply.passages > 0) {
      if (row.no_knowledge_streak > 0) await this.deps.store.update(appId, conversationId, { no_knowledge_streak: 0, updated_at: now });
    } else {
      await this.deps.store.bump(appId, conversationId, 'no_knowledge_streak', now);
      const streak = row.no_knowledge_streak + 1;
      if (policy.no_knowledge_streak !== null && streak >= policy.no_knowledge_streak) {
        await this.handoff(appId, conversationId, 'no_knowledge', `${streak} answers in a row found nothing in the knowledge base`);
        return;
      }
    }
    await this.checkCost(row, policy.cost_cap_usd);
  }

  private async checkCost(row: SupportRow, capUsd: number | null): Promise<boolean> {
    if (capUsd === null || row.status !== 'bot') return false;
    const spent = await this.costUsd(row.app_id, row.conversation_id);
    if (spent < capUsd) return false;
    await this.handoff(row.app_id, row.conversation_id, 'cost_cap', `model calls cost $${spent.toFixed(6)} of a $${capUsd} cap`);
    return true;
  }

  /** A thumbs-down on an AI answer, by the conversation's customer. */
  async rated(appId: string, message: Message, userId: string, rating: 'up' | 'down' | null): Promise<void> {
    if (rating !== 'down') return;
    const row = await this.deps.store.get(appId, message.conversation_id);
    if (!row || row.customer_id !== userId || message.sender_id !== row.agent_id || row.status !== 'bot') return;
    const policy = await policyFor(this.deps.store, appId, row.agent_id);
    if (policy.thumbs_down) await this.handoff(appId, row.conversation_id, 'thumbs_down', `thumbs-down on ${message.id}`, userId);
  }

  // ---- messages ----

  /** Every stored message passes here (Messages.onMessage); only support conversations' are looked at. */
  observe(message: Message): void {
    if (message.state !== 'complete' || message.type === 'system' || !this.apps.has(message.app_id)) return;
    void this.takeIn(message).catch((err: unknown) => this.deps.onError?.(err, 'support: taking in a message'));
  }

  private takeIn(message: Message): Promise<void> {
    let work = this.intake.get(message.id);
    if (!work) {
      work = this.serial.run(key(message.app_id, message.conversation_id), () => this.process(message));
      this.intake.set(message.id, work);
      // Kept only while agents may still ask about it.
      setTimeout(() => this.intake.delete(message.id), 60_000).unref();
    }
    return work;
  }

  private async process(message: Message): Promise<void> {
    let row = await this.deps.store.get(message.app_id, message.conversation_id);
    if (!row) return;
    const now = this.now();
    if (message.sender_id === row.customer_id) {
      await this.deps.store.customerWrote(row.app_id, row.conversation_id, message.created_at);
      if (row.status === 'closed') return;
      if (row.status === 'resolved') row = await this.reopenNow(row, row.customer_id);
      if (row.status !== 'bot') return;
      const text = textOf(message);
      const reason = await this.triggerIn(row, text);
      if (reason) await this.handoffNow(row.app_id, row.conversation_id, reason.reason, reason.detail, row.customer_id);
      return;
    }
    if (message.sender_id === row.agent_id) return;
    // Anyone else in a support conversation is a support person answering.
    await this.deps.store.answered(row.app_id, row.conversation_id, now, true);
  }

  /** Whether the customer's words hand off: asking for a person, a keyword, or the cost already spent. */
  private async triggerIn(row: SupportRow, text: string): Promise<{ reason: HandoffReason; detail: string } | undefined> {
    if (text && asksForPerson(text)) return { reason: 'customer_asked', detail: text };
    const policy = await policyFor(this.deps.store, row.app_id, row.agent_id);
    const keyword = text ? keywordIn(text, policy.keywords) : undefined;
    if (keyword) return { reason: 'keyword', detail: keyword };
    if (policy.cost_cap_usd !== null) {
      const spent = await this.costUsd(row.app_id, row.conversation_id);
      if (spent >= policy.cost_cap_usd) return { reason: 'cost_cap', detail: `model calls cost $${spent.toFixed(6)} of a $${policy.cost_cap_usd} cap` };
    }
    return undefined;
  }

  // ---- telling people ----

  private async say(row: SupportRow, key: string, notice: Notice): Promise<void> {
    // The resend key is unique per sender across conversations, so it names the conversation too.
    await this.deps.chat.notice(row.app_id, row.conversation_id, row.agent_id, `support:${row.conversation_id}:${key}`, {
      text: noticeText(row.locale, notice), support: { event: notice.kind, status: row.status },
    });
  }

  private async record(row: SupportRow, type: string, reason: string | null, actorId: string | null, at: number, tx?: Kysely<any>): Promise<void> {
    await this.deps.store.addEvent({ app_id: row.app_id, id: supportId('sev'), conversation_id: row.conversation_id, type, reason, actor_id: actorId, created_at: at }, tx);
  }

  /**
   * A compare-and-set on the row, its support events and its domain event
   * (the webhook outbox rows) in one transaction; then the event's other
   * listeners. Undefined when the guard did not hold: nothing was written.
   */
  private async change(row: SupportRow, patch: SupportPatch, guard: ChangeGuard, effects: ChangeEffects): Promise<SupportRow | undefined> {
    const domain = effects.domain;
    const events = await this.deps.events.begin(domain ? [{ type: domain.type, appId: row.app_id, data: { conversation_id: row.conversation_id, ...domain.data } }] : []);
    const after = await this.deps.store.transition(row.app_id, row.conversation_id, patch, guard, async (tx, a) => {
      for (const e of effects.events ?? []) await this.record(a, e.type, e.reason, effects.actorId, patch.updated_at, tx);
      await events.write(tx);
    });
    if (after) await events.committed();
    return after;
  }

  async pushToStaff(row: SupportRow, event: SupportPushFrame['event'], extra: Partial<SupportPushFrame> = {}): Promise<void> {
    const frame: SupportPushFrame = { type: 'support', event, conversation: toWire(row), ts: this.now(), ...extra };
    for (const staff of await this.deps.store.staff(row.app_id, 1_000)) {
      this.deps.publish({ to: 'user', app_id: row.app_id, user_id: staff.user_id, frame });
    }
  }

  /** What the conversation's model calls cost so far, in USD: its ledger rows, copilot included. */
  async costUsd(appId: string, conversationId: string): Promise<number> {
    const per = (await this.deps.store.cost(appId, [conversationId])).get(conversationId);
    let usd = 0;
    for (const [currency, nanos] of per ?? []) usd += this.deps.toUsd(currency, nanos) ?? 0;
    return usd;
  }

  /** Used by the inbox to refuse what only staff may do. */
  async requireStaff(appId: string, userId: string): Promise<void> {
    if (!(await this.deps.store.isStaff(appId, userId))) {
      throw forbidden('This needs the support role. The app grants it with PUT /api/support/staff/{user_id} (app secret).');
    }
  }
}

function textOf(message: Message): string {
  const text = (message.content as { text?: unknown }).text;
  const caption = (message.content as { caption?: unknown }).caption;
  return typeof text === 'string' ? text : typeof caption === 'string' ? caption : '';
}

const key = (appId: string, conversationId: string) => `${appId}\u0000${conversationId}`;
