// Property-based fuzzing of every /api and /admin route (issue 10, "Build
// also"): whatever the body, the server never answers 5xx, a refusal is an
// {error:{code,message}} that changed nothing in either app, and another
// tenant's user is still served after each request. See README.md beside this file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeContracts } from '../../src/http/index.ts';
import { startServer, storeKinds, type TestServer } from '../harness.ts';
import { checkProperty, FuzzFigures, fuzzRuns, longRun } from './arbitraries.ts';
import { describe as describeProbe, send, warblerErrorProblem, type Probe } from './probe.ts';
import { restProbe, restRoutes, type BodyStyle } from './rest-routes.ts';
import { buildWorld, snapshot, snapshotDiff, type World } from './world.ts';

const SCHEMA_RUNS = 80;
const RAW_RUNS = 40;
const timeoutFor = (runs: number) => Math.max(90_000, fuzzRuns(runs) * 1_000);

describe.each(storeKinds())('REST fuzz on %s', (kind) => {
  let server: TestServer;
  let world: World;
  let last: Record<string, unknown>;
  const figures = new FuzzFigures();

  beforeAll(async () => {
    server = await startServer(kind);
    world = await buildWorld(server);
    last = await snapshot(server, world);
  });
  afterAll(async () => {
    if (longRun()) console.log(figures.summary(`REST fuzz on ${kind}`));
    await server?.stop();
  });

  /** One request, and everything that must hold after it. */
  async function attack(probe: Probe): Promise<void> {
    const answer = await send(server.url, probe);
    const code = (answer.json as { error?: { code?: string } } | undefined)?.error?.code;
    figures.record(answer.status, answer.status >= 400 ? code : undefined);
    const what = describeProbe(probe);
    expect(answer.status, `${what} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(500);
    const now = await snapshot(server, world);
    if (answer.status >= 400) {
      expect(warblerErrorProblem(answer), `${what} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeUndefined();
      expect(snapshotDiff(last, now), `${what} was refused with ${answer.status} ${answer.text.slice(0, 200)} but changed`).toEqual([]);
    }
    last = now;
    await victimIsServed();
  }

  /** A user of the other tenant reads their inbox, and the server says it is healthy. */
  async function victimIsServed(): Promise<void> {
    const inbox = await server.api('GET', '/api/conversations', undefined, world.b.victim.token);
    expect(inbox.status, JSON.stringify(inbox.body)).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }

  const fuzz = (style: BodyStyle, runs: number) => () =>
    checkProperty(`REST ${style} bodies on ${kind}`, restProbe(world, server.masterKey, style), attack, runs);

  it('fuzzes every /api and /admin route the server has (a new route must join the list)', () => {
    const listed = new Set(restRoutes(world).map((r) => `${r.method} ${r.path}`));
    const unlisted = routeContracts(server.warbler.http)
      .filter((r) => r.url.startsWith('/api/') || r.url.startsWith('/admin/'))
      .map((r) => `${r.method} ${r.url}`)
      .filter((route) => !listed.has(route));
    expect(unlisted, 'add these to rest-routes.ts with a valid-ish body').toEqual([]);
  });

  it('valid-ish bodies with a field mutated: no 5xx, refusals change nothing, others are served', fuzz('schema', SCHEMA_RUNS), timeoutFor(SCHEMA_RUNS));
  it('raw bodies (random JSON, broken JSON, bytes, wrong content types, multipart junk): the same', fuzz('raw', RAW_RUNS), timeoutFor(RAW_RUNS));
});
