import { createHash } from 'node:crypto';

/** What an audit entry says; the hash covers exactly these fields, in this order. */
export interface AuditContent {
  app_id: string;
  seq: number;
  id: string;
  at: number;
  actor_kind: string;
  actor_id: string | null;
  ip: string | null;
  user_agent: string | null;
  action: string;
  resource: string;
  resource_id: string | null;
  before: string | null;
  after: string | null;
  request_id: string | null;
}

/** The hash before an app's first entry: the chain starts from a known value, so deleting the first row shows. */
export const GENESIS_HASH = '0'.repeat(64);

const FIELDS: ReadonlyArray<keyof AuditContent> = [
  'app_id', 'seq', 'id', 'at', 'actor_kind', 'actor_id', 'ip', 'user_agent', 'action', 'resource', 'resource_id', 'before', 'after', 'request_id',
];

/**
 * sha256 over the previous entry's hash and this entry's fields as a JSON
 * array (fixed order, so no two different entries serialise the same, and
 * numbers read back from either store as the same digits).
 */
export function entryHash(prevHash: string, content: AuditContent): string {
  const fields = FIELDS.map((f) => content[f] ?? null);
  return createHash('sha256').update(prevHash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

export interface ChainBreak {
  seq: number;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'gap';
}

/** Walks entries in seq order; the first entry whose stored hashes do not follow from its content and predecessor is the break. */
export function verifyChain(
  entries: Iterable<AuditContent & { prev_hash: string; hash: string }>,
  start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
): { checked: number; last: { seq: number; hash: string }; broken?: ChainBreak } {
  let prev = start;
  let checked = 0;
  for (const e of entries) {
    if (Number(e.seq) !== prev.seq + 1) return { checked, last: prev, broken: { seq: prev.seq + 1, reason: 'gap' } };
    if (e.prev_hash !== prev.hash) return { checked, last: prev, broken: { seq: Number(e.seq), reason: 'prev_hash_mismatch' } };
    if (entryHash(prev.hash, { ...e, seq: Number(e.seq), at: Number(e.at) }) !== e.hash) return { checked, last: prev, broken: { seq: Number(e.seq), reason: 'hash_mismatch' } };
    prev = { seq: Number(e.seq), hash: e.hash };
    checked++;
  }
  return { checked, last: prev };
}
