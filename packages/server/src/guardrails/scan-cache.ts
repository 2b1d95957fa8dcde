// What a policy found in texts that come back on call after call: the
// system prompt (the same on every call of an app), and the earlier turns a
// chat client sends again with each new one. Scanning is a pure function of
// the text, so the result of the last scan is kept, keyed by the exact text.
//
// Bounded by entries and by characters, least recently used out first. Only
// texts in which no personal data was found are kept: masked values live as
// long as their call (decision 0012), and the cache must not keep them longer.

const MAX_ENTRIES = 256;
/** Total characters of the texts kept (UTF-16: twice that in bytes). */
const MAX_CHARS = 1_000_000;
/** A longer text is scanned every time: one such prompt must not push every system prompt out. */
const MAX_TEXT = 64_000;

export class ScanCache<T> {
  private readonly entries = new Map<string, T>();
  private chars = 0;

  constructor(
    private readonly maxEntries = MAX_ENTRIES,
    private readonly maxChars = MAX_CHARS,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(text: string): T | undefined {
    const hit = this.entries.get(text);
    if (hit === undefined) return undefined;
    // Most recently used last (Map keeps insertion order).
    this.entries.delete(text);
    this.entries.set(text, hit);
    return hit;
  }

  set(text: string, value: T): void {
    if (text.length > MAX_TEXT || text.length > this.maxChars || this.entries.has(text)) return;
    this.entries.set(text, value);
    this.chars += text.length;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}
