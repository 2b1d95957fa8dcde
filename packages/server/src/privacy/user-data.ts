// A user's data on request: everything Warbler keeps about one user as one
// zip (access and portability, GDPR art. 15/20, PIPL art. 45), and erasure
// (GDPR art. 17, PIPL art. 47) that keeps conversations readable for the
// others: the user's messages become placeholders under a pseudonym.
import { createHmac, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Conversation, Member, Message, UserErasure } from '@warbler/protocol';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { WarblerError } from '../errors.ts';
import type { PrivacyStore } from './privacy-store.ts';

/** What this room needs of the chat, tenancy and files rooms. */
export interface UserDataDeps {
  store: PrivacyStore;
  getUser(appId: string, userId: string): Promise<Record<string, unknown> | undefined>;
  revokeTokens(appId: string, userId: string): Promise<unknown>;
  conversationIdsOf(appId: string, userId: string): Promise<string[]>;
  getConversation(appId: string, conversationId: string): Promise<Conversation | undefined>;
  listMembers(appId: string, conversationId: string): Promise<Member[]>;
  listMessages(appId: string, conversationId: string, page: { after: number; limit: number }): Promise<{ messages: Message[]; has_more: boolean }>;
  getMessage(appId: string, messageId: string): Promise<Message | undefined>;
  /** Replaces a message and tells every member's client (message.updated). */
  replaceMessage(appId: string, messageId: string, patch: { content: Record<string, unknown>; state?: 'recalled'; updated_at: number }): Promise<unknown>;
  /** Takes a member out of a group conversation and tells the others. */
  removeMember(appId: string, conversationId: string, userId: string): Promise<void>;
  /** Forget cached memberships of a conversation (after rows changed underneath). */
  forgetMembers(appId: string, conversationId: string): void;
  openFile(appId: string, fileId: string): Promise<Readable>;
  /** Where uploads live: file rows hold paths relative to it. */
  filesDir: string;
  /** Keys the pseudonyms the audit log names users by. */
  masterKey: string;
  /** The webhooks room's deliveries whose event names the user (they carry ids, and message.created carries text). */
  webhooks?: { naming(appId: string, userId: string): Promise<unknown[]>; forget(appId: string, userId: string): Promise<number> };
}

const PAGE = 200;

export class UserData {
  constructor(private readonly deps: UserDataDeps) {}

  /**
   * How the audit log names a user whose data was exported or erased: a keyed
   * hash, so the log never holds the id (which may be an e-mail address), yet
   * whoever holds the master key can check whether user X was erased.
   */
  subjectRef(appId: string, userId: string): string {
    return `subject_${createHmac('sha256', this.deps.masterKey).update(`${appId}\u0000${userId}`).digest('hex').slice(0, 24)}`;
  }

  /** The user's data as a zip stream; throws not_found before anything is streamed. */
  async export(appId: string, userId: string): Promise<{ filename: string; stream: Readable }> {
    const profile = await this.deps.getUser(appId, userId);
    if (!profile) throw new WarblerError('not_found', 'There is no such user in this app (erased users have nothing left to export).');
    const conversationIds = await this.deps.conversationIdsOf(appId, userId);
    const conversations: Array<Conversation & { membership: Member | null; member_ids: string[] }> = [];
    for (const id of conversationIds) {
      const conversation = await this.deps.getConversation(appId, id);
      if (!conversation) continue;
      const members = await this.deps.listMembers(appId, id);
      conversations.push({ ...conversation, membership: members.find((m) => m.user_id === userId) ?? null, member_ids: members.map((m) => m.user_id) });
    }
    const { sent, feedback } = await this.scan(appId, userId, conversationIds);
    const files = await this.deps.store.filesByUploader(appId, userId);
    const ledger = await this.deps.store.ledgerRowsOfUser(appId, userId);
    const support = await this.deps.store.supportRowsOfUser(appId, userId);
    const deliveries = (await this.deps.webhooks?.naming(appId, userId)) ?? [];
    const visitor = widgetVisitor(profile);

    const out = new PassThrough();
    const zip = new Zip((err, chunk, final) => {
      if (err) return void out.destroy(err);
      out.write(Buffer.from(chunk));
      if (final) out.end();
    });
    const json = (name: string, value: unknown) => addText(zip, name, `${JSON.stringify(value, null, 2)}\n`);
    const lines = (name: string, rows: unknown[]) => addText(zip, name, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
    const write = async () => {
      addText(zip, 'README.txt', readme(userId, new Date()));
      json('profile.json', profile);
      json('conversations.json', conversations);
      lines('messages.jsonl', sent);
      json('feedback.json', feedback);
      lines('ledger.jsonl', ledger);
      json('support.json', { ...(visitor && { widget_visitor: visitor }), support_role: support.staff, conversations: support.conversations, actions: support.events, notes_written: support.notes });
      lines('webhook-deliveries.jsonl', deliveries);
      json('files.json', files.map(({ path: _p, ...f }) => ({ ...f, archive_path: fileEntryName(f) })));
      for (const f of files) {
        const entry = new ZipPassThrough(fileEntryName(f));
        zip.add(entry);
        const stream = await this.deps.openFile(appId, f.id).catch(() => undefined);
        if (stream) {
          for await (const chunk of stream) {
            entry.push(chunk as Uint8Array);
            if (out.writableNeedDrain) await new Promise((resolve) => out.once('drain', resolve));
          }
        }
        entry.push(new Uint8Array(0), true);
      }
      zip.end();
    };
    write().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
    return { filename: `warbler-user-${userId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}.zip`, stream: out };
  }

  /** Erases the user; other members keep the conversations, with placeholders where the user's messages were. */
  async erase(appId: string, userId: string): Promise<UserErasure & { subject: string }> {
    const profile = await this.deps.getUser(appId, userId);
    if (!profile) throw new WarblerError('not_found', 'There is no such user in this app (already erased, or never created).');
    if (profile.kind === 'agent') throw new WarblerError('bad_request', 'This user is an AI agent: remove the agent instead (DELETE /api/agents/:id).');
    // Signed out everywhere first, so nothing new is written while the rest goes.
    await this.deps.revokeTokens(appId, userId);
    const pseudonym = `erased_${randomBytes(9).toString('base64url')}`;
    const conversationIds = await this.deps.conversationIdsOf(appId, userId);
    const now = Date.now();

    let replaced = 0;
    for (let after: string | undefined; ; ) {
      const ids = await this.deps.store.messageIdsBySender(appId, userId, after);
      for (const id of ids) {
        await this.deps.replaceMessage(appId, id, { content: { erased: true }, state: 'recalled', updated_at: now });
        replaced++;
      }
      if (ids.length === 0) break;
      after = ids[ids.length - 1];
    }
    // Their ratings live in agents' replies (content.feedback[user id]).
    const { rated } = await this.scan(appId, userId, conversationIds);
    for (const message of rated) {
      const feedback = { ...(message.content.feedback as Record<string, unknown>) };
      delete feedback[userId];
      await this.deps.replaceMessage(appId, message.id, { content: { ...message.content, feedback }, updated_at: now });
    }
    // Group members see the user leave; direct conversations (which nobody leaves) lose the row underneath.
    for (const id of conversationIds) {
      const conversation = await this.deps.getConversation(appId, id);
      if (conversation && conversation.kind !== 'direct') await this.deps.removeMember(appId, id, userId).catch(() => {});
    }
    const files = await this.deps.store.filesByUploader(appId, userId);
    for (const f of files) await this.removeBytes(f.path);
    // Before the user row goes: a delivery that fails here leaves the user to erase again, not events about them behind.
    const deliveries = (await this.deps.webhooks?.forget(appId, userId)) ?? 0;
    const removed = await this.deps.store.eraseUserRows(appId, userId, pseudonym, conversationIds);
    for (const id of conversationIds) this.deps.forgetMembers(appId, id);
    return {
      user_id: pseudonym, subject: this.subjectRef(appId, userId), messages_replaced: replaced, files_removed: files.length,
      memberships_removed: conversationIds.length, ledger_rows_anonymized: removed.ledger, agent_memories_removed: removed.memories,
      support_conversations_anonymized: removed.support, support_notes_removed: removed.notes, webhook_deliveries_removed: deliveries,
    };
  }

  /** Removes an upload's bytes; a path that would leave the uploads folder is refused rather than followed. */
  async removeBytes(relative: string): Promise<void> {
    const full = path.resolve(this.deps.filesDir, relative);
    if (!full.startsWith(path.resolve(this.deps.filesDir) + path.sep)) throw new Error(`refusing to remove ${relative}: outside the uploads folder`);
    await rm(full, { force: true });
  }

  /** One pass over the user's conversations: what they sent there, and the replies they rated. */
  private async scan(appId: string, userId: string, conversationIds: readonly string[]): Promise<{ sent: Message[]; feedback: Array<{ message_id: string; conversation_id: string; rating: unknown }>; rated: Message[] }> {
    const sent: Message[] = [];
    const rated: Message[] = [];
    const seen = new Set<string>();
    for (const id of conversationIds) {
      for (let after = 0; ; ) {
        const page = await this.deps.listMessages(appId, id, { after, limit: PAGE });
        for (const m of page.messages) {
          if (m.sender_id === userId) {
            sent.push(m);
            seen.add(m.id);
          }
          const fb = m.content.feedback;
          if (fb && typeof fb === 'object' && !Array.isArray(fb) && userId in fb) rated.push(m);
        }
        if (!page.has_more || page.messages.length === 0) break;
        after = page.messages[page.messages.length - 1]!.seq;
      }
    }
    // Messages in conversations the user has since left.
    for (let after: string | undefined; ; ) {
      const ids = await this.deps.store.messageIdsBySender(appId, userId, after);
      for (const id of ids) {
        if (seen.has(id)) continue;
        const m = await this.deps.getMessage(appId, id);
        if (m) sent.push(m);
      }
      if (ids.length === 0) break;
      after = ids[ids.length - 1];
    }
    const feedback = rated.map((m) => ({ message_id: m.id, conversation_id: m.conversation_id, rating: (m.content.feedback as Record<string, unknown>)[userId] }));
    return { sent, feedback, rated };
  }
}

/** How the widget knows a visitor (anonymous, from a browser's visitor key; or identified, signed by the company): from the profile it made. */
function widgetVisitor(profile: Record<string, unknown>): Record<string, unknown> | undefined {
  let metadata = profile.metadata;
  if (typeof metadata === 'string') {
    try {
      metadata = JSON.parse(metadata) as unknown;
    } catch {
      return undefined;
    }
  }
  const m = metadata as { source?: unknown; locale?: unknown } | null;
  if (!m || m.source !== 'widget') return undefined;
  return { source: 'widget', locale: m.locale ?? null, anonymous: String(profile.id ?? '').startsWith('wv_') };
}

function addText(zip: Zip, name: string, text: string): void {
  const entry = new ZipDeflate(name, { level: 6 });
  zip.add(entry);
  entry.push(new TextEncoder().encode(text), true);
}

function fileEntryName(f: { id: string; name: string }): string {
  return `files/${f.id.replace(/[^A-Za-z0-9_-]/g, '_')}-${f.name.replace(/[\u0000-\u001f/\\:*?"<>|]/g, '_').slice(0, 120)}`;
}

function readme(userId: string, at: Date): string {
  return [
    `Everything Warbler keeps about user ${userId}, exported ${at.toISOString()}.`,
    '',
    'profile.json        the user: name, avatar, metadata',
    'conversations.json  conversations the user is a member of, with their membership (role, read position) and the member ids',
    'messages.jsonl      every message the user sent, one JSON object a line (conversation id, seq, content, state, times)',
    'feedback.json       ratings the user gave to AI replies',
    'ledger.jsonl        model calls attributed to the user (tokens, cost, model, outcome)',
    'support.json        support conversations as customer or assignee (state, outcome, rating, times), support actions taken, internal notes written, the support role, and how the widget knows a visitor',
    'webhook-deliveries.jsonl  events sent (or to be sent) to the app\'s webhook endpoints that name the user, as sent',
    'files.json, files/  files the user uploaded, as uploaded',
    '',
  ].join('\n');
}
