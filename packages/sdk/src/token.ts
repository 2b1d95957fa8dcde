/** A user token, or the app's way of getting a fresh one (usually a call to its own backend). */
export type TokenProvider = string | (() => Promise<string>);

/** Refresh this long before `exp`, so a token does not expire between the check and the handshake. */
const EXPIRY_MARGIN_MS = 10_000;

/**
 * The claims of a JWT, read without verifying it: the client only uses them
 * to avoid connecting with a token it can see has expired, and to know whose
 * outbox it is. The server does the verifying.
 */
export function readClaims(token: string): { sub?: string; exp?: number } | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    if (typeof claims !== 'object' || claims === null) return undefined;
    const { sub, exp } = claims as Record<string, unknown>;
    return { ...(typeof sub === 'string' && { sub }), ...(typeof exp === 'number' && { exp }) };
  } catch {
    return undefined;
  }
}

export class TokenSource {
  private cached: string | undefined;
  private inflight: Promise<string> | undefined;

  constructor(
    private readonly provider: TokenProvider,
    private readonly now: () => number = Date.now,
  ) {
    if (typeof provider === 'string') this.cached = provider;
  }

  /** A static token cannot be renewed: an unauthorized close is then final. */
  get renewable(): boolean {
    return typeof this.provider === 'function';
  }

  /** The token to use now: the cached one unless it is known to have expired. */
  async current(): Promise<string> {
    if (this.cached !== undefined && (!this.renewable || !this.expired(this.cached))) return this.cached;
    return this.refresh();
  }

  /** A fresh token from the provider; concurrent callers share one call. */
  refresh(): Promise<string> {
    const provider = this.provider;
    if (typeof provider === 'string') return Promise.resolve(provider);
    this.inflight ??= provider()
      .then((token) => {
        if (typeof token !== 'string' || token.length === 0) throw new Error('The token function returned no token.');
        this.cached = token;
        return token;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** The user the current token is for, if it says. */
  subject(): string | undefined {
    return this.cached === undefined ? undefined : readClaims(this.cached)?.sub;
  }

  private expired(token: string): boolean {
    const exp = readClaims(token)?.exp;
    return exp !== undefined && exp * 1000 - EXPIRY_MARGIN_MS <= this.now();
  }
}
