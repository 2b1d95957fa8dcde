/** Columns whose values are sealed at rest, named table.column: part of each sealed value's additional data. */
export type SealedField = 'messages.content' | 'kb_documents.text' | 'kb_chunks.text' | 'dataset_items.data' | 'dataset_results.answer';

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
