import { z } from 'zod';
import { User } from './models.ts';
import { UserToken } from './users.ts';

/** GET /api/dev/sign-in: whether the web app may sign in by name, and into which app. */
export const DevSignInStatus = z.object({ enabled: z.boolean(), app_id: z.string() });
export type DevSignInStatus = z.infer<typeof DevSignInStatus>;

export const DevSignInBody = z.object({
  name: z.string().trim().min(1).max(60),
  locale: z.enum(['en', 'zh-CN']).optional().describe("The interface's language: a newcomer's welcome message is written in it"),
});
export type DevSignInBody = z.input<typeof DevSignInBody>;

export const DevSignIn = UserToken.extend({ user: User });
export type DevSignIn = z.infer<typeof DevSignIn>;
