import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths the web app never answers: the API's own 404 is more useful there than the app's page. */
const RESERVED = /^\/(api|v1|ws|admin|healthz|openapi\.json|metrics)(\/|$|\?)/;

/**
 * The page may only run the app's own scripts: message text is sanitised
 * before it is rendered, and this makes a slip there inert as well.
 */
const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
  "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'",
].join('; ');

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
  // preCompressed: the build writes .br and .gz copies (packages/web/scripts/precompress.mjs);
  // the copy the browser accepts is sent, with Vary: Accept-Encoding.
  await app.register(fastifyStatic, { root: distDir, serve: false, preCompressed: true });

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const url = request.url.split('?')[0] ?? '/';
    if (RESERVED.test(url)) return reply.callNotFound();
    const file = assetPath(distDir, url);
    if (file) {
      const immutable = file.startsWith('assets/');
      return reply.sendFile(file, { immutable, maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0, cacheControl: true });
    }
    // A missing asset is a 404, not the app's page (a stale tab asking for an old bundle must see that).
    if (/\.[a-z0-9]{2,5}$/i.test(url) && !url.endsWith('/index.html')) return reply.callNotFound();
    return reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .sendFile('index.html', { cacheControl: false });
  });
};

/** The file under distDir a URL path names, if it is one (index.html is the page, served with its headers). */
function assetPath(distDir: string, url: string): string | undefined {
  let file: string;
  try {
    file = decodeURIComponent(url).replace(/^\/+/, '');
  } catch {
    return undefined;
  }
  if (!file || file === 'index.html' || file.split('/').includes('..') || file.includes('\0')) return undefined;
  try {
    return statSync(path.join(distDir, file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}
