import type { CannedReply, CopilotSuggestion, SupportConversation, SupportNote, SupportPolicy, SupportQueue } from '@warbler/protocol';
import { badRequest, notFound, WarblerError } from '../errors.ts';
import { suggestReply, type CopilotDeps } from './copilot.ts';
import { PerMinute } from './per-minute.ts';
import { APP_POLICY, policyFor, validatePolicy } from './policy.ts';
import type { SupportAgents, Support } from './support.ts';
import type { SupportStore } from './support-store.ts';
import { supportId, toWire } from './wire.ts';

export interface InboxDeps {
  store: SupportStore;
  support: Support;
  agents: SupportAgents;
  copilot: CopilotDeps;
  /** Whether the user exists in the app and is a person (support roles go to people, not agents). */
  isPerson(appId: string, userId: string): Promise<boolean>;
  now?: () => number;
}

const MAX_NOTES_PER_CONVERSATION = 500;
const MAX_CANNED_PER_APP = 500;
const MAX_STAFF_LISTED = 1_000;

/**
 * What support people work with: the queues, internal notes (kept beside the
 * conversation, never a message, so no customer path can see them), canned
 * replies, the copilot, and who holds the `support` role.
 */
export class Inbox {
  private readonly copilotCalls = new PerMinute(20, 'suggested replies');
  private readonly noteWrites = new PerMinute(60, 'notes');
  private readonly now: () => number;

  constructor(private readonly deps: InboxDeps) {
    this.now = deps.now ?? Date.now;
  }

  async queue(appId: string, queue: SupportQueue, staffId: string | null, page: { limit: number; before?: number }): Promise<SupportConversation[]> {
    const { store } = this.deps;
    const filter = { limit: page.limit, ...(page.before !== undefined && { before: page.before }) };
    const rows = queue === 'unassigned' ? await store.list(appId, { ...filter, statuses: ['pending_human'], assignee: null })
      : queue === 'mine' ? (staffId ? await store.list(appId, { ...filter, statuses: ['pending_human', 'human'], assignee: staffId }) : [])
      : queue === 'resolved' ? await store.list(appId, { ...filter, statuses: ['resolved', 'closed'] })
      : await store.list(appId, { ...filter, statuses: ['bot', 'pending_human', 'human'] });
    return rows.map(toWire);
  }

  // ---- notes ----

  async addNote(appId: string, conversationId: string, authorId: string, text: string): Promise<SupportNote> {
    const row = await this.deps.support.row(appId, conversationId);
    this.noteWrites.take(`${appId}\u0000${authorId}`);
    if ((await this.deps.store.noteCount(appId, conversationId)) >= MAX_NOTES_PER_CONVERSATION) {
      throw badRequest(`A conversation holds at most ${MAX_NOTES_PER_CONVERSATION} notes.`);
    }
    const note: SupportNote = { id: supportId('snt'), conversation_id: conversationId, author_id: authorId, text, created_at: this.now() };
    await this.deps.store.addNote(appId, note);
    await this.deps.support.pushToStaff(row, 'note', { note });
    return note;
  }

  async notes(appId: string, conversationId: string): Promise<SupportNote[]> {
    await this.deps.support.row(appId, conversationId);
    return this.deps.store.notes(appId, conversationId, MAX_NOTES_PER_CONVERSATION);
  }

  // ---- canned replies ----

  async createCanned(appId: string, input: { title: string; text: string }, by: string | null): Promise<CannedReply> {
    if ((await this.deps.store.countCanned(appId)) >= MAX_CANNED_PER_APP) throw badRequest(`An app holds at most ${MAX_CANNED_PER_APP} canned replies; delete some first.`);
    const now = this.now();
    const reply: CannedReply = { id: supportId('cnd'), title: input.title, text: input.text, created_by: by, created_at: now, updated_at: now };
    await this.deps.store.putCanned(appId, reply);
    return reply;
  }

  async updateCanned(appId: string, id: string, input: { title: string; text: string }): Promise<CannedReply> {
    const existing = await this.deps.store.getCanned(appId, id);
    if (!existing) throw notFound('The canned reply');
    const reply = { ...existing, ...input, updated_at: this.now() };
    await this.deps.store.putCanned(appId, reply);
    return reply;
  }

  async deleteCanned(appId: string, id: string): Promise<void> {
    if (!(await this.deps.store.deleteCanned(appId, id))) throw notFound('The canned reply');
  }

  listCanned(appId: string): Promise<CannedReply[]> {
    return this.deps.store.listCanned(appId, MAX_CANNED_PER_APP);
  }

  // ---- the support role ----

  async grant(appId: string, userId: string): Promise<{ user_id: string; granted_at: number }> {
    if (!(await this.deps.isPerson(appId, userId))) throw notFound('That user (a person, not an agent)');
    const now = this.now();
    await this.deps.store.grant(appId, userId, now);
    return { user_id: userId, granted_at: now };
  }

  async revoke(appId: string, userId: string): Promise<void> {
    if (!(await this.deps.store.revoke(appId, userId))) throw notFound('That support user');
  }

  staff(appId: string): Promise<{ user_id: string; granted_at: number }[]> {
    return this.deps.store.staff(appId, MAX_STAFF_LISTED);
  }

  // ---- policy ----

  async policy(appId: string, agentId: string | null): Promise<SupportPolicy> {
    if (agentId !== null) this.requireAgent(appId, agentId);
    return policyFor(this.deps.store, appId, agentId ?? APP_POLICY);
  }

  async putPolicy(appId: string, agentId: string | null, policy: SupportPolicy): Promise<SupportPolicy> {
    if (agentId !== null) this.requireAgent(appId, agentId);
    const valid = validatePolicy(policy);
    await this.deps.store.putPolicy(appId, agentId ?? APP_POLICY, valid, this.now());
    return valid;
  }

  private requireAgent(appId: string, agentId: string): void {
    if (!this.deps.agents.get(appId, agentId)) throw notFound('The agent');
  }

  // ---- copilot ----

  async suggest(appId: string, conversationId: string, staffId: string | null): Promise<CopilotSuggestion> {
    const row = await this.deps.support.row(appId, conversationId);
    const agent = this.deps.agents.get(appId, row.agent_id);
    if (!agent) throw new WarblerError('not_found', 'The conversation\'s agent was removed, so there is no knowledge base to draft from.');
    this.copilotCalls.take(`${appId}\u0000${staffId ?? 'app'}`);
    return suggestReply(this.deps.copilot, agent, row, staffId, AbortSignal.timeout(60_000));
  }
}
