import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSource, WebSourceCreate, WebSourceRun } from '@warbler/protocol';
import { badRequest, notFound, WarblerError } from '../../errors.ts';
import type { FetchPage, IngestJob } from '../ingest/index.ts';
import { PollLoop } from '../poll-loop.ts';
import { forbidsIndexing, looksLikePage, normalizePageUrl, pageLinks, readSitemap, robotsRules, type RobotsRules } from './site.ts';
import type { WebPageRow, WebSourceRow, WebSourceStore } from './web-store.ts';

export interface WebSourcesOptions {
  store: WebSourceStore;
  /** Where fetched pages go: queued and parsed like uploads, under one document id per address. */
  pages: {
    queuePage(appId: string, kbId: string, page: { url: string; text: string; headers?: Record<string, string> }): Promise<IngestJob>;
    forgetPage(appId: string, kbId: string, url: string): Promise<void>;
  };
  knowledge: { get(appId: string, kbId: string): Promise<unknown> };
  /** GET under the outbound address policy (the SSRF rules of agent tools); without it, web sources are refused. */
  fetchPage?: FetchPage;
  /** Bytes read of one page or sitemap at most (the upload size limit). */
  maxBytes: number;
  /** Sources per knowledge base at most; 20 by default. */
  maxSourcesPerKb?: number;
  /** How long a node holds a run before another may take it over; renewed while it runs. 5 min by default. */
  leaseMs?: number;
  /** How often due sources are looked for; 30 s by default. */
  pollMs?: number;
  /** One node alone on its database: runs its last process left going are taken back at start. */
  singleNode?: boolean;
  /** The longest pause honoured between two requests to a site that asks for one (Crawl-delay); 5 s by default. */
  maxDelayMs?: number;
  now?: () => number;
  onError?: (err: unknown, where: string) => void;
}

const FETCH_TIMEOUT_MS = 20_000;
const NESTED_SITEMAPS = 10;
const KEPT_ERRORS = 10;
const USER_AGENT = 'Warbler knowledge crawler (+robots.txt respected)';

type Counts = Omit<WebSourceRun, 'started_at' | 'finished_at'>;

/**
 * Websites a knowledge base reads: one page, the pages of a sitemap, or a
 * crawl of a site's links (same origin, depth and page limits, robots.txt
 * and `noindex` respected, every request under the outbound address policy).
 * Each source runs again on its schedule: pages are asked for conditionally
 * (ETag / Last-Modified), only a page whose content changed is parsed and
 * indexed again, and pages that are gone leave the knowledge base. Runs are
 * leased in the database, so with several nodes each happens once.
 */
export class WebSources {
  private readonly now: () => number;
  private readonly loop: PollLoop;

  constructor(private readonly options: WebSourcesOptions) {
    this.now = options.now ?? Date.now;
    this.loop = new PollLoop((force) => this.runDue(force), options.pollMs ?? 30_000);
  }

  async create(appId: string, kbId: string, input: WebSourceCreate): Promise<WebSource> {
    if (!this.options.fetchPage) throw new WarblerError('unavailable', 'Web imports are not available on this server.');
    const url = normalizePageUrl(input.url, 'https://invalid.invalid/');
    if (!url || !/^https?:\/\//i.test(input.url.trim())) throw badRequest('Give a full web address starting with https://, like https://example.com/help/ or https://example.com/sitemap.xml.');
    await this.options.knowledge.get(appId, kbId);
    const max = this.options.maxSourcesPerKb ?? 20;
    if ((await this.options.store.count(appId, kbId)) >= max) {
      throw new WarblerError('conflict', `A knowledge base reads at most ${max} websites; remove one first.`);
    }
    const now = this.now();
    const row: WebSourceRow = {
      app_id: appId, id: `web_${randomBytes(12).toString('base64url')}`, kb_id: kbId, url,
      settings: { mode: input.mode, max_pages: input.max_pages, max_depth: input.max_depth, resync_hours: input.resync_hours },
      status: 'queued', reason: null, last_run: null, next_run_at: null, lease_until: null, created_at: now, updated_at: now,
    };
    await this.options.store.insert(row);
    this.kick();
    return this.view(row, 0);
  }

  async list(appId: string, kbId: string): Promise<WebSource[]> {
    await this.options.knowledge.get(appId, kbId);
    const rows = await this.options.store.list(appId, kbId);
    const counts = await this.options.store.pageCounts(appId, rows.map((r) => r.id));
    return rows.map((r) => this.view(r, counts.get(r.id) ?? 0));
  }

  async get(appId: string, kbId: string, id: string): Promise<WebSource> {
    const row = await this.row(appId, kbId, id);
    return this.view(row, (await this.options.store.pageCounts(appId, [id])).get(id) ?? 0);
  }

  /** Reads the site again now instead of at its next scheduled time. */
  async resync(appId: string, kbId: string, id: string): Promise<WebSource> {
    await this.row(appId, kbId, id);
    if (!(await this.options.store.requeue(appId, id, this.now()))) throw new WarblerError('conflict', 'This website is being read right now; wait until the run ends.');
    this.kick();
    return this.get(appId, kbId, id);
  }

  /** Stops reading the site; its pages leave the knowledge base. */
  async remove(appId: string, kbId: string, id: string): Promise<void> {
    const row = await this.row(appId, kbId, id);
    if (row.status === 'running' && (row.lease_until ?? 0) > this.now()) throw new WarblerError('conflict', 'This website is being read right now; wait until the run ends, then remove it.');
    for (const url of (await this.options.store.pages(appId, id)).keys()) await this.options.pages.forgetPage(appId, kbId, url);
    await this.options.store.delete(appId, id);
  }

  // ---- the scheduler ----

  async start(): Promise<void> {
    if (this.options.singleNode) {
      // Runs this node's last process left going: due again at once.
      for (const { app_id, id } of await this.options.store.due(Number.MAX_SAFE_INTEGER, 1_000)) {
        const row = await this.options.store.get(app_id, id);
        if (row?.status === 'running') await this.options.store.requeue(app_id, id, this.now()).catch(() => false);
      }
    }
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  kick(): void {
    this.loop.kick();
  }

  /** Runs every due source until none is left; resolves when done. For tests and tools. */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  private async runDue(force: boolean): Promise<void> {
    try {
      for (;;) {
        const due = await this.options.store.due(this.now(), 5);
        if (!due.length) return;
        for (const { app_id, id } of due) {
          if (this.loop.stopped && !force) return;
          const row = await this.options.store.claim(app_id, id, this.now(), this.leaseMs);
          if (row) await this.run(row);
        }
      }
    } catch (err) {
      this.options.onError?.(err, 'web sources');
    }
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 5 * 60_000;
  }

  // ---- one run ----

  private async run(source: WebSourceRow): Promise<void> {
    const started = this.now();
    const counts: Counts = { found: 0, added: 0, changed: 0, unchanged: 0, removed: 0, excluded: 0, failed: 0, over_limit: 0, errors: [] };
    const { store } = this.options;
    const next = source.settings.resync_hours === null ? null : started + source.settings.resync_hours * 3_600_000;
    try {
      const outcome = await this.read(source, counts);
      if (outcome.problem) {
        // Nothing is removed on a run that could not read the site: its pages stay as they were until a run can.
        await store.finish(source.app_id, source.id, { status: 'failed', reason: outcome.problem, last_run: { ...counts, started_at: started, finished_at: this.now() }, next_run_at: next, updated_at: this.now() });
        return;
      }
      await store.finish(source.app_id, source.id, { status: 'idle', reason: null, last_run: { ...counts, started_at: started, finished_at: this.now() }, next_run_at: next, updated_at: this.now() });
    } catch (err) {
      this.options.onError?.(err, `web source ${source.id}`);
      await store.finish(source.app_id, source.id, {
        status: 'failed', reason: `The run stopped on an error (${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}); it is tried again at the next resync.`,
        last_run: { ...counts, started_at: started, finished_at: this.now() }, next_run_at: next ?? this.now() + 3_600_000, updated_at: this.now(),
      }).catch((e: unknown) => this.options.onError?.(e, 'web sources'));
    }
  }

  /** Reads the source's pages into the knowledge base; a `problem` means the site could not be read at all. */
  private async read(source: WebSourceRow, counts: Counts): Promise<{ problem?: string }> {
    const { store, pages } = this.options;
    const { app_id: appId, kb_id: kbId } = source;
    const start = new URL(source.url);
    const robotsUrl = `${start.origin}/robots.txt`;
    const robotsAnswer = await this.fetch(robotsUrl).catch((err: unknown) => err);
    if (robotsAnswer instanceof Error && robotsAnswer.name === 'OutboundRefused') return { problem: robotsAnswer.message };
    const robotsRead = robotsAnswer instanceof Error ? undefined : (robotsAnswer as { status: number; text: string });
    if (!robotsRead || robotsRead.status >= 500) {
      return { problem: `${robotsUrl} ${robotsRead ? `answered HTTP ${robotsRead.status}` : 'could not be reached'}; the site is read again at the next resync.` };
    }
    const rules = robotsRules(robotsUrl, robotsRead);
    const delay = Math.min(rules.delayMs, this.options.maxDelayMs ?? 5_000);

    const known = await store.pages(appId, source.id);
    const kept = new Set<string>();
    const queue: Array<{ url: string; depth: number }> = [];
    const queued = new Set<string>();
    const push = (url: string, depth: number) => {
      if (queued.has(url) || new URL(url).origin !== start.origin || !looksLikePage(url)) return;
      queued.add(url);
      queue.push({ url, depth });
    };
    if (source.settings.mode === 'sitemap') {
      const listed = await this.sitemapPages(source.url, rules, counts);
      if ('problem' in listed) return listed;
      for (const url of listed.pages) push(url, 0);
    } else {
      push(source.url, 0);
    }

    let read = 0;
    for (let i = 0; i < queue.length; i++) {
      if (this.loop.stopped) throw new Error('the server is stopping');
      const { url, depth } = queue[i]!;
      counts.found++;
      if (!rules.allows(url)) {
        counts.excluded++;
        continue;
      }
      if (read >= source.settings.max_pages) {
        // Not read this time, not gone either: a page beyond the limit keeps its earlier copy.
        counts.over_limit++;
        if (known.has(url)) kept.add(url);
        continue;
      }
      if (read > 0 && delay > 0) await sleep(delay);
      read++;
      if (read % 10 === 0) await store.renew(appId, source.id, this.now() + this.leaseMs);
      const before = known.get(url);
      const page = await this.readPage(appId, kbId, url, before, counts);
      if (page.keep) kept.add(url);
      if (page.row) await store.putPage(appId, source.id, page.row, this.now());
      const links = page.links ?? page.row?.links ?? (page.keep ? before?.links : undefined) ?? [];
      if (source.settings.mode === 'crawl' && depth < source.settings.max_depth) for (const link of links) push(link, depth + 1);
    }

    // Pages read before that are not there any more (gone, excluded now, or no longer linked) leave the knowledge base.
    for (const url of known.keys()) {
      if (kept.has(url)) continue;
      await pages.forgetPage(appId, kbId, url);
      await store.deletePage(appId, source.id, url);
      counts.removed++;
    }
    return {};
  }

  /** One page: asked for conditionally, queued when new or changed; `keep` says it still exists. */
  private async readPage(appId: string, kbId: string, url: string, before: WebPageRow | undefined, counts: Counts): Promise<{ keep: boolean; row?: WebPageRow; links?: string[] }> {
    const fail = (reason: string) => {
      counts.failed++;
      if (counts.errors.length < KEPT_ERRORS) counts.errors.push({ url, reason });
      // A page that failed this time is not known to be gone: its earlier copy stays.
      return { keep: before !== undefined };
    };
    const headers: Record<string, string> = {};
    if (before?.etag) headers['if-none-match'] = before.etag;
    if (before?.last_modified) headers['if-modified-since'] = before.last_modified;
    let answer: Awaited<ReturnType<FetchPage>>;
    try {
      answer = await this.fetch(url, headers);
    } catch (err) {
      return fail(err instanceof Error && err.name === 'OutboundRefused' ? err.message : `could not be reached (${err instanceof Error && err.name === 'TimeoutError' ? 'no answer in 20 s' : 'connection failed'})`);
    }
    if (answer.status === 304 && before) {
      counts.unchanged++;
      return { keep: true };
    }
    if (answer.status === 404 || answer.status === 410) return { keep: false };
    if (answer.status < 200 || answer.status > 299) return fail(`answered HTTP ${answer.status}`);
    const html = !answer.headers?.['content-type'] || /html/i.test(answer.headers['content-type']);
    const links = html ? pageLinks(answer.text, answer.url) : [];
    const row: WebPageRow = {
      url, etag: answer.headers?.etag ?? null, last_modified: answer.headers?.['last-modified'] ?? null,
      content_hash: createHash('sha256').update(answer.text).digest('base64url'), links,
    };
    if (html && forbidsIndexing(answer.text)) {
      // Followed (its links count) but not indexed: the page asked for that.
      counts.excluded++;
      return { keep: false, links };
    }
    if (!answer.text.trim()) return fail('is empty');
    if (before && before.content_hash === row.content_hash) {
      counts.unchanged++;
      return { keep: true, row };
    }
    try {
      await this.options.pages.queuePage(appId, kbId, { url, text: answer.text, ...(answer.headers && { headers: answer.headers }) });
    } catch (err) {
      return fail(err instanceof Error ? err.message : 'could not be queued');
    }
    if (before) counts.changed++;
    else counts.added++;
    return { keep: true, row };
  }

  /** The pages a sitemap (and the sitemaps it lists, one level down) names, allowed ones on the sitemap's own origin. */
  private async sitemapPages(address: string, rules: RobotsRules, counts: Counts): Promise<{ pages: string[] } | { problem: string }> {
    const origin = new URL(address).origin;
    let first: Awaited<ReturnType<FetchPage>>;
    try {
      first = await this.fetch(address);
    } catch (err) {
      return { problem: err instanceof Error && err.name === 'OutboundRefused' ? err.message : `${address} could not be reached; the sitemap is read again at the next resync.` };
    }
    if (first.status < 200 || first.status > 299) return { problem: `${address} answered HTTP ${first.status}; check the sitemap's address.` };
    const top = readSitemap(first.text);
    const pages = [...top.pages];
    for (const nested of top.sitemaps.slice(0, NESTED_SITEMAPS)) {
      const url = normalizePageUrl(nested, address);
      if (!url || new URL(url).origin !== origin || !rules.allows(url)) continue;
      try {
        const answer = await this.fetch(url);
        if (answer.status >= 200 && answer.status < 300) pages.push(...readSitemap(answer.text).pages);
        else counts.errors.length < KEPT_ERRORS && counts.errors.push({ url, reason: `answered HTTP ${answer.status}` });
      } catch {
        if (counts.errors.length < KEPT_ERRORS) counts.errors.push({ url, reason: 'could not be reached' });
      }
    }
    return { pages: pages.flatMap((p) => normalizePageUrl(p, address) ?? []) };
  }

  private fetch(url: string, headers: Record<string, string> = {}): ReturnType<FetchPage> {
    return this.options.fetchPage!(url, {
      method: 'GET', headers: { accept: 'text/html, application/xml;q=0.9, text/markdown;q=0.9, text/plain;q=0.8', 'user-agent': USER_AGENT, ...headers },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), maxBytes: this.options.maxBytes,
    });
  }

  private async row(appId: string, kbId: string, id: string): Promise<WebSourceRow> {
    const row = await this.options.store.get(appId, id);
    if (!row || row.kb_id !== kbId) throw notFound('The website');
    return row;
  }

  private view(row: WebSourceRow, pages: number): WebSource {
    return {
      id: row.id, kb_id: row.kb_id, url: row.url, ...row.settings, status: row.status, reason: row.reason, pages,
      last_run: row.last_run, next_run_at: row.status === 'queued' ? this.now() : row.next_run_at, created_at: row.created_at, updated_at: row.updated_at,
    };
  }
}
