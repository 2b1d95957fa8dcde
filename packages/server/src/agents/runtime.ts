import type { AgentStateFrame, CitationStyle, Conversation, Message, MessageContent } from '@warbler/protocol';
import { KeyedSerial, type MemberDirectory, type Messages, type PublishChatEvent, type StreamingReplies } from '../chat/index.ts';
import { ContentBlocked, ModerationFlagged, type Guardrails, type PromptScreen } from '../guardrails/index.ts';
import { formatKnowledgeBlock, reciprocalRankFusion, type Passage } from '../kb/index.ts';
import { addUsage, countTextTokens, emptyUsage, isLlmError, type ChatMessage, type LlmError, type LlmProvider, type RouterCallOptions, type ToolCall, type ToolDefinition, type Usage } from '../llm/index.ts';
import type { AgentMemoryRow, Store } from '../store/index.ts';
import type { LiveTurn } from '../experiments/index.ts';
import { applyCitationStyle, citationsIn, MarkerStripper } from './citations.ts';
import { parseQueries, REWRITE_MAX_TOKENS, REWRITE_TIMEOUT_MS, REWRITE_TURNS, rewriteRequest, type Turn } from './query-rewrite.ts';
import { buildContext, fixedTokens, foldCount, historyLimit, SUMMARY_MAX_TOKENS, summaryRequest, truncatedSummary, turnCosts } from './context.ts';
import { WarblerError } from '../errors.ts';
import type { Agent } from './definition.ts';
import { modelFacts } from './models.ts';
import { recalledBlock, recallEarlier } from './recall.ts';
import { KNOWLEDGE_TOOL, MAX_TOOL_ROUNDS, toolDefinitions, type HttpTools } from './tools.ts';
import { isReset, messageText, shouldReply } from './triggers.ts';

/** What the runtime needs of the knowledge room. */
export interface KnowledgeSearch {
  search(appId: string, kbIds: string[], query: string, k: number): Promise<Passage[]>;
  /** How replies show citations: the first attached knowledge base's setting; numbered when absent. */
  citationStyle?(appId: string, kbIds: string[]): Promise<CitationStyle>;
  /** Whether an FAQ answers the question as written (then no model is called at all, so no rewrite either). */
  answeredByFaq?(appId: string, kbIds: string[], question: string): Promise<boolean>;
}

/** What the runtime needs of budgets: may this agent spend now? */
export interface SpendGuard {
  check(appId: string, agentId: string, monthlyLimitUsd: number | null): Promise<{ ok: true } | { ok: false; message: string }>;
}

/** Who a model call is for; the ledger records it with every attempt. */
export interface AgentCallContext {
  source: 'agent';
  app_id: string;
  agent_id: string;
  user_id: string;
  conversation_id: string;
  message_id: string;
  purpose: 'reply' | 'summary' | 'query_rewrite';
}

export interface RuntimeDeps {
  store: Store;
  messages: Messages;
  streams: StreamingReplies;
  directory: MemberDirectory;
  publish: PublishChatEvent;
  /** The Router (or any provider); calls carry a context for the ledger. */
  models: LlmProvider & { chat(request: Parameters<LlmProvider['chat']>[0], options?: RouterCallOptions): ReturnType<LlmProvider['chat']> };
  knowledge: KnowledgeSearch;
  /** Runs the agents' HTTP tools under the operator's outbound address policy. */
  httpTools: HttpTools;
  spend: SpendGuard;
  /** Sensitive words and PII masking before each model call; the injection screen on passages and tool results. */
  guardrails?: Guardrails;
  imageUrl: (appId: string, fileId: string) => Promise<string | undefined>;
  /** Cost of one reply for the message's footer; undefined when the model has no price. */
  costOf?: (model: string, usage: Usage) => { currency: string; amount: string } | undefined;
  onError: (err: unknown, where: string) => void;
  /** Agent replies one person may be waiting for at once (queued or streaming, over all conversations); default 5. */
  repliesPerUser?: number;
  /** Model experiments: which settings answer a conversation (A/B), and every reply as it ended (shadow runs, reports). */
  experiments?: ReplyExperiments;
}

/** What the experiments room takes from replies; app.ts wires it in. */
export interface ReplyExperiments {
  variantFor(agent: Agent, conversation: Conversation): Promise<{ agent: Agent; arm: LiveTurn['arm'] } | undefined>;
  /** Must return at once: what it starts runs behind live replies. */
  observe(turn: LiveTurn): void;
}

/**
 * What the support room says about an agent's replies in support conversations
 * (app.ts wires it in with useSupport). The runtime stays ignorant of
 * support states: it asks before each reply, and offers the handoff tool.
 */
export interface SupportReplies {
  /** Whether the agent answers this message now: never while a person holds the conversation. Asked again once the reply has started. */
  mayReply(agent: Agent, conversation: Conversation, trigger: Message): Promise<boolean>;
  /** The built-in handoff tool offered to the agent in support conversations. */
  readonly handoffTool: ToolDefinition;
  /** Runs the handoff tool; returns what the model is told. */
  handoff(agent: Agent, conversation: Conversation, trigger: Message, args: string): Promise<string>;
  /** A reply in a support conversation ended: how many knowledge passages it had, and how it ended. */
  replied(agent: Agent, conversation: Conversation, reply: { message_id: string; state: 'complete' | 'failed'; passages: number; stopped: boolean }): void;
}

interface Running {
  controller: AbortController;
  appId: string;
  conversationId: string;
  stoppedBy?: string;
}

/** Replies kept in the model's history per call, at most (older ones are summarized). */
const HISTORY_PAGE = 200;
/** Folded messages searched when a new message may refer back to them, newest first. */
const RECALL_SCAN = 1_000;

/**
 * AI agents as chat members. Each stored message on this node is offered to
 * the agents in its conversation; those whose trigger matches answer with a
 * streaming reply: retrieve, build the context, call the model through the
 * router (retries, fallbacks and the ledger live there), run tools, and
 * finish the message as complete or failed with a reason a person can act on.
 * One reply at a time per agent and conversation, in the order asked.
 */
export class AgentRuntime {
  private readonly agents = new Map<string, Agent>();
  /** Agents registered per app: a message in an app without agents skips the offer entirely (the send path's hot case). */
  private readonly agentsPerApp = new Map<string, number>();
  private readonly running = new Map<string, Running>();
  private readonly turns = new KeyedSerial();
  /** Agent replies in a row per conversation since a person last spoke (the loop guard). */
  private readonly chains = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Agent replies each person is waiting for (queued or streaming), by app and sender: what admitSend() bounds. */
  private readonly waitingFor = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private support: SupportReplies | undefined;

  constructor(private readonly deps: RuntimeDeps) {}

  useSupport(support: SupportReplies): void {
    this.support = support;
  }

  /** Stops every reply streaming on this node in the conversation (a person took it over); returns how many. */
  stopConversation(appId: string, conversationId: string, by: string): number {
    let stopped = 0;
    for (const run of this.running.values()) {
      if (run.appId !== appId || run.conversationId !== conversationId || run.controller.signal.aborted) continue;
      run.stoppedBy = by;
      run.controller.abort();
      stopped++;
    }
    return stopped;
  }

  start(): void {
    this.unsubscribe ??= this.deps.messages.onMessage((m) => {
      const work = this.offer(m);
      if (work) this.track(work);
    });
  }

  /** Stops taking new work and waits for replies under way (they finish or are stopped). */
  async close(stopRunning = false): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (stopRunning) for (const r of this.running.values()) r.controller.abort();
    await this.idle();
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  register(agent: Agent): void {
    const k = key(agent.app_id, agent.id);
    if (!this.agents.has(k)) this.agentsPerApp.set(agent.app_id, (this.agentsPerApp.get(agent.app_id) ?? 0) + 1);
    this.agents.set(k, agent);
  }

  unregister(appId: string, agentId: string): void {
    if (!this.agents.delete(key(appId, agentId))) return;
    const left = (this.agentsPerApp.get(appId) ?? 1) - 1;
    if (left > 0) this.agentsPerApp.set(appId, left);
    else this.agentsPerApp.delete(appId);
  }

  get(appId: string, agentId: string): Agent | undefined {
    return this.agents.get(key(appId, agentId));
  }

  /** Stops a reply still streaming, for a member of its conversation. Returns false when nothing was streaming. */
  async stop(actor: { appId: string; userId?: string }, messageId: string): Promise<boolean> {
    const run = this.running.get(messageId);
    if (!run || run.appId !== actor.appId) return false;
    if (actor.userId && !(await this.deps.directory.roleOf(actor.appId, run.conversationId, actor.userId))) return false;
    run.stoppedBy = actor.userId ?? 'app';
    run.controller.abort();
    return true;
  }

  /**
   * Refuses a person's message before it is stored when agents are still
   * answering as many of their messages as one person may have waiting, and
   * it goes to a conversation with an agent in it. Each reply is a model call
   * and a stream: without a bound, one person sending as fast as they can
   * queues replies without end, spending the app's budget and keeping the
   * server streaming long after they stop.
   */
  async admitSend(appId: string, conversationId: string, senderId: string): Promise<void> {
    if (!this.agentsPerApp.has(appId) || this.agents.has(key(appId, senderId))) return;
    const waiting = this.waitingFor.get(key(appId, senderId)) ?? 0;
    if (waiting < (this.deps.repliesPerUser ?? 5)) return;
    const members = await this.deps.directory.members(appId, conversationId);
    if (![...members.keys()].some((id) => this.agents.has(key(appId, id)))) return;
    throw new WarblerError(
      'rate_limited',
      `AI agents are still answering ${waiting} of your messages; this one was not sent. Wait for their replies, then send it again ` +
        '(the operator can raise WARBLER_AGENT_REPLIES_PER_USER).',
    );
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Offers a stored message to the agents of its conversation; undefined when there is nothing to do. */
  private offer(message: Message): Promise<void> | undefined {
    // Synchronous and allocation-free for apps without agents: every message of every app passes here.
    if (!this.agentsPerApp.has(message.app_id)) return undefined;
    const convKey = key(message.app_id, message.conversation_id);
    const senderAgent = this.agents.get(key(message.app_id, message.sender_id));
    // A person speaking ends the chain; deleting (not storing 0) keeps the map to conversations where agents are talking.
    if (!senderAgent) this.chains.delete(convKey);
    else if (message.state === 'streaming') this.chains.set(convKey, (this.chains.get(convKey) ?? 0) + 1);
    if (message.state !== 'complete') return undefined;
    return this.offerComplete(message, convKey, senderAgent);
  }

  private async offerComplete(message: Message, convKey: string, senderAgent: Agent | undefined): Promise<void> {
    try {
      const members = await this.deps.directory.members(message.app_id, message.conversation_id);
      const candidates = [...members.keys()].map((id) => this.agents.get(key(message.app_id, id))).filter((a): a is Agent => a !== undefined);
      if (candidates.length === 0) return;
      const conversation = await this.deps.store.getConversation(message.app_id, message.conversation_id);
      if (!conversation) return;
      const chain = this.chains.get(convKey) ?? 0;
      for (const agent of candidates) {
        if (!shouldReply(agent, conversation.kind, message, senderAgent !== undefined, chain)) continue;
        const asker = senderAgent ? undefined : key(message.app_id, message.sender_id);
        if (asker) this.waitingFor.set(asker, (this.waitingFor.get(asker) ?? 0) + 1);
        const reply = this.turns.run(`${convKey}\u0000${agent.id}`, () => this.answer(agent, conversation, message));
        this.track(asker ? reply.finally(() => this.answered(asker)) : reply);
      }
    } catch (err) {
      this.deps.onError(err, 'offering a message to agents');
    }
  }

  private answered(asker: string): void {
    const left = (this.waitingFor.get(asker) ?? 1) - 1;
    if (left > 0) this.waitingFor.set(asker, left);
    else this.waitingFor.delete(asker);
  }

  private async answer(agent: Agent, conversation: Conversation, trigger: Message): Promise<void> {
    try {
      if (conversation.kind === 'support' && !(await this.support?.mayReply(agent, conversation, trigger))) return;
      if (isReset(trigger)) return await this.reset(agent, conversation, trigger);
      const allowed = await this.deps.spend.check(agent.app_id, agent.id, agent.config.monthly_budget_usd);
      if (!allowed.ok) {
        await this.deps.messages.append({ appId: agent.app_id }, {
          conversation_id: conversation.id, sender_id: agent.id, client_msg_id: null, type: 'text', state: 'failed',
          content: { text: allowed.message, error: { code: 'budget_exceeded', message: allowed.message }, reply_to: trigger.id },
        });
        return;
      }
      await this.reply(agent, conversation, trigger);
    } catch (err) {
      this.deps.onError(err, `agent ${agent.id} answering ${trigger.id}`);
    }
  }

  private async reset(agent: Agent, conversation: Conversation, trigger: Message): Promise<void> {
    const memory = await this.deps.store.getAgentMemory(agent.app_id, agent.id, conversation.id);
    await this.deps.store.putAgentMemory({
      app_id: agent.app_id, agent_id: agent.id, conversation_id: conversation.id,
      summary: '', summary_seq: memory?.summary_seq ?? 0, reset_seq: trigger.seq, updated_at: Date.now(),
    });
    await this.deps.messages.append({ appId: agent.app_id }, {
      conversation_id: conversation.id, sender_id: agent.id, client_msg_id: null, type: 'text', state: 'complete',
      content: { text: 'Context cleared: I will answer from here on as if we had just met. / 上下文已清空。', reply_to: trigger.id },
    });
  }

  private async reply(agent: Agent, conversation: Conversation, trigger: Message): Promise<void> {
    // An A/B split may answer this conversation with a candidate's model and settings (sticky per conversation).
    const variant = await this.deps.experiments?.variantFor(agent, conversation);
    if (variant) agent = variant.agent;
    const { app_id: appId } = agent;
    this.state(agent, conversation.id, 'thinking');
    const message = await this.deps.streams.start(appId, conversation.id, agent.id, { model: agent.config.model, reply_to: trigger.id });
    const run: Running = { controller: new AbortController(), appId, conversationId: conversation.id };
    this.running.set(message.id, run);
    const support = conversation.kind === 'support' ? this.support : undefined;
    let ended: 'complete' | 'failed' = 'failed';
    const context: AgentCallContext = {
      source: 'agent', app_id: appId, agent_id: agent.id, user_id: trigger.sender_id,
      conversation_id: conversation.id, message_id: message.id, purpose: 'reply',
    };
    let text = '';
    // The answer as the model wrote it (placeholders unrestored): what output moderation judges.
    let written = '';
    const usage = emptyUsage();
    let answeredBy = agent.config.model;
    const passages: Passage[] = [];
    const screen = this.deps.guardrails?.screen({ appId, path: 'agent', who: agent.id, policy: agent.config.guardrails });
    const shown = screen?.restorer();
    // What an experiment replays: the first call's prompt and tools, and each tool's result (replays never run tools).
    let prompt: ChatMessage[] | undefined;
    let toolDefs: ToolDefinition[] = [];
    const toolLog: LiveTurn['tool_results'] = [];
    let started = performance.now();
    let ttftMs: number | null = null;
    let failure: string | null = null;
    // Read once before the reply streams: with style `none` the markers are taken out of the stream too.
    const style = await this.citationStyle(agent);
    const unmarked = style === 'none' ? new MarkerStripper() : undefined;
    try {
      // A person may have taken the conversation while this reply was being stored: it is stopped before a word is said.
      if (support && !(await support.mayReply(agent, conversation, trigger))) {
        run.stoppedBy = 'support';
        run.controller.abort();
      }
      if (agent.config.knowledge_base_ids.length > 0 && messageText(trigger)) {
        this.state(agent, conversation.id, 'searching', message.id);
        passages.push(...(await this.retrieve(agent, conversation.id, trigger, screen, context, run.controller.signal)));
      }
      const built = await this.context(agent, conversation, trigger, passages, context);
      const tools = toolDefinitions(agent.config.tools, agent.config.knowledge_base_ids.length > 0 && agent.config.model !== 'local/kb-answer');
      if (support) tools.push(support.handoffTool);
      const messages: ChatMessage[] = built.messages;
      // Only the message being answered can be refused: an earlier one (already refused) must not lock the conversation.
      screen?.messages(messages, messages.at(-1));
      // Provider moderation of the message being answered (guardrails moderation.input): refused like a block word.
      if (screen?.moderatesInput) await screen.moderateInput(messages.slice(-1), run.controller.signal);
      if (this.deps.experiments) {
        prompt = messages.slice();
        toolDefs = tools;
      }
      started = performance.now();
      this.state(agent, conversation.id, 'generating', message.id);
      for (let round = 1; ; round++) {
        const calls: ToolCall[] = [];
        let failure: LlmError | undefined;
        let roundText = '';
        for await (const part of this.deps.models.chat(
          {
            model: agent.config.model, messages, max_tokens: agent.config.max_tokens,
            ...(agent.config.temperature !== undefined && { temperature: agent.config.temperature }),
            ...(tools.length > 0 && round <= MAX_TOOL_ROUNDS && { tools }),
            user: trigger.sender_id,
          },
          { signal: run.controller.signal, context },
        )) {
          if (part.type === 'start') answeredBy = part.model;
          else if (part.type === 'text-delta') {
            ttftMs ??= performance.now() - started;
            roundText += part.text;
            written += part.text;
            const delta = shown ? shown.push(part.text) : part.text;
            text += delta;
            const streamed = unmarked && delta ? unmarked.push(delta) : delta;
            if (streamed) this.deps.streams.append(message.id, streamed);
          } else if (part.type === 'tool-call') calls.push(part);
          else if (part.type === 'finish') addUsage(usage, part.usage);
          else if (part.type === 'error') {
            if (part.usage) addUsage(usage, part.usage);
            failure = part.error;
          }
        }
        const held = shown?.flush();
        if (held) {
          text += held;
          const streamed = unmarked ? unmarked.push(held) : held;
          if (streamed) this.deps.streams.append(message.id, streamed);
        }
        if (failure) throw failure;
        if (calls.length === 0 || round > MAX_TOOL_ROUNDS) break;
        this.state(agent, conversation.id, 'thinking', message.id);
        messages.push({
          role: 'assistant', content: roundText || null,
          tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
        });
        for (const call of calls) {
          const result = support && call.name === support.handoffTool.function.name
            ? await support.handoff(agent, conversation, trigger, call.arguments)
            : await this.runTool(agent, call, passages, run.controller.signal, screen);
          messages.push({ role: 'tool', tool_call_id: call.id, content: screen ? screen.retrieved(result) : result });
          if (prompt) toolLog.push({ name: call.name, arguments: call.arguments, result });
        }
        this.state(agent, conversation.id, 'generating', message.id);
      }
      // Output moderation (decision 0022): the streamed reply is judged whole when the model is done; a flagged one fails below.
      const flagged = await screen?.moderateOutput(written, run.controller.signal);
      if (flagged) throw flagged;
      const unsent = unmarked?.flush();
      if (unsent) this.deps.streams.append(message.id, unsent);
      ended = text ? 'complete' : 'failed';
      await this.deps.streams.finish(message.id, {
        state: ended,
        content: this.styled(this.finalContent(agent, trigger, text, passages, usage, answeredBy, built.unseenImages, text ? undefined : { code: 'empty_reply', message: 'The model returned an empty answer. Try asking again or rephrasing.' }), style),
      });
    } catch (err) {
      const stopped = run.stoppedBy !== undefined;
      const blocked = err instanceof ContentBlocked || err instanceof ModerationFlagged;
      // A withheld answer is not kept: the failed message replaces what was streamed.
      if (err instanceof ModerationFlagged && err.side === 'output') text = '';
      const reason = stopped
        ? { code: 'stopped', message: text ? 'Stopped.' : 'Stopped before the answer began.' }
        : blocked ? { code: 'content_policy_violation', message: err.message } : explain(err, agent.config.model);
      failure = reason.code;
      if (!stopped && !blocked && !isLlmError(err)) this.deps.onError(err, `agent ${agent.id} reply ${message.id}`);
      ended = stopped && text ? 'complete' : 'failed';
      await this.deps.streams.finish(message.id, {
        state: ended,
        content: { ...this.styled(this.finalContent(agent, trigger, text, passages, usage, answeredBy, 0, reason), style), ...(stopped && { stopped: true }) },
      });
    } finally {
      this.running.delete(message.id);
      this.state(agent, conversation.id, 'idle', message.id);
      if (prompt && run.stoppedBy === undefined) {
        this.deps.experiments?.observe({
          app_id: appId, agent_id: agent.id, conversation_id: conversation.id, message_id: message.id, user_id: trigger.sender_id,
          question: messageText(trigger), messages: prompt, tools: toolDefs, tool_results: toolLog, passages: passages.map((p) => p.chunk.text),
          system_prompt: agent.config.system_prompt, max_tokens: agent.config.max_tokens, model: answeredBy, answer: text, usage,
          ttft_ms: ttftMs === null ? null : Math.round(ttftMs), latency_ms: Math.round(performance.now() - started),
          failed: failure !== null || !text, error: failure ?? (text ? null : 'empty_reply'), ...(variant?.arm && { arm: variant.arm }),
        });
      }
      support?.replied(agent, conversation, { message_id: message.id, state: ended, passages: passages.length, stopped: run.stoppedBy !== undefined });
    }
  }

  /**
   * The prompt for a reply. History since the summary (or the last /reset) is
   * sent as it is while it fits the agent's history budget; once it does not,
   * the oldest turns are folded into the summary in one step, down to about
   * half the budget, so the next turns need no summary call. Folded turns the
   * new message seems to refer back to are quoted into the prompt.
   */
  private async context(agent: Agent, conversation: Conversation, trigger: Message, passages: Passage[], call: AgentCallContext) {
    const { store } = this.deps;
    let memory = await store.getAgentMemory(agent.app_id, agent.id, conversation.id);
    const floor = Math.max(memory?.reset_seq ?? 0, memory?.summary_seq ?? 0);
    const page = await store.listMessages(agent.app_id, conversation.id, { before: trigger.seq + 1, limit: HISTORY_PAGE });
    let history = page.messages.filter((m) => m.seq > floor);
    const names = new Map<string, string>();
    await this.addNames(agent.app_id, names, history);
    const input = {
      agentId: agent.id, config: agent.config, facts: modelFacts(agent.config.model), group: conversation.kind !== 'direct', names,
      // An empty block still tells local/kb-answer a knowledge base is attached, so it says it found nothing.
      knowledge: agent.config.knowledge_base_ids.length > 0 ? formatKnowledgeBlock(passages) : '',
      recalled: '',
      imageUrl: async (m: Message) => {
        const fileId = (m.content as { file_id?: unknown }).file_id;
        return typeof fileId === 'string' ? this.deps.imageUrl(agent.app_id, fileId) : undefined;
      },
    };
    const limit = historyLimit(input, fixedTokens(input));
    const fold = foldCount(history, turnCosts({ ...input, history }), summaryTokens(memory?.summary ?? ''), limit, agent.id);
    if (fold > 0) {
      memory = await this.fold(agent, conversation.id, memory, history.slice(0, fold), names, call);
      history = history.slice(fold);
    }
    input.recalled = await this.recall(agent, conversation.id, memory, trigger);
    let built = await buildContext({ ...input, summary: memory?.summary ?? '', history });
    if (built.overflow.length === 0) return built;
    // Still over the model's window (a large knowledge block, images): fold what did not fit too.
    memory = await this.fold(agent, conversation.id, memory, built.overflow, names, call);
    history = history.filter((m) => m.seq > memory!.summary_seq);
    built = await buildContext({ ...input, summary: memory.summary, history });
    return built;
  }

  /** Folds `turns` (the oldest of the history) into the conversation's summary, and stores it with the conversation. */
  private async fold(
    agent: Agent, conversationId: string, memory: AgentMemoryRow | undefined, turns: Message[], names: ReadonlyMap<string, string>, call: AgentCallContext,
  ): Promise<AgentMemoryRow> {
    const summary = await this.summarize(agent, memory?.summary ?? '', turns, names, { ...call, purpose: 'summary' });
    const next: AgentMemoryRow = {
      app_id: agent.app_id, agent_id: agent.id, conversation_id: conversationId, summary,
      summary_seq: turns.at(-1)!.seq, reset_seq: memory?.reset_seq ?? 0, updated_at: Date.now(),
    };
    await this.deps.store.putAgentMemory(next);
    return next;
  }

  /** Folded turns (since the last /reset) that the new message shares rare words with, as a block for the prompt. */
  private async recall(agent: Agent, conversationId: string, memory: AgentMemoryRow | undefined, trigger: Message): Promise<string> {
    const question = messageText(trigger);
    const resetSeq = memory?.reset_seq ?? 0;
    const summarySeq = memory?.summary_seq ?? 0;
    if (!question || summarySeq <= resetSeq) return '';
    const earlier: Message[] = [];
    for (let before = summarySeq + 1; earlier.length < RECALL_SCAN && before > resetSeq + 1;) {
      const page = await this.deps.store.listMessages(agent.app_id, conversationId, { before, limit: HISTORY_PAGE });
      if (page.messages.length === 0) break;
      earlier.unshift(...page.messages.filter((m) => m.seq > resetSeq && m.state === 'complete' && (m.type === 'text' || messageText(m))));
      before = page.messages[0]!.seq;
    }
    const found = recallEarlier(question, earlier);
    if (found.length === 0) return '';
    const names = new Map<string, string>();
    await this.addNames(agent.app_id, names, found);
    return recalledBlock(found, (m) => (m.sender_id === agent.id ? 'Assistant' : (names.get(m.sender_id) ?? m.sender_id)));
  }

  private async addNames(appId: string, names: Map<string, string>, messages: readonly Message[]): Promise<void> {
    const missing = [...new Set(messages.map((m) => m.sender_id))].filter((id) => !names.has(id));
    if (missing.length === 0) return;
    for (const u of await this.deps.store.getUsers(appId, missing)) names.set(u.id, u.name);
  }

  private async summarize(agent: Agent, previous: string, turns: Message[], names: ReadonlyMap<string, string>, context: AgentCallContext): Promise<string> {
    if (agent.config.model.startsWith('local/')) return truncatedSummary(previous, turns);
    try {
      const done = await this.deps.models.complete(
        { model: agent.config.model, messages: summaryRequest(previous, turns, names, agent.id), max_tokens: SUMMARY_MAX_TOKENS, temperature: 0 },
        { context } as RouterCallOptions,
      );
      return done.text.trim() || truncatedSummary(previous, turns);
    } catch (err) {
      // A failed summary must not cost the user their answer: keep a truncated one.
      this.deps.onError(err, `agent ${agent.id} summarizing`);
      return truncatedSummary(previous, turns);
    }
  }

  /**
   * The passages a reply starts from. On a real model (not local/*) with
   * query_rewrite on, the model first turns the question and the recent turns
   * into a few search queries; their results and the question's own are fused
   * by reciprocal rank. Any failure or a slow answer falls back to the
   * question alone: the rewrite may only add, never cost the user the reply.
   */
  private async retrieve(
    agent: Agent, conversationId: string, trigger: Message, screen: PromptScreen | undefined, call: AgentCallContext, signal: AbortSignal,
  ): Promise<Passage[]> {
    const question = messageText(trigger);
    const queries = await this.rewrite(agent, conversationId, trigger, question, screen, call, signal);
    if (queries.length === 0) return this.search(agent, question, screen);
    const lists = await Promise.all([question, ...queries].map((q) => this.search(agent, q, screen)));
    return reciprocalRankFusion(lists, (p) => p.chunk.id).slice(0, agent.config.top_k).map(({ item, score }) => ({ ...item, score }));
  }

  /** Search queries from the model, or [] when rewriting is off, not worth it, or failed. */
  private async rewrite(
    agent: Agent, conversationId: string, trigger: Message, question: string, screen: PromptScreen | undefined, call: AgentCallContext, signal: AbortSignal,
  ): Promise<string[]> {
    const { model, query_rewrite: on } = agent.config;
    // The offline model cannot rewrite; with PII masking on, the question must not leave unmasked in a call of its own.
    if (!on || model.startsWith('local/') || (screen && screen.policy.pii.size > 0) || signal.aborted) return [];
    try {
      if (await this.deps.knowledge.answeredByFaq?.(agent.app_id, agent.config.knowledge_base_ids, question)) return [];
      const memory = await this.deps.store.getAgentMemory(agent.app_id, agent.id, conversationId);
      const page = await this.deps.store.listMessages(agent.app_id, conversationId, { before: trigger.seq, limit: REWRITE_TURNS });
      const recent: Turn[] = page.messages
        .filter((m) => m.seq > (memory?.reset_seq ?? 0) && m.state === 'complete' && messageText(m))
        .map((m) => ({ role: m.sender_id === agent.id ? 'assistant' : 'user', text: messageText(m) }));
      const done = await this.deps.models.complete(
        { model, messages: rewriteRequest(question, recent), max_tokens: REWRITE_MAX_TOKENS, temperature: 0, user: trigger.sender_id },
        { context: { ...call, purpose: 'query_rewrite' }, signal: AbortSignal.any([signal, AbortSignal.timeout(REWRITE_TIMEOUT_MS)]), deadlineMs: REWRITE_TIMEOUT_MS } as RouterCallOptions,
      );
      return parseQueries(done.text, question);
    } catch (err) {
      // A provider error or timeout is in the ledger already; anything else is a bug worth a log line.
      if (!isLlmError(err)) this.deps.onError(err, `agent ${agent.id} rewriting a query`);
      return [];
    }
  }

  /** The citation style of the agent's knowledge base; undefined without one. */
  private async citationStyle(agent: Agent): Promise<CitationStyle | undefined> {
    if (!agent.config.knowledge_base_ids.length || !this.deps.knowledge.citationStyle) return undefined;
    try {
      return await this.deps.knowledge.citationStyle(agent.app_id, agent.config.knowledge_base_ids);
    } catch (err) {
      this.deps.onError(err, `agent ${agent.id} reading the citation style`);
      return 'numbered';
    }
  }

  /** The reply's text and citations as its knowledge base's citation style asks. */
  private styled(content: MessageContent, style: CitationStyle | undefined): MessageContent {
    if (!style) return content;
    const applied = applyCitationStyle(String(content.text ?? ''), content.citations as ReturnType<typeof citationsIn>, style);
    return { ...content, ...applied };
  }

  /** Passages for a query, instruction-like lines taken out before they can reach the prompt. */
  private async search(agent: Agent, query: string, screen: PromptScreen | undefined): Promise<Passage[]> {
    const found = await this.deps.knowledge.search(agent.app_id, agent.config.knowledge_base_ids, query, agent.config.top_k);
    return screen ? found.map((p) => ({ ...p, chunk: { ...p.chunk, text: screen.retrieved(p.chunk.text) } })) : found;
  }

  private async runTool(agent: Agent, call: ToolCall, passages: Passage[], signal: AbortSignal, screen?: PromptScreen): Promise<string> {
    if (call.name === KNOWLEDGE_TOOL) {
      let query = '';
      try {
        query = String((JSON.parse(call.arguments || '{}') as { query?: unknown }).query ?? '');
      } catch {
        return 'Tool error: the arguments were not valid JSON.';
      }
      const found = await this.search(agent, query, screen);
      const fresh = found.filter((p) => !passages.some((q) => q.chunk.id === p.chunk.id));
      const first = passages.length;
      passages.push(...fresh);
      return fresh.length === 0 ? 'No new passages found.' : formatKnowledgeBlock(fresh, first + 1);
    }
    const tool = agent.config.tools.find((t) => t.name === call.name);
    if (!tool) return `Tool error: there is no tool named ${call.name}.`;
    return this.deps.httpTools.call(agent, tool, call.arguments, signal);
  }

  private finalContent(
    agent: Agent, trigger: Message, text: string, passages: Passage[], usage: Usage, model: string,
    unseenImages: number, error?: { code: string; message: string },
  ): MessageContent {
    const notice = unseenImages > 0 ? `${model} cannot see images, so the image was not seen; describe it in words if it matters.` : undefined;
    const body = notice ? `${text}\n\n_(${notice})_` : text;
    const cost = this.deps.costOf?.(model, usage);
    return {
      text: body || error?.message || '',
      model,
      reply_to: trigger.id,
      citations: citationsIn(text, passages),
      usage: {
        prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, cached_tokens: usage.cachedTokens,
        reasoning_tokens: usage.reasoningTokens, estimated: usage.estimated,
      },
      ...(cost && { cost }),
      ...(notice && { notice }),
      ...(error && { error }),
    };
  }

  private state(agent: Agent, conversationId: string, state: AgentStateFrame['state'], messageId?: string): void {
    this.deps.publish({
      to: 'conversation', app_id: agent.app_id, conversation_id: conversationId,
      frame: { type: 'agent.state', conversation_id: conversationId, agent_id: agent.id, state, ...(messageId && { message_id: messageId }), ts: Date.now() },
    });
  }
}

export { citationsIn } from './citations.ts';

/** Why a reply failed, in words a person can act on. */
export function explain(err: unknown, model: string): { code: string; message: string } {
  if (!isLlmError(err)) return { code: 'internal', message: 'Something went wrong while answering. Please try again.' };
  const messages: Partial<Record<LlmError['kind'], string>> = {
    rate_limited: 'The AI model is busy right now (rate limited). Please try again in a moment.',
    timeout: 'The AI model took too long to answer. Please try again.',
    server: 'The AI model provider had an error. Please try again in a moment.',
    connection: 'The AI model provider could not be reached. Please try again later.',
    unavailable: 'The AI model is unavailable right now. Please try again later.',
    cut_stream: 'The answer was cut off by the model provider. Please ask again.',
    malformed: 'The model provider sent an answer Warbler could not read. Please ask again.',
    auth: 'The model provider refused the API key. An operator needs to check the provider settings.',
    not_found: `The model "${model}" is not configured. An operator needs to add it or pick another model for this assistant.`,
    bad_request: 'The model provider refused the request. An operator may need to check this assistant\'s settings.',
  };
  return { code: err.kind, message: messages[err.kind] ?? `The model could not answer (${err.message}).` };
}

const key = (appId: string, id: string) => `${appId}\u0000${id}`;

/** What the summary takes in the prompt (the line that introduces it included). */
const summaryTokens = (summary: string) => (summary ? countTextTokens(summary) + 10 : 0);

