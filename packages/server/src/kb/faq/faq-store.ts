import type { Kysely } from 'kysely';
import type { Faq } from '@warbler/protocol';

export type FaqRow = Faq & { app_id: string };

const COLUMNS = ['app_id', 'id', 'kb_id', 'question', 'answer', 'origin', 'message_id', 'created_at', 'updated_at'] as const;

/** The FAQ room's one table, kb_faqs. */
export class FaqStore {
  constructor(private readonly db: Kysely<any>) {}

  async insert(rows: FaqRow[]): Promise<void> {
    if (rows.length) await this.db.insertInto('kb_faqs').values(rows).execute();
  }

  async list(appId: string, kbIds: readonly string[], limit: number): Promise<FaqRow[]> {
    if (!kbIds.length) return [];
    const rows = await this.db.selectFrom('kb_faqs').select(COLUMNS).where('app_id', '=', appId).where('kb_id', 'in', [...kbIds])
      .orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map(num);
  }

  async count(appId: string, kbId: string): Promise<number> {
    const row = await this.db.selectFrom('kb_faqs').select((eb) => eb.fn.countAll<number>().as('n')).where('app_id', '=', appId).where('kb_id', '=', kbId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async get(appId: string, id: string): Promise<FaqRow | undefined> {
    const row = await this.db.selectFrom('kb_faqs').select(COLUMNS).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row ? num(row) : undefined;
  }

  async update(appId: string, id: string, patch: Pick<FaqRow, 'question' | 'answer' | 'updated_at'>): Promise<boolean> {
    const r = await this.db.updateTable('kb_faqs').set(patch).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(appId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('kb_faqs').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}

function num(row: Record<string, unknown>): FaqRow {
  return { ...row, created_at: Number(row['created_at']), updated_at: Number(row['updated_at']) } as FaqRow;
}
