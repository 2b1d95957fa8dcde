import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths the web app never answers: the API's own 404 is more useful there than the app's page. */
const RESERVED = /^\/(api|v1|ws|admin|healthz|openapi\.json|metrics)(\/|$|\?)/;

/** Where `npm run build:web` puts the app, relative to this file. */
export function defaultWebDist(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/dist');
}

/**
 * The built web app at `/`: files as they are (hashed assets cached for
 * good), and index.html for every other page path so the app's own routes
 * survive a reload. Registered as a catch-all, so every API route wins.
 */
export const webStatic = (distDir: string): FastifyPluginAsync => async (app) => {
  if (!existsSync(path.join(distDir, 'index.html'))) {
    app.log.warn(`No web app at ${distDir}: run \`npm run build:web\` to serve it at /.`);
    return;
  }
  await app.register(fastifyStatic, { root: distDir, serve: false });

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const url = request.url.split('?')[0] ?? '/';
    if (RESERVED.test(url)) return reply.callNotFound();
    const file = decodeURIComponent(url).replace(/^\/+/, '');
    if (file && !file.split('/').includes('..') && existsSync(path.join(distDir, file)) && !file.endsWith('/')) {
      const immutable = file.startsWith('assets/');
      return reply.sendFile(file, { immutable, maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0, cacheControl: true });
    }
    // A missing asset is a 404, not the app's page (a stale tab asking for an old bundle must see that).
    if (file.startsWith('assets/') || /\.[a-z0-9]{2,5}$/i.test(file)) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  });
};
