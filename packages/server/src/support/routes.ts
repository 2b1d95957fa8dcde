import {
  AssignBody, CannedReply, CannedReplyBody, CannedReplyList, CannedReplyParams, CopilotSuggestion, CsatBody, HandoffBody, NoContent, OpenSupportBody, ResolveBody,
  SupportAgentParams, SupportConversation, SupportConversationParams, SupportHistory, SupportHistoryQuery, SupportMe, SupportNote, SupportNoteBody, SupportNoteList,
  SupportOpened, SupportPolicy, SupportQueuePage, SupportQueueQuery, SupportReport, SupportReportQuery, SupportStaff, SupportStaffList, SupportStaffParams,
} from '@warbler/protocol';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Actor } from '../chat/index.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import type { Inbox } from './inbox.ts';
import { supportReport } from './report.ts';
import type { SupportStore } from './support-store.ts';
import type { Support } from './support.ts';

/** What the routes need of the HTTP room: who is calling. */
export interface SupportGuards {
  actor(request: FastifyRequest): Promise<Actor>;
  app(request: FastifyRequest): Promise<string>;
}

export interface SupportRouteDeps {
  support: Support;
  inbox: Inbox;
  store: SupportStore;
  guards: SupportGuards;
  history(appId: string, conversationId: string, page: { before?: number; after?: number; limit: number }): Promise<SupportHistory>;
}

const Conv = SupportConversationParams;
const Canned = CannedReplyParams;
const StaffParams = SupportStaffParams;
const AgentParams = SupportAgentParams;
const Page = SupportHistoryQuery;
/** Most routes answer the conversation's support state after the change. */
const conversation = { 200: SupportConversation };
const tags = ['support'];

/**
 * /api/support: the customer's side (open, ask for a person, rate), the
 * inbox (queues, claim, assign, transfer, notes, canned replies, copilot)
 * for users with the support role and the app, and the app's settings
 * (the role, policies) and report. docs/support.md describes each.
 */
export const supportRoutes = (deps: SupportRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { support, inbox } = deps;

  /** A support user (user token with the role) or the app itself; staffId null for the app. */
  const staffOrApp = async (request: FastifyRequest): Promise<{ appId: string; staffId: string | null }> => {
    const actor = await deps.guards.actor(request);
    if (actor.userId) await support.requireStaff(actor.appId, actor.userId);
    return { appId: actor.appId, staffId: actor.userId ?? null };
  };
  /** Who may see this conversation: its customer, support users, the app. Anyone else gets not_found, so ids are not confirmed. */
  const party = async (request: FastifyRequest, conversationId: string) => {
    const actor = await deps.guards.actor(request);
    const row = await support.row(actor.appId, conversationId);
    if (!actor.userId) return { appId: actor.appId, row, role: 'app' as const, userId: null };
    if (actor.userId === row.customer_id) return { appId: actor.appId, row, role: 'customer' as const, userId: actor.userId };
    if (await deps.store.isStaff(actor.appId, actor.userId)) return { appId: actor.appId, row, role: 'staff' as const, userId: actor.userId };
    throw notFound('The support conversation');
  };
  const requireStaffUser = async (appId: string, userId: string) => {
    if (!(await deps.store.isStaff(appId, userId))) throw badRequest(`${userId} does not have the support role; grant it first (PUT /api/support/staff/${userId}).`);
  };

  // ---- the customer's side ----

  app.post('/api/support/conversations', {
    schema: { tags, summary: 'Open the visitor\'s support conversation with an agent, or get the open one back', body: OpenSupportBody, response: { 200: SupportOpened, 201: SupportOpened } },
  }, async (request, reply) => {
    const actor = await deps.guards.actor(request);
    if (actor.userId && request.body.customer_id && request.body.customer_id !== actor.userId) throw forbidden('With a user token you open your own support conversation; leave customer_id out.');
    const customerId = actor.userId ?? request.body.customer_id;
    if (!customerId) throw badRequest('Name the customer (customer_id): app-level calls act for one of your users.');
    const opened = await support.openFor(actor.appId, customerId, {
      ...(request.body.agent_id && { agentId: request.body.agent_id }), ...(request.body.locale && { locale: request.body.locale }),
    });
    return reply.status(opened.created ? 201 : 200).send(opened);
  });

  app.get('/api/support/conversations/:conversationId', { schema: { tags, summary: 'A support conversation\'s state', params: Conv, response: conversation } },
    async (request) => support.get((await party(request, request.params.conversationId)).appId, request.params.conversationId));

  app.post('/api/support/conversations/:conversationId/handoff', {
    schema: { tags, summary: 'The customer asks for a person ("talk to a person")', params: Conv, body: HandoffBody, response: conversation },
  }, async (request) => {
    const p = await party(request, request.params.conversationId);
    if (p.role === 'staff') throw badRequest('Support users take a conversation with /claim; /handoff is the customer\'s button.');
    return support.handoff(p.appId, p.row.conversation_id, 'customer_button', request.body.note ?? null, p.userId ?? p.row.customer_id);
  });

  app.post('/api/support/conversations/:conversationId/csat', {
    schema: { tags, summary: 'The customer rates the resolved conversation, 1–5, once', params: Conv, body: CsatBody, response: conversation },
  }, async (request) => {
    const p = await party(request, request.params.conversationId);
    if (p.role === 'staff') throw forbidden('Only the customer rates a conversation.');
    return support.rate(p.appId, p.row.conversation_id, p.row.customer_id, request.body.rating, request.body.comment ?? null);
  });

  app.post('/api/support/conversations/:conversationId/resolve', {
    schema: { tags, summary: 'End the conversation with an outcome (the customer may mark it solved)', params: Conv, body: ResolveBody, response: conversation },
  }, async (request) => {
    const p = await party(request, request.params.conversationId);
    if (p.role === 'customer' && request.body.outcome !== undefined) throw forbidden('A customer marks the conversation solved without naming an outcome.');
    return support.resolve(p.appId, p.row.conversation_id, request.body.outcome, p.userId);
  });

  // ---- the inbox ----

  // Any signed-in user may ask about themselves, so an app shows the inbox to staff without a probe that fails for everyone else.
  app.get('/api/support/me', { schema: { tags, summary: 'Whether the signed-in user has the support role', response: { 200: SupportMe } } },
    async (request) => {
      const actor = await deps.guards.actor(request);
      if (!actor.userId) throw badRequest('Ask with a user token: the app itself is not a support user.');
      return { user_id: actor.userId, staff: await deps.store.isStaff(actor.appId, actor.userId) };
    });

  app.get('/api/support/queue', { schema: { tags, summary: 'A queue: unassigned, mine, all (open) or resolved; newest activity first', querystring: SupportQueueQuery, response: { 200: SupportQueuePage } } },
    async (request) => {
      const { appId, staffId } = await staffOrApp(request);
      const { queue, limit, before } = request.query;
      const conversations = await inbox.queue(appId, queue, staffId, { limit, ...(before !== undefined && { before }) });
      return { conversations, next_before: conversations.length === limit ? (conversations.at(-1)?.updated_at ?? null) : null };
    });

  app.get('/api/support/conversations/:conversationId/messages', {
    schema: { tags, summary: 'The conversation\'s history for support users (before they join it)', params: Conv, querystring: Page, response: { 200: SupportHistory } },
  }, async (request) => {
    const { appId } = await staffOrApp(request);
    await support.row(appId, request.params.conversationId);
    const { before, after, limit } = request.query;
    return deps.history(appId, request.params.conversationId, { limit, ...(before !== undefined && { before }), ...(after !== undefined && { after }) });
  });

  app.post('/api/support/conversations/:conversationId/claim', { schema: { tags, summary: 'Take an unassigned conversation (a support user)', params: Conv, response: conversation } },
    async (request) => {
      const actor = await deps.guards.actor(request);
      if (!actor.userId) throw badRequest('Claiming is done by a support user; with the app secret use /assign.');
      await support.requireStaff(actor.appId, actor.userId);
      return support.assign(actor.appId, request.params.conversationId, actor.userId, { actorId: actor.userId, expect: null });
    });

  app.post('/api/support/conversations/:conversationId/assign', {
    schema: { tags, summary: 'Give the conversation to a support user (taking it from whoever has it)', params: Conv, body: AssignBody, response: conversation },
  }, async (request) => {
    const { appId, staffId } = await staffOrApp(request);
    await requireStaffUser(appId, request.body.user_id);
    return support.assign(appId, request.params.conversationId, request.body.user_id, { actorId: staffId });
  });

  app.post('/api/support/conversations/:conversationId/transfer', {
    schema: { tags, summary: 'Hand your conversation to another support user', params: Conv, body: AssignBody, response: conversation },
  }, async (request) => {
    const { appId, staffId } = await staffOrApp(request);
    const row = await support.row(appId, request.params.conversationId);
    if (staffId && row.assignee_id !== staffId) throw forbidden('Only the person holding the conversation transfers it; others use /assign.');
    if (!row.assignee_id) throw badRequest('Nobody holds this conversation yet; use /assign.');
    await requireStaffUser(appId, request.body.user_id);
    return support.assign(appId, row.conversation_id, request.body.user_id, { actorId: staffId, expect: row.assignee_id });
  });

  app.post('/api/support/conversations/:conversationId/hand-back', { schema: { tags, summary: 'Give the conversation back to the AI', params: Conv, response: conversation } },
    async (request) => {
      const { appId, staffId } = await staffOrApp(request);
      return support.handBack(appId, request.params.conversationId, staffId);
    });

  app.get('/api/support/conversations/:conversationId/notes', { schema: { tags, summary: 'Internal notes (never shown to the customer)', params: Conv, response: { 200: SupportNoteList } } },
    async (request) => {
      const { appId } = await staffOrApp(request);
      return { notes: await inbox.notes(appId, request.params.conversationId) };
    });

  app.post('/api/support/conversations/:conversationId/notes', {
    schema: { tags, summary: 'Add an internal note (support users see it; the customer never does)', params: Conv, body: SupportNoteBody, response: { 201: SupportNote } },
  }, async (request, reply) => {
    const { appId, staffId } = await staffOrApp(request);
    return reply.status(201).send(await inbox.addNote(appId, request.params.conversationId, staffId ?? 'app', request.body.text));
  });

  app.post('/api/support/conversations/:conversationId/suggest', {
    schema: { tags, summary: 'An AI-suggested reply from the agent\'s knowledge base, to edit and send (copilot)', params: Conv, response: { 200: CopilotSuggestion } },
  }, async (request) => {
    const { appId, staffId } = await staffOrApp(request);
    return inbox.suggest(appId, request.params.conversationId, staffId);
  });

  app.get('/api/support/canned-replies', { schema: { tags, summary: 'Canned replies', response: { 200: CannedReplyList } } },
    async (request) => ({ canned_replies: await inbox.listCanned((await staffOrApp(request)).appId) }));

  app.post('/api/support/canned-replies', { schema: { tags, summary: 'Add a canned reply', body: CannedReplyBody, response: { 201: CannedReply } } },
    async (request, reply) => {
      const { appId, staffId } = await staffOrApp(request);
      return reply.status(201).send(await inbox.createCanned(appId, request.body, staffId));
    });

  app.put('/api/support/canned-replies/:cannedId', { schema: { tags, summary: 'Change a canned reply', params: Canned, body: CannedReplyBody, response: { 200: CannedReply } } },
    async (request) => inbox.updateCanned((await staffOrApp(request)).appId, request.params.cannedId, request.body));

  app.delete('/api/support/canned-replies/:cannedId', { schema: { tags, summary: 'Delete a canned reply', params: Canned, response: { 204: NoContent } } },
    async (request, reply) => {
      await inbox.deleteCanned((await staffOrApp(request)).appId, request.params.cannedId);
      return reply.status(204).send(null);
    });

  // ---- the app's settings ----

  app.get('/api/support/staff', { schema: { tags, summary: 'Users with the support role', response: { 200: SupportStaffList } } },
    async (request) => ({ staff: await inbox.staff((await staffOrApp(request)).appId) }));

  app.put('/api/support/staff/:userId', { schema: { tags, summary: 'Grant the support role (app secret)', params: StaffParams, response: { 200: SupportStaff } } },
    async (request) => inbox.grant(await deps.guards.app(request), request.params.userId));

  app.delete('/api/support/staff/:userId', { schema: { tags, summary: 'Take the support role away (app secret)', params: StaffParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await inbox.revoke(await deps.guards.app(request), request.params.userId);
      return reply.status(204).send(null);
    });

  app.get('/api/support/policy', { schema: { tags, summary: 'The app\'s handoff policy and working hours', response: { 200: SupportPolicy } } },
    async (request) => inbox.policy((await staffOrApp(request)).appId, null));

  app.put('/api/support/policy', { schema: { tags, summary: 'Set the app\'s handoff policy and working hours (app secret)', body: SupportPolicy, response: { 200: SupportPolicy } } },
    async (request) => inbox.putPolicy(await deps.guards.app(request), null, request.body));

  app.get('/api/support/agents/:agentId/policy', { schema: { tags, summary: 'The policy in force for one agent', params: AgentParams, response: { 200: SupportPolicy } } },
    async (request) => inbox.policy((await staffOrApp(request)).appId, request.params.agentId));

  app.put('/api/support/agents/:agentId/policy', {
    schema: { tags, summary: 'Set one agent\'s own policy, replacing the app\'s for its conversations (app secret)', params: AgentParams, body: SupportPolicy, response: { 200: SupportPolicy } },
  }, async (request) => inbox.putPolicy(await deps.guards.app(request), request.params.agentId, request.body));

  app.get('/api/support/report', { schema: { tags, summary: 'Outcomes by day, agent, model or handoff reason', querystring: SupportReportQuery, response: { 200: SupportReport } } },
    async (request) => {
      const { appId } = await staffOrApp(request);
      const { since, until, group_by } = request.query;
      return supportReport(deps.store, appId, { group_by, ...(since !== undefined && { since }), ...(until !== undefined && { until }) });
    });
};
