// The reactions room's table: one row per (message, user, emoji).
import type { Kysely } from 'kysely';
import { MAX_REACTION_USERS_LISTED, type ReactionSummary } from '@warbler/protocol';

interface ReactionRow {
  message_id: string;
  user_id: string;
  emoji: string;
  created_at: number | string;
}

export class ReactionsStore {
  constructor(private readonly db: Kysely<any>) {}

  /** Adds the reaction unless the message already carries `maxKinds` other emoji; false when refused for that. */
  async add(r: { appId: string; messageId: string; conversationId: string; userId: string; emoji: string; at: number }, maxKinds: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const kinds = await tx.selectFrom('message_reactions').select('emoji').distinct()
        .where('app_id', '=', r.appId).where('message_id', '=', r.messageId).execute();
      if (kinds.length >= maxKinds && !kinds.some((k: { emoji: string }) => k.emoji === r.emoji)) return false;
      await tx.insertInto('message_reactions')
        .values({ app_id: r.appId, message_id: r.messageId, conversation_id: r.conversationId, user_id: r.userId, emoji: r.emoji, created_at: r.at })
        .onConflict((oc) => oc.columns(['app_id', 'message_id', 'user_id', 'emoji']).doNothing())
        .execute();
      await this.changed(tx, r.appId, r.messageId, r.conversationId, r.at);
      return true;
    });
  }

  async remove(r: { appId: string; messageId: string; conversationId: string; userId: string; emoji: string; at: number }): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('message_reactions')
        .where('app_id', '=', r.appId).where('message_id', '=', r.messageId).where('user_id', '=', r.userId).where('emoji', '=', r.emoji).execute();
      await this.changed(tx, r.appId, r.messageId, r.conversationId, r.at);
    });
  }

  /** Messages of these conversations whose reactions changed at or after `since` (ms), at most `limit`, newest change first. */
  async changedSince(appId: string, conversationIds: readonly string[], since: number, limit: number): Promise<Array<{ message_id: string; conversation_id: string }>> {
    if (conversationIds.length === 0) return [];
    return (await this.db.selectFrom('reaction_changes').select(['message_id', 'conversation_id'])
      .where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).where('changed_at', '>=', since)
      .orderBy('changed_at', 'desc').limit(limit).execute()) as Array<{ message_id: string; conversation_id: string }>;
  }

  /** Remembers when the message's reactions last changed: a removal leaves no reaction row to tell a reconnecting client. */
  private async changed(db: Kysely<any>, appId: string, messageId: string, conversationId: string, at: number): Promise<void> {
    await db.insertInto('reaction_changes').values({ app_id: appId, message_id: messageId, conversation_id: conversationId, changed_at: at })
      .onConflict((oc) => oc.columns(['app_id', 'message_id']).doUpdateSet({ changed_at: at }))
      .execute();
  }

  /** Each message's reactions, emoji in the order first used, users in the order they reacted. */
  async summaries(appId: string, messageIds: readonly string[]): Promise<Map<string, ReactionSummary[]>> {
    const out = new Map<string, ReactionSummary[]>();
    if (messageIds.length === 0) return out;
    const rows = (await this.db.selectFrom('message_reactions').select(['message_id', 'user_id', 'emoji', 'created_at'])
      .where('app_id', '=', appId).where('message_id', 'in', [...messageIds])
      .orderBy('created_at').orderBy('user_id').execute()) as ReactionRow[];
    for (const row of rows) {
      let list = out.get(row.message_id);
      if (!list) out.set(row.message_id, (list = []));
      let summary = list.find((s) => s.emoji === row.emoji);
      if (!summary) list.push((summary = { emoji: row.emoji, count: 0, user_ids: [] }));
      summary.count++;
      if (summary.user_ids.length < MAX_REACTION_USERS_LISTED) summary.user_ids.push(row.user_id);
    }
    return out;
  }
}
