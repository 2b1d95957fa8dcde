import { z } from 'zod';
import { Id } from './models.ts';

/** An app (a tenant): what the operator sees; its secret is stored hashed and never listed. */
export const App = z.object({ id: Id, name: z.string(), created_at: z.number().int() });
export type App = z.infer<typeof App>;

export const CreateAppBody = z.object({ name: z.string().min(1).max(200) });
export type CreateAppBody = z.infer<typeof CreateAppBody>;

export const CreatedApp = z.object({
  app: App,
  secret: z.string().describe('The app secret: shown only in this response, keep it'),
});
export type CreatedApp = z.infer<typeof CreatedApp>;

export const AppList = z.object({ apps: z.array(App) });
export type AppList = z.infer<typeof AppList>;

export const AppSecret = z.object({ secret: z.string().describe('The new secret; the old one stopped working') });
export type AppSecret = z.infer<typeof AppSecret>;
