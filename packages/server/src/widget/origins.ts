import type { WidgetStore } from './store.ts';

/** How long a node trusts its copy of the allowed origins; a change reaches every node within it. */
const FRESH_MS = 5_000;

/** The origins each app's operator allowed, cached briefly: every cross-origin API call asks. */
export class WidgetOrigins {
  private byApp = new Map<string, Set<string>>();
  private anywhere = new Set<string>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: WidgetStore,
    private readonly now: () => number = Date.now,
  ) {}

  async allowed(appId: string, origin: string): Promise<boolean> {
    await this.fresh();
    return this.byApp.get(appId)?.has(origin.toLowerCase()) ?? false;
  }

  /** Whether any app allows the origin: a preflight names no app, so the real request is checked again. */
  async allowedAnywhere(origin: string): Promise<boolean> {
    await this.fresh();
    return this.anywhere.has(origin.toLowerCase());
  }

  /** After a change on this node: the next check reads the store. */
  forget(): void {
    this.loadedAt = -Infinity;
  }

  private async fresh(): Promise<void> {
    if (this.now() - this.loadedAt < FRESH_MS) return;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async load(): Promise<void> {
    const started = this.now();
    const byApp = new Map<string, Set<string>>();
    const anywhere = new Set<string>();
    for (const row of await this.store.allOrigins()) {
      const origins = new Set((JSON.parse(row.allowed_origins) as string[]).map((o) => o.toLowerCase()));
      byApp.set(row.app_id, origins);
      for (const o of origins) anywhere.add(o);
    }
    this.byApp = byApp;
    this.anywhere = anywhere;
    this.loadedAt = started;
  }
}
