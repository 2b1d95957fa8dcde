import type { Kysely } from 'kysely';
import type { Faq } from '@warbler/protocol';
import { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn } from '../../store/index.ts';

export type FaqRow = Faq & { app_id: string };

const COLUMNS = ['app_id', 'id', 'kb_id', 'question', 'answer', 'origin', 'message_id', 'created_at', 'updated_at'] as const;
/** Questions and answers are often lifted from customer conversations: sealed at rest. */
const SEALED: ReadonlyArray<SealedColumn<{ app_id: string; id: string; question: string; answer: string }>> = [
  { field: 'kb_faqs.question', column: 'question' }, { field: 'kb_faqs.answer', column: 'answer' },
];
const rowId = (r: { id: string }) => r.id;

/** The FAQ room's one table, kb_faqs. */
export class FaqStore {
  constructor(
    private readonly db: Kysely<any>,
    private readonly sealer: RowSealer = PLAINTEXT,
  ) {}

  async insert(rows: FaqRow[]): Promise<void> {
    if (rows.length) await this.db.insertInto('kb_faqs').values(await sealColumns(this.sealer, rows, SEALED, rowId)).execute();
  }

  async list(appId: string, kbIds: readonly string[], limit: number): Promise<FaqRow[]> {
    if (!kbIds.length) return [];
    const rows = await this.db.selectFrom('kb_faqs').select(COLUMNS).where('app_id', '=', appId).where('kb_id', 'in', [...kbIds])
      .orderBy('created_at').orderBy('id').limit(limit).execute();
    return (await openColumns(this.sealer, rows.map(num), SEALED, rowId));
  }

  async count(appId: string, kbId: string): Promise<number> {
    const row = await this.db.selectFrom('kb_faqs').select((eb) => eb.fn.countAll<number>().as('n')).where('app_id', '=', appId).where('kb_id', '=', kbId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async get(appId: string, id: string): Promise<FaqRow | undefined> {
    const row = await this.db.selectFrom('kb_faqs').select(COLUMNS).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row ? (await openColumns(this.sealer, [num(row)], SEALED, rowId))[0] : undefined;
  }

  async update(appId: string, id: string, patch: Pick<FaqRow, 'question' | 'answer' | 'updated_at'>): Promise<boolean> {
    const [sealed] = await sealColumns(this.sealer, [{ app_id: appId, id, ...patch }], SEALED, rowId);
    const r = await this.db.updateTable('kb_faqs').set({ question: sealed!.question, answer: sealed!.answer, updated_at: patch.updated_at })
      .where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
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
