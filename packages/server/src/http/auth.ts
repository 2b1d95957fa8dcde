import type { FastifyRequest } from 'fastify';
import type { Actor } from '../chat/index.ts';
import { WarblerError } from '../errors.ts';
import { bearer, type Authenticator, type Principal } from '../tenancy/index.ts';

/**
 * Request guards. Each resolves the caller once and returns what the route
 * needs: the operator, an app, or an Actor (app or user).
 */
export class Guards {
  constructor(private readonly auth: Authenticator) {}

  async principal(request: FastifyRequest): Promise<Principal> {
    const header = request.headers['x-warbler-app'];
    return this.auth.authenticate(bearer(request.headers.authorization), typeof header === 'string' ? header : undefined);
  }

  async operator(request: FastifyRequest): Promise<void> {
    const p = await this.principal(request);
    if (p.kind !== 'operator') throw new WarblerError('forbidden', 'This is an operator call: use the master key.');
  }

  /** App-level access: the app secret, or the master key with X-Warbler-App. */
  async app(request: FastifyRequest): Promise<string> {
    const p = await this.principal(request);
    if (p.kind === 'app') return p.appId;
    if (p.kind === 'operator' && p.appId) return p.appId;
    if (p.kind === 'operator') throw new WarblerError('bad_request', 'With the master key, name the app in the X-Warbler-App header.');
    throw new WarblerError('forbidden', 'This call needs the app secret; user tokens cannot make it. Call it from your backend.');
  }

  /** Either the app (acting for any of its users) or one user (acting as themself). */
  async actor(request: FastifyRequest): Promise<Actor> {
    const p = await this.principal(request);
    if (p.kind === 'user') return { appId: p.appId, userId: p.userId };
    if (p.kind === 'app') return { appId: p.appId };
    if (p.appId) return { appId: p.appId };
    throw new WarblerError('bad_request', 'With the master key, name the app in the X-Warbler-App header.');
  }
}
