import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Store } from '../store/index.ts';

export type PresenceStore = Pick<Store, 'takeLease' | 'dropLease' | 'listLeases'>;

/** Work claimed by a node is marked until it is released; whether the node still lives is its presence lease. */
const CLAIM_MS = 100 * 365 * 24 * 3_600_000;

/**
 * Which nodes of a cluster are alive, and what work each holds. A node holds
 * the lease `node:<id>` while it runs, renewed every third of `ttlMs`; work it
 * starts (a streaming reply) is claimed under its id. Work whose node's lease
 * has run out belongs to nobody: any node may settle it. All in the store,
 * the truth the nodes already share, so it survives a Redis restart.
 */
export class NodePresence {
  readonly id: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: PresenceStore,
    private readonly ttlMs: number,
    id?: string,
  ) {
    // Host and process in the id, so an operator reading the leases table can tell which node holds what.
    this.id = id ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  }

  async start(): Promise<void> {
    await this.store.takeLease(nodeLease(this.id), this.id, Date.now(), this.ttlMs);
    this.timer = setInterval(() => {
      this.store.takeLease(nodeLease(this.id), this.id, Date.now(), this.ttlMs).catch(() => {});
    }, Math.max(10, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.store.dropLease(nodeLease(this.id), this.id).catch(() => {});
  }

  claim(work: string): Promise<unknown> {
    return this.store.takeLease(work, this.id, Date.now(), CLAIM_MS);
  }

  release(work: string): Promise<void> {
    return this.store.dropLease(work, this.id);
  }

  /** Of `works`, those claimed by another node that is still alive. */
  async heldByOthers(works: string[]): Promise<Set<string>> {
    const claims = (await this.store.listLeases({ names: works })).filter((c) => c.owner !== this.id);
    if (claims.length === 0) return new Set();
    const now = Date.now();
    const alive = new Set((await this.store.listLeases({ prefix: 'node:' })).filter((n) => n.until >= now).map((n) => n.owner));
    return new Set(claims.filter((c) => alive.has(c.owner)).map((c) => c.name));
  }
}

const nodeLease = (id: string) => `node:${id}`;
