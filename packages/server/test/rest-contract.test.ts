import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST_PREFIXES, routeContracts } from '../src/http/index.ts';
import { startServer, type TestServer } from './harness.ts';

/**
 * The REST contract (decision 0032). Every route under /api, /admin and
 * /widget declares its success body in zod; in tests the serializer is strict,
 * so every response any test reads is checked against its schema. This file
 * checks that no route escapes that (no declaration) and calls every GET route
 * that takes no path parameter, as each kind of caller, to see its body pass.
 */

describe('REST contract', () => {
  let upstream: UpstreamFixture;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    server = await startServer('sqlite', { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  const rest = () => routeContracts(server.warbler.http).filter((r) => REST_PREFIXES.some((p) => r.url.startsWith(p)));
  // A route answering 204 declares it too (`204: NoContent`), so the OpenAPI document says so.
  const lacking = () => rest().filter((r) => !r.raw && !r.declared.some((status) => status.startsWith('2')));

  it('registers the REST routes it is meant to check', () => {
    expect(rest().length).toBeGreaterThan(120);
  });

  it('every REST route declares its success response (or says it is raw)', () => {
    const missing = lacking().map((r) => `${r.method} ${r.url}`);
    expect(missing, 'declare schema.response in zod (packages/protocol/src/rest), or config.responseContract: "raw" for a file or stream').toEqual([]);
  });

  it('every parameterless GET answers in its declared shape for each kind of caller', async () => {
    const alice = await server.user('Alice');
    const callers = { master: server.masterKey, app: server.appSecret, user: alice.token };
    const broken: string[] = [];
    for (const route of rest()) {
      if (route.method !== 'GET' || route.url.includes(':') || route.url.includes('*') || route.raw) continue;
      for (const [who, credential] of Object.entries(callers)) {
        const res = await fetch(server.url + route.url, { headers: { authorization: `Bearer ${credential}` } });
        const text = await res.text();
        if (res.status >= 500) broken.push(`${route.url} as ${who}: ${res.status} ${text.slice(0, 300)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('/openapi.json shows the body of every declared success response', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
    };
    const missing: string[] = [];
    for (const route of rest()) {
      if (route.raw || route.url.includes('*')) continue;
      const operation = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      if (!operation) continue; // hidden from the document (schema.hide)
      for (const status of route.declared.filter((s) => s.startsWith('2') && s !== '204')) {
        if (!operation.responses?.[status]?.content?.['application/json']?.schema) missing.push(`${route.method} ${route.url} ${status}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
