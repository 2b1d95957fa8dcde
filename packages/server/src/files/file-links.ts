import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedFileUrl {
  /** Path and query, relative to the server: usable as <img src> with no header. */
  url: string;
  /** Milliseconds since the epoch. */
  expires_at: number;
}

export type LinkCheck = 'ok' | 'expired' | 'invalid';

/**
 * Short-lived download links, each bound to one file of one app. A user token
 * in a URL lands in logs, browser history and Referer headers for its whole
 * 7-30 day life; a link like this is worth one file for a few minutes.
 */
export class FileLinks {
  private readonly key: Buffer;

  constructor(
    masterKey: string,
    /** A link lives between one and two of these. */
    readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    // A key of its own, so no other signature made from the master key can pass for a file link.
    this.key = createHmac('sha256', masterKey).update('warbler/file-links/v1').digest();
  }

  mint(appId: string, fileId: string): SignedFileUrl {
    // Expiry on a whole window: links minted close together are identical, so the browser's cache holds across re-renders and reloads.
    const nowSeconds = Math.floor(this.now() / 1000);
    const exp = (Math.floor(nowSeconds / this.ttlSeconds) + 2) * this.ttlSeconds;
    const query = new URLSearchParams({ app: appId, exp: String(exp), sig: this.signature(appId, fileId, exp) });
    return { url: `/api/files/${encodeURIComponent(fileId)}?${query}`, expires_at: exp * 1000 };
  }

  check(appId: string, fileId: string, exp: string, sig: string): LinkCheck {
    if (!/^\d{1,12}$/.test(exp)) return 'invalid';
    const expected = Buffer.from(this.signature(appId, fileId, Number(exp)));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number(exp) * 1000 <= this.now() ? 'expired' : 'ok';
  }

  private signature(appId: string, fileId: string, exp: number): string {
    // JSON keeps the three parts apart whatever characters an id holds.
    return createHmac('sha256', this.key).update(JSON.stringify([appId, fileId, exp])).digest('base64url');
  }
}
