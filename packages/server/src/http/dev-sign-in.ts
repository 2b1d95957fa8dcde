import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { forbidden, WarblerError } from '../errors.ts';
import { toUser } from '../tenancy/index.ts';
import type { HttpDeps } from './deps.ts';
import type { WebAppDeps } from './web-app.ts';

const WEEK_SECONDS = 7 * 24 * 3600;

/**
 * The web app's sign-in by name for the default app: whoever types a name
 * is that person. It lets a fresh install be tried with no backend of one's
 * own; WARBLER_DEV_SIGN_IN=false switches it off (apps then mint tokens).
 */
export const devSignInRoutes = (deps: HttpDeps, web: WebAppDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/api/dev/sign-in', { schema: { tags: ['web'], summary: 'Whether sign-in by name is on, and for which app' } },
    async () => ({ enabled: web.devSignIn, app_id: web.defaultAppId }));

  app.post('/api/dev/sign-in', {
    schema: {
      tags: ['web'], summary: 'Sign in to the default app by name (a user of that name is created the first time); off when WARBLER_DEV_SIGN_IN=false',
      body: z.object({ name: z.string().trim().min(1).max(60) }),
    },
  }, async (request) => {
    if (!web.devSignIn) throw forbidden('Sign-in by name is switched off on this server (WARBLER_DEV_SIGN_IN=false). Sign in with a token from your app.');
    const appId = web.defaultAppId;
    const name = request.body.name;
    const id = userIdFor(name);
    let user = await deps.users.get(appId, id).then(toUser, (err: unknown) => {
      if (err instanceof WarblerError && err.code === 'not_found') return undefined;
      throw err;
    });
    // Two people typing the same new name at once: the loser of the insert picks the winner's user.
    user ??= await deps.users.create(appId, { id, name }).catch(async (err: unknown) => {
      if (err instanceof WarblerError && err.code === 'conflict') return toUser(await deps.users.get(appId, id));
      throw err;
    });
    if (user.kind !== 'human') throw new WarblerError('conflict', `"${name}" is the name of an agent here; pick another name.`);
    const minted = await deps.users.mintToken(appId, id, WEEK_SECONDS);
    return { ...minted, user };
  });
};

/**
 * The same name always maps to the same user: a readable id when the name
 * is one already ("Alice" → alice, as the README's users), otherwise a hash.
 */
export function userIdFor(name: string): string {
  const slug = name.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, '-');
  if (/^[a-z0-9_.@-]{1,64}$/.test(slug)) return slug;
  return `u-${createHash('sha256').update(slug).digest('hex').slice(0, 16)}`;
}
