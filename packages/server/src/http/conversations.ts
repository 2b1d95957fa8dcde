import {
  AddedMembers, AddMembersBody, Conversation, ConversationListQuery, ConversationPage, CreateConversationBody, EditMessageBody, HistoryQuery,
  HistoryResult, Member, MemberList, Message, MessageIdParams, NoContent, ReadBody, Receipts, RenameConversationBody, SendMessageBody,
  SentMessage, UpdateMemberBody,
} from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { HttpDeps } from './deps.ts';

const Conv = z.object({ conversationId: z.string().min(1) });
const ConvMember = Conv.extend({ userId: z.string().min(1) });

/** Conversations, members and messages, for an app's backend or a signed-in user. */
export const conversationRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  const { guards, conversations, messages } = deps;

  app.post('/api/conversations', {
    schema: {
      tags: ['conversations'], summary: 'Create a direct or group conversation (an existing direct one is returned with 200)',
      body: CreateConversationBody, response: { 200: Conversation, 201: Conversation },
    },
  }, async (request, reply) => {
    const { conversation, created } = await conversations.create(await guards.actor(request), request.body);
    return reply.status(created ? 201 : 200).send(conversation);
  });

  app.get('/api/conversations', {
    schema: {
      tags: ['conversations'], summary: "A user's conversations, most recent activity first",
      querystring: ConversationListQuery, response: { 200: ConversationPage },
    },
  }, async (request) => {
    const actor = await guards.actor(request);
    const userId = request.query.user_id ?? actor.userId;
    if (!userId) throw badRequest('Name the user whose conversations to list: ?user_id=…');
    const { limit, cursor, before } = request.query;
    return conversations.list(actor, userId, { limit, ...(cursor !== undefined ? { cursor } : {}), ...(before !== undefined ? { before } : {}) });
  });

  app.get('/api/conversations/:conversationId', { schema: { tags: ['conversations'], summary: 'One conversation', params: Conv, response: { 200: Conversation } } },
    async (request) => conversations.get(await guards.actor(request), request.params.conversationId));

  app.patch('/api/conversations/:conversationId', {
    schema: {
      tags: ['conversations'], summary: 'Rename a group (its owner or an admin, or the app)',
      description: 'Sets or clears (null) the title of a group or support conversation. With a user token the caller must be the owner or an admin of the conversation; with the app secret any conversation of the app. Members are told with a `conversation` event.',
      params: Conv, body: RenameConversationBody, response: { 200: Conversation },
    },
  }, async (request) => conversations.rename(await guards.actor(request), request.params.conversationId, request.body.title));

  app.get('/api/conversations/:conversationId/members', { schema: { tags: ['members'], summary: 'Members', params: Conv, response: { 200: MemberList } } },
    async (request) => ({ members: await conversations.members(await guards.actor(request), request.params.conversationId) }));

  app.post('/api/conversations/:conversationId/members', {
    schema: { tags: ['members'], summary: 'Add members to a group', params: Conv, body: AddMembersBody, response: { 200: AddedMembers } },
  }, async (request) => ({
    added: await conversations.addMembers(await guards.actor(request), request.params.conversationId, request.body.user_ids, request.body.role),
  }));

  app.delete('/api/conversations/:conversationId/members/:userId', {
    schema: { tags: ['members'], summary: 'Leave, or remove a member', params: ConvMember, response: { 204: NoContent } },
  }, async (request, reply) => {
    await conversations.removeMember(await guards.actor(request), request.params.conversationId, request.params.userId);
    return reply.status(204).send(null);
  });

  app.patch('/api/conversations/:conversationId/members/:userId', {
    schema: { tags: ['members'], summary: 'Change a role or mute', params: ConvMember, body: UpdateMemberBody, response: { 200: Member } },
  }, async (request) => {
    const actor = await guards.actor(request);
    const member = await conversations.updateMember(actor, request.params.conversationId, request.params.userId, request.body);
    if (request.body.muted !== undefined) await deps.memberPrefs?.announce(actor.appId, request.params.conversationId, request.params.userId);
    return member;
  });

  app.post('/api/conversations/:conversationId/messages', {
    schema: {
      tags: ['messages'], summary: 'Send a message (a resend with the same client_msg_id returns the stored one with 200)', params: Conv,
      body: SendMessageBody, response: { 200: SentMessage, 201: SentMessage },
    },
  }, async (request, reply) => {
    const result = await messages.send(await guards.actor(request), { conversation_id: request.params.conversationId, ...request.body });
    return reply.status(result.duplicate ? 200 : 201).send(result);
  });

  app.get('/api/conversations/:conversationId/messages', {
    schema: { tags: ['messages'], summary: 'A page of history, oldest first', params: Conv, querystring: HistoryQuery, response: { 200: HistoryResult } },
  }, async (request) => messages.history(await guards.actor(request), request.params.conversationId, request.query));

  app.post('/api/conversations/:conversationId/read', {
    schema: { tags: ['messages'], summary: 'Move the read receipt forward', params: Conv, body: ReadBody, response: { 200: Receipts } },
  }, async (request) => messages.markRead(await guards.actor(request), request.params.conversationId, request.body.seq, request.body.user_id));

  app.patch('/api/messages/:messageId', {
    schema: { tags: ['messages'], summary: 'Edit your own text message', params: MessageIdParams, body: EditMessageBody, response: { 200: Message } },
  }, async (request) => messages.edit(await guards.actor(request), request.params.messageId, request.body.content));

  app.post('/api/messages/:messageId/recall', {
    schema: { tags: ['messages'], summary: 'Recall your own message', params: MessageIdParams, response: { 200: Message } },
  }, async (request) => messages.recall(await guards.actor(request), request.params.messageId));
};
