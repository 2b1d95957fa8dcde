import type { DialectTraits } from './kysely-store.ts';
import { StoreConflict, StoreNotFound } from './port.ts';

/**
 * Runs a write and turns the database's constraint errors into the port's
 * errors, with messages a caller can act on: a unique violation is a
 * StoreConflict, a foreign-key violation (when `missing` says what is
 * missing) a StoreNotFound. Shared by every Kysely store.
 */
export async function guardWrite<T>(
  traits: Pick<DialectTraits, 'isUniqueViolation' | 'isForeignKeyViolation'>,
  messages: { conflict: string; missing?: string },
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (traits.isUniqueViolation(error)) throw new StoreConflict(messages.conflict);
    if (messages.missing && traits.isForeignKeyViolation(error)) throw new StoreNotFound(messages.missing);
    throw error;
  }
}
