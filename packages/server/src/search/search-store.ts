// The search room's table: message_terms, one row per (term, message) with
// the term keyed by the app's index key (blind index, decision 0026). It
// holds no text; reading a message's words back takes the messages table
// and the app's data key, as every other reader does.
import type { Kysely } from 'kysely';

export interface TermHit {
  message_id: string;
  conversation_id: string;
}

/** Most rows one insert carries (PostgreSQL allows 65,535 parameters; SQLite 32,766). */
const INSERT_ROWS = 1_000;

export class MessageTermsStore {
  constructor(private readonly db: Kysely<any>) {}

  /** The message's terms become exactly these (an edit replaces them; none removes the message from the index). */
  async replace(appId: string, messageId: string, conversationId: string, terms: readonly string[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('message_terms').where('app_id', '=', appId).where('message_id', '=', messageId).execute();
      for (let i = 0; i < terms.length; i += INSERT_ROWS) {
        const rows = terms.slice(i, i + INSERT_ROWS).map((term) => ({ app_id: appId, term, message_id: messageId, conversation_id: conversationId }));
        await tx.insertInto('message_terms').values(rows).onConflict((oc) => oc.columns(['app_id', 'term', 'message_id']).doNothing()).execute();
      }
    });
  }

  async remove(appId: string, messageId: string): Promise<void> {
    await this.db.deleteFrom('message_terms').where('app_id', '=', appId).where('message_id', '=', messageId).execute();
  }

  /**
   * Messages that hold every one of `terms`, newest first (message ids are
   * ordered by time), in the conversations the user is a member of now, or
   * in the one named (membership checked by the caller).
   */
  async find(
    appId: string,
    terms: readonly string[],
    scope: { userId: string } | { conversationId: string },
    page: { before?: string; limit: number },
  ): Promise<TermHit[]> {
    if (terms.length === 0) return [];
    let q = this.db
      .selectFrom('message_terms')
      .select(['message_id', 'conversation_id'])
      .where('app_id', '=', appId)
      .where('term', 'in', [...terms]);
    q = 'conversationId' in scope
      ? q.where('conversation_id', '=', scope.conversationId)
      : q.where('conversation_id', 'in', this.db.selectFrom('members').select('conversation_id').where('app_id', '=', appId).where('user_id', '=', scope.userId));
    if (page.before !== undefined) q = q.where('message_id', '<', page.before);
    const rows = await q
      .groupBy(['message_id', 'conversation_id'])
      .having((eb) => eb.fn.countAll(), '=', terms.length)
      .orderBy('message_id', 'desc')
      .limit(page.limit)
      .execute();
    return rows as TermHit[];
  }
}
