// Retention: per app and per conversation kind, conversations with no
// activity for longer than the policy's days are removed whole (messages,
// members, files and their bytes, agents' memories of them). Whole
// conversations rather than old messages: a conversation's seq is dense and
// clients fill gaps by seq, so a conversation with holes in its history would
// look broken; one idle past the policy has nothing left to show anyway.
import { hostname } from 'node:os';
import type { RetentionPolicy, RetentionPreview } from '@warbler/protocol';
import { WarblerError } from '../errors.ts';
import type { PrivacyStore } from './privacy-store.ts';

const KINDS = ['direct', 'group', 'support'] as const;
const DAY_MS = 86_400_000;
const SAMPLE = 20;

export interface RetentionDeps {
  store: PrivacyStore;
  /** Removes an upload's bytes (UserData.removeBytes). */
  removeBytes(relative: string): Promise<void>;
  forgetMembers(appId: string, conversationId: string): void;
  lease: { take(name: string, owner: string, now: number, ttlMs: number): Promise<boolean>; drop(name: string, owner: string): Promise<void> };
  /** Told after each batch removed, for the audit log. */
  onRemoved(appId: string, removed: { conversations: number; messages: number; files: number; policies: RetentionPolicy[] }): Promise<void>;
  log?: { error(obj: object, msg: string): void };
  now?: () => number;
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly owner = `${hostname()}:${process.pid}:retention`;

  constructor(private readonly deps: RetentionDeps) {}

  async policies(appId: string): Promise<RetentionPolicy[]> {
    return (await this.deps.store.policies(appId)).map((p) => ({ kind: p.kind as RetentionPolicy['kind'], days: p.days }));
  }

  async setPolicies(appId: string, policies: readonly RetentionPolicy[]): Promise<RetentionPolicy[]> {
    const kinds = new Set<string>();
    for (const p of policies) {
      if (kinds.has(p.kind)) throw new WarblerError('bad_request', `Conversation kind "${p.kind}" has two policies; give each kind one.`);
      kinds.add(p.kind);
    }
    await this.deps.store.setPolicies(appId, policies, this.now());
    return this.policies(appId);
  }

  /** What enforcement would remove now, without removing anything. */
  async preview(appId: string): Promise<RetentionPreview> {
    const plan = this.plan(await this.policies(appId));
    let conversations = 0;
    let messages = 0;
    let files = 0;
    const sample: RetentionPreview['sample'] = [];
    for (const { kinds, cutoff } of plan) {
      // More than this is shown as a lower bound rather than read whole.
      const expired = await this.deps.store.expiredConversations(appId, kinds, cutoff, 5_000);
      for (let i = 0; i < expired.length; i += 500) {
        const counts = await this.deps.store.countContents(appId, expired.slice(i, i + 500).map((c) => c.id));
        messages += counts.messages;
        files += counts.files;
      }
      conversations += expired.length;
      for (const c of expired) if (sample.length < SAMPLE) sample.push(c);
    }
    return { conversations, messages, files, sample };
  }

  /** Removes what the app's policies say is due, in batches; returns what was removed. */
  async enforce(appId: string, batchSize = 100): Promise<{ conversations: number; messages: number; files: number }> {
    const policies = await this.policies(appId);
    const total = { conversations: 0, messages: 0, files: 0 };
    for (const { kinds, cutoff } of this.plan(policies)) {
      for (;;) {
        const batch = await this.deps.store.expiredConversations(appId, kinds, cutoff, batchSize);
        if (batch.length === 0) break;
        const ids = batch.map((c) => c.id);
        const counts = await this.deps.store.countContents(appId, ids);
        const paths = await this.deps.store.filePathsOf(appId, ids);
        const removed = await this.deps.store.deleteConversations(appId, ids);
        for (const p of paths) await this.deps.removeBytes(p).catch((err: unknown) => this.deps.log?.error({ err, path: p }, 'retention: could not remove an upload'));
        for (const id of ids) this.deps.forgetMembers(appId, id);
        total.conversations += removed;
        total.messages += counts.messages;
        total.files += paths.length;
        await this.deps.onRemoved(appId, { conversations: removed, messages: counts.messages, files: paths.length, policies });
        if (batch.length < batchSize) break;
      }
    }
    return total;
  }

  /** Runs enforcement for every app with a policy every `intervalMs`, on the one node holding the retention lease. */
  start(intervalMs: number): void {
    const tick = () => {
      this.running ??= this.runOnce(intervalMs).finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async runOnce(intervalMs: number): Promise<void> {
    const lease = 'retention';
    try {
      if (!(await this.deps.lease.take(lease, this.owner, this.now(), Math.max(intervalMs, 60_000)))) return;
      for (const appId of await this.deps.store.appsWithPolicies()) await this.enforce(appId);
    } catch (err) {
      this.deps.log?.error({ err }, 'retention run failed; it is tried again at the next interval');
    }
  }

  /** A kind with its own policy follows it; 'all' covers the kinds without one. */
  private plan(policies: readonly RetentionPolicy[]): Array<{ kinds: string[]; cutoff: number }> {
    const own = new Map(policies.filter((p) => p.kind !== 'all').map((p) => [p.kind, p.days]));
    const all = policies.find((p) => p.kind === 'all');
    const now = this.now();
    const out: Array<{ kinds: string[]; cutoff: number }> = [...own].map(([kind, days]) => ({ kinds: [kind], cutoff: now - days * DAY_MS }));
    const rest = KINDS.filter((k) => !own.has(k));
    if (all && rest.length) out.push({ kinds: rest, cutoff: now - all.days * DAY_MS });
    return out;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }
}
