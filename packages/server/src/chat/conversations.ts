import type { Conversation, ConversationKind, ConversationSummary, Member, MemberRole } from '@warbler/protocol';
import { badRequest, forbidden, notFound, notMember, WarblerError } from '../errors.ts';
import { newId } from '../ids.ts';
import { StoreConflict, type Store } from '../store/index.ts';
import type { Actor } from './actor.ts';
import type { PublishChatEvent } from './events.ts';
import type { MemberDirectory } from './members.ts';

export const MAX_GROUP_MEMBERS = 1_000;

export interface CreateConversationInput {
  kind: Extract<ConversationKind, 'direct' | 'group'>;
  member_ids: string[];
  title?: string | null;
  created_by?: string;
}

/** Conversations and their members: creation, membership rules and the member list. */
export class Conversations {
  /** When the user pinned each listed conversation (the member-prefs store); none until app.ts wires it. */
  private pins: (appId: string, userId: string, conversationIds: string[]) => Promise<Map<string, number>> = async () => new Map();

  constructor(
    private readonly store: Store,
    private readonly directory: MemberDirectory,
    private readonly publish: PublishChatEvent,
  ) {}

  /** Returns the conversation and whether it was created now (false: an existing direct chat). */
  async create(actor: Actor, input: CreateConversationInput): Promise<{ conversation: Conversation; created: boolean }> {
    const creator = actor.userId ?? input.created_by;
    if (actor.userId && input.created_by && input.created_by !== actor.userId) {
      throw forbidden('With a user token you can only create conversations as yourself; leave created_by out.');
    }
    const ids = [...new Set([...(creator ? [creator] : []), ...input.member_ids])];
    if (ids.length > MAX_GROUP_MEMBERS) throw badRequest(`A conversation holds at most ${MAX_GROUP_MEMBERS} members.`);
    const users = await this.store.getUsers(actor.appId, ids);
    const missing = ids.filter((id) => !users.some((u) => u.id === id));
    if (missing.length) throw new WarblerError('not_found', `No such user in this app: ${missing.slice(0, 5).join(', ')}. Create users first.`);
    const now = Date.now();

    if (input.kind === 'direct') {
      if (ids.length !== 2) {
        throw badRequest('A direct conversation has exactly two different people: the creator and one other member.');
      }
      const directKey = [...ids].sort().join(':');
      const existing = await this.store.findDirectConversation(actor.appId, directKey);
      if (existing) return { conversation: existing, created: false };
      try {
        const conversation = await this.store.createConversation(
          { id: newId('cnv'), app_id: actor.appId, kind: 'direct', title: null, direct_key: directKey, created_by: creator ?? null, created_at: now },
          ids.map((user_id) => ({ user_id, role: 'member' as MemberRole, joined_at: now })),
        );
        this.announceNew(conversation, ids);
        return { conversation, created: true };
      } catch (err) {
        // Two people opened the same direct chat at once: both get the one that won.
        if (err instanceof StoreConflict) {
          const winner = await this.store.findDirectConversation(actor.appId, directKey);
          if (winner) return { conversation: winner, created: false };
        }
        throw err;
      }
    }

    if (ids.length === 0) throw badRequest('A group needs at least one member.');
    const conversation = await this.store.createConversation(
      { id: newId('cnv'), app_id: actor.appId, kind: 'group', title: input.title ?? null, direct_key: null, created_by: creator ?? null, created_at: now },
      ids.map((user_id) => ({ user_id, role: (user_id === creator ? 'owner' : 'member') as MemberRole, joined_at: now })),
    );
    this.announceNew(conversation, ids);
    return { conversation, created: true };
  }

  /** The conversation, if the actor may see it (members, and the app itself). */
  async get(actor: Actor, conversationId: string): Promise<Conversation> {
    const conversation = await this.store.getConversation(actor.appId, conversationId);
    if (!conversation) throw notFound('The conversation');
    if (actor.userId) await this.requireMember(actor.appId, conversationId, actor.userId);
    return conversation;
  }

  async requireMember(appId: string, conversationId: string, userId: string): Promise<MemberRole> {
    const role = await this.directory.roleOf(appId, conversationId, userId);
    if (!role) {
      // Same answer whether the conversation exists or not: ids of others' chats are not confirmed.
      const exists = await this.store.getConversation(appId, conversationId);
      if (!exists) throw notFound('The conversation');
      throw notMember();
    }
    return role;
  }

  async list(
    actor: Actor,
    userId: string,
    page: { limit: number; before?: number; cursor?: string },
  ): Promise<{ conversations: ConversationSummary[]; next_cursor: string | null; next_before: number | null }> {
    if (actor.userId && actor.userId !== userId) throw forbidden('You can only list your own conversations.');
    const at = page.cursor === undefined ? undefined : readListCursor(page.cursor);
    const rows = await this.store.listConversationsForUser(actor.appId, userId, {
      limit: page.limit,
      ...(at ? { before: at.activity, beforeId: at.id } : page.before !== undefined ? { before: page.before } : {}),
    });
    const pinned = await this.pins(actor.appId, userId, rows.map((r) => r.conversation.id));
    const conversations = rows.map(({ conversation, member, last_message }) => ({
      ...conversation,
      role: member.role,
      read_seq: member.read_seq,
      unread: Math.max(0, conversation.last_seq - member.read_seq),
      last_message,
      pinned: pinned.has(conversation.id),
      muted: member.muted,
    }));
    const last = rows.at(-1)?.conversation;
    const more = rows.length === page.limit && last !== undefined;
    const activity = last ? (last.last_message_at ?? last.created_at) : 0;
    return {
      conversations,
      next_cursor: more ? listCursor(activity, last.id) : null,
      // Kept for clients written before next_cursor: it can skip conversations whose activity ties the page's last one.
      next_before: more ? activity : null,
    };
  }

  /** Lets the list say which conversations the caller pinned (the order stays by activity: clients put pinned ones first). */
  usePins(pins: (appId: string, userId: string, conversationIds: string[]) => Promise<Map<string, number>>): void {
    this.pins = pins;
  }

  async members(actor: Actor, conversationId: string): Promise<Member[]> {
    await this.get(actor, conversationId);
    return this.store.listMembers(actor.appId, conversationId);
  }

  async addMembers(actor: Actor, conversationId: string, userIds: string[], role: MemberRole = 'member'): Promise<Member[]> {
    const conversation = await this.get(actor, conversationId);
    if (conversation.kind === 'direct') throw badRequest('A direct conversation always has two people; create a group to add more.');
    if (actor.userId) {
      const mine = await this.requireMember(actor.appId, conversationId, actor.userId);
      if (mine === 'member') throw forbidden('Only the owner or an admin can add members.');
      if (role === 'owner') throw forbidden('Ownership cannot be given by adding a member.');
    }
    const unique = [...new Set(userIds)];
    const users = await this.store.getUsers(actor.appId, unique);
    const missing = unique.filter((id) => !users.some((u) => u.id === id));
    if (missing.length) throw new WarblerError('not_found', `No such user in this app: ${missing.slice(0, 5).join(', ')}.`);
    const current = await this.directory.members(actor.appId, conversationId);
    if (current.size + unique.filter((id) => !current.has(id)).length > MAX_GROUP_MEMBERS) {
      throw badRequest(`A conversation holds at most ${MAX_GROUP_MEMBERS} members.`);
    }
    const now = Date.now();
    const added = await this.store.addMembers(actor.appId, conversationId, unique.map((user_id) => ({ user_id, role, joined_at: now })));
    if (added.length === 0) return added;
    this.directory.forget(actor.appId, conversationId);
    const fresh = (await this.store.getConversation(actor.appId, conversationId)) ?? conversation;
    for (const member of added) {
      this.publish({ to: 'user', app_id: actor.appId, user_id: member.user_id, frame: { type: 'conversation', conversation: fresh, ts: now } });
      this.publish({
        to: 'conversation', app_id: actor.appId, conversation_id: conversationId, members_changed: true,
        frame: { type: 'member', conversation_id: conversationId, event: 'joined', user_id: member.user_id, member, ts: now },
      });
    }
    return added;
  }

  /** Leave (yourself) or remove someone (owner/admin, or the app). */
  async removeMember(actor: Actor, conversationId: string, userId: string): Promise<void> {
    const conversation = await this.get(actor, conversationId);
    if (conversation.kind === 'direct') throw badRequest('You cannot leave a direct conversation; mute it instead.');
    const target = await this.directory.roleOf(actor.appId, conversationId, userId);
    if (!target) throw notFound('That member');
    const leaving = actor.userId === userId;
    if (actor.userId && !leaving) {
      const mine = await this.requireMember(actor.appId, conversationId, actor.userId);
      if (mine === 'member') throw forbidden('Only the owner or an admin can remove members.');
      if (target === 'owner' || (target === 'admin' && mine !== 'owner')) throw forbidden('You cannot remove someone whose role is equal to or above yours.');
    }
    await this.store.removeMember(actor.appId, conversationId, userId);
    this.directory.forget(actor.appId, conversationId);
    this.publish({
      to: 'conversation', app_id: actor.appId, conversation_id: conversationId, members_changed: true, also_users: [userId],
      frame: { type: 'member', conversation_id: conversationId, event: leaving ? 'left' : 'removed', user_id: userId, member: null, ts: Date.now() },
    });
  }

  async updateMember(actor: Actor, conversationId: string, userId: string, patch: { role?: MemberRole; muted?: boolean }): Promise<Member> {
    await this.get(actor, conversationId);
    if (!(await this.directory.roleOf(actor.appId, conversationId, userId))) throw notFound('That member');
    if (actor.userId) {
      if (patch.muted !== undefined && actor.userId !== userId) throw forbidden('Only the member can mute a conversation for themself.');
      if (patch.role !== undefined) {
        const mine = await this.requireMember(actor.appId, conversationId, actor.userId);
        if (mine !== 'owner') throw forbidden('Only the owner can change roles.');
        if (userId === actor.userId) throw badRequest('The owner cannot change their own role.');
      }
    }
    const member = await this.store.updateMember(actor.appId, conversationId, userId, patch);
    if (!member) throw notFound('That member');
    this.directory.forget(actor.appId, conversationId);
    if (patch.role !== undefined) {
      this.publish({
        to: 'conversation', app_id: actor.appId, conversation_id: conversationId, members_changed: true,
        frame: { type: 'member', conversation_id: conversationId, event: 'updated', user_id: userId, member, ts: Date.now() },
      });
    }
    return member;
  }

  async rename(actor: Actor, conversationId: string, title: string | null): Promise<Conversation> {
    const conversation = await this.get(actor, conversationId);
    if (conversation.kind === 'direct') throw badRequest('Direct conversations have no title.');
    if (actor.userId && (await this.requireMember(actor.appId, conversationId, actor.userId)) === 'member') {
      throw forbidden('Only the owner or an admin can rename this group.');
    }
    const updated = await this.store.updateConversation(actor.appId, conversationId, { title, updated_at: Date.now() });
    if (!updated) throw notFound('The conversation');
    const members = await this.directory.members(actor.appId, conversationId);
    for (const userId of members.keys()) {
      this.publish({ to: 'user', app_id: actor.appId, user_id: userId, frame: { type: 'conversation', conversation: updated, ts: Date.now() } });
    }
    return updated;
  }

  /**
   * A support conversation: the customer and the app's agent, both plain
   * members (a customer cannot add people, rename it or remove the agent).
   * Only the support room creates these; people who take it over join later.
   */
  async createSupport(appId: string, customerId: string, agentId: string, title: string | null): Promise<Conversation> {
    const users = await this.store.getUsers(appId, [customerId, agentId]);
    if (!users.some((u) => u.id === customerId)) throw notFound('The customer');
    if (!users.some((u) => u.id === agentId && u.kind === 'agent')) throw notFound('The support agent');
    const now = Date.now();
    const conversation = await this.store.createConversation(
      { id: newId('cnv'), app_id: appId, kind: 'support', title, direct_key: null, created_by: customerId, created_at: now },
      [{ user_id: customerId, role: 'member', joined_at: now }, { user_id: agentId, role: 'member', joined_at: now }],
    );
    this.announceNew(conversation, [customerId, agentId]);
    return conversation;
  }

  private announceNew(conversation: Conversation, memberIds: string[]): void {
    for (const user_id of memberIds) {
      this.publish({ to: 'user', app_id: conversation.app_id, user_id, frame: { type: 'conversation', conversation, ts: Date.now() } });
    }
  }
}

/** The conversation list's page cursor: the last row's activity time and id, opaque to clients. */
function listCursor(activity: number, id: string): string {
  return Buffer.from(`${activity}:${id}`).toString('base64url');
}

function readListCursor(cursor: string): { activity: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const colon = text.indexOf(':');
  const activity = Number(text.slice(0, colon));
  const id = text.slice(colon + 1);
  if (colon <= 0 || !Number.isSafeInteger(activity) || id.length === 0) {
    throw badRequest('This cursor is not one the conversation list gave out: pass next_cursor from the previous page, or no cursor for the first.');
  }
  return { activity, id };
}

