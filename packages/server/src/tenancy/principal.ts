import { appIdOfSecret, safeEqual, secretMatches } from '../auth/secrets.ts';
import { looksLikeJwt, type UserTokens } from '../auth/tokens.ts';
import { WarblerError } from '../errors.ts';
import type { Store } from '../store/index.ts';

/** Who presented which credential. */
export type Principal =
  | { kind: 'operator'; appId?: string }
  | { kind: 'app'; appId: string }
  | { kind: 'user'; appId: string; userId: string };

const unauthorized = () =>
  new WarblerError('unauthorized', 'Send a valid credential in the Authorization header: Bearer <app secret | user token | master key>.');

/** Turns a bearer credential into a Principal, or throws unauthorized. */
export class Authenticator {
  constructor(
    private readonly store: Store,
    private readonly tokens: UserTokens,
    private readonly masterKey: string,
  ) {}

  async authenticate(credential: string | undefined, appHeader?: string): Promise<Principal> {
    if (!credential) throw unauthorized();
    if (looksLikeJwt(credential)) return this.user(credential);
    const appId = appIdOfSecret(credential);
    if (appId) {
      const app = await this.store.getApp(appId);
      if (!app || !secretMatches(credential, app.secret_hash)) throw unauthorized();
      return { kind: 'app', appId };
    }
    if (safeEqual(credential, this.masterKey)) {
      if (appHeader) {
        if (!(await this.store.getApp(appHeader))) throw new WarblerError('not_found', `No app "${appHeader}" (from X-Warbler-App).`);
        return { kind: 'operator', appId: appHeader };
      }
      return { kind: 'operator' };
    }
    throw unauthorized();
  }

  /** Verifies a user token and that it was not revoked since it was minted. */
  async user(token: string): Promise<{ kind: 'user'; appId: string; userId: string }> {
    const claims = await this.tokens.verify(token);
    const user = await this.store.getUser(claims.appId, claims.userId);
    if (!user || user.token_version !== claims.version) {
      throw new WarblerError('unauthorized', 'This token was revoked or its user no longer exists. Ask your backend for a new one.');
    }
    return { kind: 'user', appId: claims.appId, userId: claims.userId };
  }
}

export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m?.[1]?.trim();
}
