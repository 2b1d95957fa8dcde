import { createHash } from 'node:crypto';
import { DevSignIn, DevSignInBody, DevSignInStatus } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { forbidden, WarblerError } from '../errors.ts';
import { DEMO_AGENT_ID } from '../agents/index.ts';
import { AddressLimiter } from '../realtime/index.ts';
import { toUser } from '../tenancy/index.ts';
import type { HttpDeps } from './deps.ts';
import type { WebAppDeps } from './web-app.ts';

const WEEK_SECONDS = 7 * 24 * 3600;
export const NAME_PREFIX = '~';
/** Sign-ins per minute from one address, and the burst: each new name creates a user. */
const SIGN_INS_PER_MINUTE = 10;
const SIGN_IN_BURST = 20;

/**
 * The web app's sign-in by name for the default app: whoever types a name
 * is that person. It lets a fresh install be tried with no backend of one's
 * own; WARBLER_DEV_SIGN_IN=false switches it off (apps then mint tokens).
 */
export const devSignInRoutes = (deps: HttpDeps, web: WebAppDeps): FastifyPluginAsyncZod => async (app) => {
  const limiter = new AddressLimiter(SIGN_INS_PER_MINUTE / 60, SIGN_IN_BURST);
  app.get('/api/dev/sign-in', { schema: { tags: ['web'], summary: 'Whether sign-in by name is on, and for which app', response: { 200: DevSignInStatus } } },
    async () => ({ enabled: web.devSignIn, app_id: web.defaultAppId }));

  app.post('/api/dev/sign-in', {
    schema: {
      tags: ['web'], summary: 'Sign in to the default app by name (a user of that name is created the first time); off when WARBLER_DEV_SIGN_IN=false',
      body: DevSignInBody, response: { 200: DevSignIn },
    },
  }, async (request, reply) => {
    if (!web.devSignIn) throw forbidden('Sign-in by name is switched off on this server (WARBLER_DEV_SIGN_IN=false). Sign in with a token from your app.');
    if (!limiter.admit(request.ip)) {
      reply.header('retry-after', '60');
      throw new WarblerError('rate_limited', 'Too many sign-ins from this address; wait a minute and try again.');
    }
    const appId = web.defaultAppId;
    const name = request.body.name;
    const id = userIdFor(name);
    // A name that is a real user's id here ("CEO" while the backend has "ceo") would put that user's name on someone else.
    const realUser = await deps.users.get(appId, id.slice(NAME_PREFIX.length)).then(() => true, (err: unknown) => {
      if (err instanceof WarblerError && err.code === 'not_found') return false;
      throw err;
    });
    if (realUser) throw new WarblerError('conflict', `"${name}" is taken here; pick another name.`);
    let user = await deps.users.get(appId, id).then(toUser, (err: unknown) => {
      if (err instanceof WarblerError && err.code === 'not_found') return undefined;
      throw err;
    });
    let isNew = false;
    // Two people typing the same new name at once: the loser of the insert picks the winner's user.
    user ??= await deps.users.create(appId, { id, name }).then((created) => {
      isNew = true;
      return created;
    }, async (err: unknown) => {
      if (err instanceof WarblerError && err.code === 'conflict') return toUser(await deps.users.get(appId, id));
      throw err;
    });
    if (user.kind !== 'human' || !user.id.startsWith(NAME_PREFIX)) throw new WarblerError('conflict', `"${name}" is taken here; pick another name.`);
    if (isNew) await welcome(deps, appId, id, request.body.locale ?? 'en').catch((err: unknown) => request.log.warn({ err }, 'welcome conversation not opened'));
    const minted = await deps.users.mintToken(appId, id, WEEK_SECONDS);
    return { ...minted, user };
  });
};

const WELCOME = {
  en: "Hi! I'm Warbler Assistant. Ask me anything about Warbler — how to run it, add an agent, or use the gateway — and I'll answer from its docs, with sources.",
  'zh-CN': '你好！我是 Warbler 助手。关于 Warbler 的任何问题都可以问我——怎么运行、怎么添加智能体、怎么用网关——我会根据文档回答，并注明出处。',
} as const;

/**
 * A newcomer's list is not empty: a direct chat with the demo assistant,
 * which says hello, so the first thing they see is someone to talk to.
 */
async function welcome(deps: HttpDeps, appId: string, userId: string, locale: keyof typeof WELCOME): Promise<void> {
  const agent = await deps.agents.get(appId, DEMO_AGENT_ID).catch(() => undefined);
  if (!agent) return;
  const app = { appId };
  const { conversation } = await deps.conversations.create(app, { kind: 'direct', member_ids: [userId, DEMO_AGENT_ID] });
  await deps.messages.send(app, { conversation_id: conversation.id, sender_id: DEMO_AGENT_ID, client_msg_id: `welcome-${userId}`, type: 'text', content: { text: WELCOME[locale] } });
}

/**
 * Sign-ins by name live in their own namespace: ids that start with "~",
 * which the users API never accepts (see UserId in @warbler/protocol's users.ts). So typing
 * "CEO" signs in as "~ceo", never as the user "ceo" that the app's backend
 * created: nobody can take over a real user by typing their name.
 * The same name always maps to the same user: a readable id when the name
 * is one already ("Alice" → ~alice), otherwise a hash.
 */
export function userIdFor(name: string): string {
  const slug = name.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, '-');
  if (/^[a-z0-9_.@-]{1,64}$/.test(slug)) return `${NAME_PREFIX}${slug}`;
  return `${NAME_PREFIX}u-${createHash('sha256').update(slug).digest('hex').slice(0, 16)}`;
}
