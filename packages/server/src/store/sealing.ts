import type { EncryptionColumn } from '@warbler/protocol';

/** Columns whose values are sealed at rest, named table.column: part of each sealed value's additional data. */
export type SealedField = EncryptionColumn;

/**
 * What the store seals row values with (encryption at rest, the at-rest
 * room). seal() and open() are synchronous so rows convert in a map; ready()
 * is awaited first, and loads the keys they need.
 */
export interface RowSealer {
  /** Before seal() for this app (seal: true), or open() of these stored values. */
  ready(appId: string, use: { seal?: boolean; stored?: readonly string[] }): Promise<void> | void;
  seal(appId: string, field: SealedField, rowId: string, plaintext: string): string;
  /** The plaintext; throws when a sealed value does not open (altered, moved, or its key is missing). */
  open(appId: string, field: SealedField, rowId: string, stored: string): string;
}

/** Encryption at rest off (store contract tests, WARBLER_ENCRYPTION=off): values are stored as they are. */
export const PLAINTEXT: RowSealer = {
  ready: () => {},
  seal: (_appId, _field, _rowId, plaintext) => plaintext,
  open: (_appId, _field, _rowId, stored) => stored,
};

/** One sealed column of a room's table, and how its row is named in the value's additional data. */
export interface SealedColumn<R> {
  field: SealedField;
  column: keyof R & string;
  /** A value that says nothing (a response's empty history, "[]"): stored as it is, as sealing it would hide nothing and cost a seal per row. */
  empty?: string;
}

/**
 * Seals these columns of rows about to be written (null stays null), for
 * rooms with their own tables: the same keys and format as message content,
 * so rotation and the background job treat them alike.
 */
export async function sealColumns<R extends { app_id: string }>(sealer: RowSealer, rows: readonly R[], columns: ReadonlyArray<SealedColumn<R>>, rowId: (row: R) => string): Promise<R[]> {
  for (const appId of new Set(rows.map((r) => r.app_id))) await sealer.ready(appId, { seal: true });
  return rows.map((row) => {
    const out = { ...row };
    for (const c of columns) {
      const value = row[c.column];
      if (typeof value === 'string' && value !== c.empty) (out as Record<string, unknown>)[c.column] = sealer.seal(row.app_id, c.field, rowId(row), value);
    }
    return out;
  });
}

/** Opens these columns of rows read back; plaintext from before sealing reads as it is. Throws on a value that was altered. */
export async function openColumns<R extends { app_id: string }>(sealer: RowSealer, rows: readonly R[], columns: ReadonlyArray<SealedColumn<R>>, rowId: (row: R) => string): Promise<R[]> {
  const stored = new Map<string, string[]>();
  for (const row of rows) {
    for (const c of columns) {
      const value = row[c.column];
      if (typeof value === 'string') stored.set(row.app_id, [...(stored.get(row.app_id) ?? []), value]);
    }
  }
  for (const [appId, values] of stored) await sealer.ready(appId, { stored: values });
  return rows.map((row) => {
    const out = { ...row };
    for (const c of columns) {
      const value = row[c.column];
      if (typeof value === 'string') (out as Record<string, unknown>)[c.column] = sealer.open(row.app_id, c.field, rowId(row), value);
    }
    return out;
  });
}
