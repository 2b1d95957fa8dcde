import { createHmac } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { WarblerError } from '../errors.ts';

export interface UserTokenClaims {
  appId: string;
  userId: string;
  version: number;
  expiresAt: number;
}

export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
/** Leeway for clocks of nodes that mint and verify. */
const CLOCK_SKEW_SECONDS = 60;

/**
 * User tokens are HS256 JWTs. The signing key is derived from the master key,
 * so every node that shares the master key accepts the same tokens, and
 * changing the master key invalidates all of them.
 */
export class UserTokens {
  private readonly key: Uint8Array;
  constructor(masterKey: string) {
    this.key = createHmac('sha256', masterKey).update('warbler user tokens v1').digest();
  }

  async mint(claims: Omit<UserTokenClaims, 'expiresAt'>, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = await new SignJWT({ app: claims.appId, ver: claims.version })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, expiresAt: expiresAt * 1000 };
  }

  /** Checks signature and expiry; the caller still checks the version against the user. */
  async verify(token: string): Promise<UserTokenClaims> {
    try {
      // exp and iat are required and the lifetime is capped: a token that never
      // expires (or expires in 2100) is refused even though we signed nothing like it.
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], requiredClaims: ['exp', 'iat', 'sub'], maxTokenAge: MAX_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS });
      if ((payload.exp ?? 0) - (payload.iat ?? 0) > MAX_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS) {
        throw new WarblerError('unauthorized', `The user token lives longer than ${MAX_TOKEN_TTL_SECONDS / 86_400} days, which Warbler never mints. Ask your backend for a new one.`);
      }
      if (typeof payload.sub !== 'string' || typeof payload.app !== 'string' || typeof payload.ver !== 'number') {
        throw new WarblerError('unauthorized', 'The token is not a Warbler user token. Mint one with POST /api/users/:id/tokens.');
      }
      return { appId: payload.app, userId: payload.sub, version: payload.ver, expiresAt: (payload.exp ?? 0) * 1000 };
    } catch (err) {
      if (err instanceof WarblerError) throw err;
      if (err instanceof joseErrors.JWTExpired) {
        throw new WarblerError('token_expired', 'The user token has expired. Ask your backend for a new one.');
      }
      throw new WarblerError('unauthorized', 'The user token is invalid. Ask your backend for a new one.');
    }
  }
}

export function looksLikeJwt(credential: string): boolean {
  return credential.startsWith('eyJ') && credential.split('.').length === 3;
}
