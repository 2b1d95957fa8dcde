import { randomUUID } from 'node:crypto';
import type { DomainEvents } from '../events/index.ts';
import { entryHash, GENESIS_HASH, verifyChain, type ChainBreak } from './chain.ts';
import type { HeadSigner, SignedHead } from './head-signature.ts';
import { maskForAudit } from './mask.ts';
import type { AuditFilter, AuditRow, AuditStore } from './audit-store.ts';

/** Who did it: the operator's master key, an app's secret (its backend or admin), a user's token, or Warbler itself (retention). */
export type AuditActorKind = 'master_key' | 'app_secret' | 'user' | 'system';

export interface AuditAction {
  appId: string;
  actor: { kind: AuditActorKind; id?: string | null };
  /** Where the request came from. */
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** resource.verb, e.g. agent.update, provider.create, user.erase */
  action: string;
  resource: string;
  resourceId?: string | null;
  /** What the thing looked like before and after; masked here, whatever the caller passes. */
  before?: unknown;
  after?: unknown;
}

/** Why verification failed beyond the chain itself: the signed head says the chain was longer, or differs, or is forged. */
export type HeadBreak = 'truncated' | 'head_mismatch' | 'head_signature_invalid' | 'head_missing';

export interface AuditVerification {
  app_id: string;
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string };
  /** The signed head the chain was checked against (null: the app has no entries). */
  signed_head: SignedHead | null;
  broken?: ChainBreak | { seq: number; reason: HeadBreak };
}

const PAGE = 500;
const MAX_RETRIES = 5;

/**
 * The append-only audit log: one hash chain per app. Appends of one app are
 * serialised on this node; two nodes racing for the same seq collide on the
 * primary key and the loser re-reads the head and tries again.
 */
export class AuditLog {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: AuditStore,
    private readonly signer: HeadSigner,
    private readonly events?: DomainEvents,
  ) {}

  /** The key that signs chain heads: its id and public key (PEM), for checking an exported head elsewhere. */
  get headKey(): { key_id: string; public_key: string } {
    return { key_id: this.signer.keyId, public_key: this.signer.publicKeyPem };
  }

  /** The app's signed head, as exported to keep outside Warbler. */
  head(appId: string): Promise<SignedHead | undefined> {
    return this.store.head(appId);
  }

  /**
   * At start: sign the heads of chains written before heads were signed
   * (trusting the chain as it is now, which verify() checks), and sign again
   * heads signed under a previous master secret. A head that no key of this
   * node verifies is left as it is, so verify() keeps reporting it.
   */
  async signHeads(): Promise<number> {
    let signed = 0;
    for (const chain of await this.store.chains()) {
      if (chain.head && (chain.head.key_id === this.signer.keyId || !this.signer.verify(chain.head))) continue;
      const last = chain.head ? await this.store.at(chain.app_id, chain.head.seq) : await this.store.last(chain.app_id);
      if (!last || (chain.head && last.hash !== chain.head.hash)) continue;
      await this.store.setHead(this.signer.sign({ app_id: chain.app_id, seq: last.seq, hash: last.hash, at: chain.head?.at ?? Date.now() }));
      signed++;
    }
    return signed;
  }

  async record(action: AuditAction): Promise<AuditRow> {
    const row = await this.serial(action.appId, () => this.append(action));
    await this.events?.emit({ type: 'audit.recorded', appId: row.app_id, at: row.at, data: publicEntry(row) });
    return row;
  }

  list(appId: string, filter: AuditFilter): Promise<AuditRow[]> {
    return this.store.list(appId, filter);
  }

  /** Every entry of the app in seq order, page by page (for the JSONL export). */
  async *entries(appId: string): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      const page = await this.store.range(appId, after, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.seq;
    }
  }

  /**
   * Recomputes the app's chain from the start: the first row whose content or
   * links were changed (or that went missing) is reported; then the chain must
   * reach the signed head (deleting the newest entries leaves a valid but
   * shorter chain: 'truncated'). `against`: a head exported earlier, checked
   * the same way (a rollback of both the rows and the stored head shows there).
   */
  async verify(appId: string, against?: SignedHead): Promise<AuditVerification> {
    const signed = against ?? (await this.store.head(appId)) ?? null;
    let head = { seq: 0, hash: GENESIS_HASH };
    let entries = 0;
    let hashAtSigned: string | undefined;
    for (;;) {
      const page = await this.store.range(appId, head.seq, PAGE);
      const result = verifyChain(page, head);
      entries += result.checked;
      if (signed && !hashAtSigned) hashAtSigned = page.find((e) => e.seq === signed.seq)?.hash;
      if (result.broken) return { app_id: appId, ok: false, entries, head: result.last, signed_head: signed, broken: result.broken };
      head = result.last;
      if (page.length < PAGE) break;
    }
    const broken = this.headBreak(signed, head, hashAtSigned, entries);
    return { app_id: appId, ok: broken === undefined, entries, head, signed_head: signed, ...(broken ? { broken } : {}) };
  }

  private headBreak(signed: SignedHead | null, head: { seq: number }, hashAtSigned: string | undefined, entries: number): { seq: number; reason: HeadBreak } | undefined {
    if (!signed) return entries > 0 ? { seq: head.seq, reason: 'head_missing' } : undefined;
    if (!this.signer.verify(signed)) return { seq: signed.seq, reason: 'head_signature_invalid' };
    if (signed.seq > head.seq) return { seq: head.seq + 1, reason: 'truncated' };
    if (hashAtSigned !== signed.hash) return { seq: signed.seq, reason: 'head_mismatch' };
    return undefined;
  }

  private async append(action: AuditAction): Promise<AuditRow> {
    for (let attempt = 0; ; attempt++) {
      const last = (await this.store.last(action.appId)) ?? { seq: 0, hash: GENESIS_HASH };
      const content = {
        app_id: action.appId,
        seq: last.seq + 1,
        id: `aud_${randomUUID().replaceAll('-', '')}`,
        at: Date.now(),
        actor_kind: action.actor.kind,
        actor_id: action.actor.id ?? null,
        ip: action.ip ?? null,
        user_agent: action.userAgent?.slice(0, 512) ?? null,
        action: action.action,
        resource: action.resource,
        resource_id: action.resourceId ?? null,
        before: action.before === undefined ? null : JSON.stringify(maskForAudit(action.before)),
        after: action.after === undefined ? null : JSON.stringify(maskForAudit(action.after)),
        request_id: action.requestId ?? null,
      };
      const row: AuditRow = { ...content, prev_hash: last.hash, hash: entryHash(last.hash, content) };
      try {
        await this.store.insert(row, this.signer.sign({ app_id: row.app_id, seq: row.seq, hash: row.hash, at: row.at }));
        return row;
      } catch (err) {
        // Another node took this seq: read the new head and chain onto it.
        if (attempt >= MAX_RETRIES || (await this.store.last(action.appId))?.seq === last.seq) throw err;
      }
    }
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/** An entry as the API, the export and webhooks show it: before/after parsed back to JSON. */
export function publicEntry(row: AuditRow): Record<string, unknown> {
  return {
    id: row.id, app_id: row.app_id, seq: row.seq, at: row.at,
    actor: { kind: row.actor_kind, id: row.actor_id }, ip: row.ip, user_agent: row.user_agent,
    action: row.action, resource: row.resource, resource_id: row.resource_id,
    before: row.before === null ? null : parse(row.before), after: row.after === null ? null : parse(row.after),
    request_id: row.request_id, prev_hash: row.prev_hash, hash: row.hash,
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A row edited by hand may hold anything; show it as it is (verify will say it was changed).
    return text;
  }
}
