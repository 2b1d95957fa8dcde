import type { FastifyPluginAsync } from 'fastify';
import { createKbAnswerProvider, KB_ANSWER_MODEL } from '../kb/index.ts';
import type { ModelPrice, PriceTable, Router } from '../llm/index.ts';
import { planRoutes, type WarblerFile } from '../settings/index.ts';
import type { Store } from '../store/index.ts';
import { devSignInRoutes } from './dev-sign-in.ts';
import type { HttpDeps } from './deps.ts';
import { feedbackRoutes } from './feedback.ts';
import { modelRoutes } from './models.ts';
import { peopleRoutes } from './people.ts';
import { webStatic } from './web.ts';

export interface RouteView {
  model: string;
  deployments: Array<{ id: string; provider: string; upstream_model: string }>;
  fallbacks: string[];
}

/** What the web app's routes need beyond HttpDeps. */
export interface WebAppDeps {
  store: Pick<Store, 'getMessage'>;
  defaultAppId: string;
  devSignIn: boolean;
  /** The built web app; nothing is served at / when it has not been built. */
  distDir: string | undefined;
  models: {
    router: Pick<Router, 'models' | 'health' | 'complete'>;
    routes: RouteView[];
    providers: Array<{ name: string; preset: string | null }>;
    price(model: string): ModelPrice | undefined;
  };
}

/** Everything the web app adds to the server: sign-in by name, people search, feedback, model status, and the app itself at /. */
export const webAppRoutes = (deps: HttpDeps, web: WebAppDeps): FastifyPluginAsync => async (app) => {
  await app.register(devSignInRoutes(deps, web));
  await app.register(peopleRoutes(deps));
  await app.register(feedbackRoutes(deps, web));
  await app.register(modelRoutes(deps, web));
  if (web.distDir) await app.register(webStatic(web.distDir));
};

/**
 * Builds WebAppDeps in the composition root. The route plan is computed again
 * from the same inputs as the router, only to say which deployment serves
 * which model (the Router keeps its routes to itself).
 */
export function webAppDeps(input: {
  store: Pick<Store, 'getMessage'>;
  file: WarblerFile | undefined;
  env: Record<string, string | undefined>;
  router: WebAppDeps['models']['router'];
  prices: Pick<PriceTable, 'lookup'>;
  defaultAppId: string;
  devSignIn: boolean;
  distDir: string | undefined;
}): WebAppDeps {
  const plan = planRoutes(input.file, input.env, { localProviders: { [KB_ANSWER_MODEL]: createKbAnswerProvider() } });
  return {
    store: input.store,
    defaultAppId: input.defaultAppId,
    devSignIn: input.devSignIn,
    distDir: input.distDir,
    models: {
      router: input.router,
      routes: plan.routes.map((r) => ({
        model: r.model,
        deployments: r.deployments.map((d) => ({ id: d.id, provider: d.provider.name, upstream_model: d.model })),
        fallbacks: r.fallbacks ?? [],
      })),
      providers: [...plan.providers].map(([name, p]) => ({ name, preset: p.preset ?? null })),
      price: (model) => input.prices.lookup(model),
    },
  };
}
