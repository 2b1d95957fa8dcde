import type { FileLink } from '@warbler/sdk';

/** A link is renewed once less than this is left, so a download started from it still has time to begin. */
const RENEW_BEFORE_MS = 60_000;
/** After a failed request, wait this long before asking again, however often the screen redraws. */
const RETRY_AFTER_MS = 10_000;

/**
 * Links to files for <img src> and downloads. A link lasts minutes and
 * carries no token: each file's is asked for when first shown, and again
 * shortly before it expires, so a page left open (or reloaded) keeps working.
 */
export class FileLinks {
  private readonly links = new Map<string, FileLink>();
  private readonly asking = new Set<string>();
  private readonly failedAt = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly mint: (fileId: string) => Promise<FileLink>,
    /** Called when a link arrives or is due for renewal: whoever shows it asks again. */
    private readonly changed: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The link to use now; undefined until the first one has arrived. */
  get(fileId: string): string | undefined {
    const link = this.links.get(fileId);
    const left = link ? link.expires_at - this.now() : 0;
    if (left <= RENEW_BEFORE_MS) this.ask(fileId);
    return link && left > 0 ? link.url : undefined;
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private ask(fileId: string): void {
    if (this.asking.has(fileId) || this.now() - (this.failedAt.get(fileId) ?? -Infinity) < RETRY_AFTER_MS) return;
    this.asking.add(fileId);
    this.mint(fileId).then(
      (link) => {
        this.asking.delete(fileId);
        this.failedAt.delete(fileId);
        this.links.set(fileId, link);
        this.renewLater(fileId, link);
        this.changed();
      },
      () => {
        // Shown as an image that did not load; a later redraw asks again.
        this.asking.delete(fileId);
        this.failedAt.set(fileId, this.now());
      },
    );
  }

  private renewLater(fileId: string, link: FileLink): void {
    clearTimeout(this.timers.get(fileId));
    const due = Math.max(0, link.expires_at - RENEW_BEFORE_MS - this.now());
    this.timers.set(fileId, setTimeout(() => {
      this.timers.delete(fileId);
      this.changed();
    }, due));
  }
}
