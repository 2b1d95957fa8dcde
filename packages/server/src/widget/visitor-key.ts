import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from '../auth/secrets.ts';

/**
 * An anonymous visitor's key: `wvk.<user id>.<mac>`, kept in the visitor's
 * localStorage. It proves the browser is the visitor it was before (and so
 * may read that visitor's history) without a table: the MAC is over the app
 * and the user id, with a key derived from the master key.
 */
export class VisitorKeys {
  private readonly key: Buffer;

  constructor(masterKey: string) {
    this.key = createHmac('sha256', masterKey).update('warbler widget visitor keys v1').digest();
  }

  newVisitorId(): string {
    return `wv_${randomBytes(12).toString('base64url')}`;
  }

  keyFor(appId: string, userId: string): string {
    return `wvk.${userId}.${this.mac(appId, userId)}`;
  }

  /** The visitor's user id when the key is this app's and untampered; undefined otherwise. */
  userOf(appId: string, key: string): string | undefined {
    const m = /^wvk\.(wv_[A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(key);
    if (!m) return undefined;
    return safeEqual(this.mac(appId, m[1]!), m[2]!) ? m[1] : undefined;
  }

  private mac(appId: string, userId: string): string {
    return createHmac('sha256', this.key).update(`${appId}\n${userId}`).digest('base64url');
  }
}
