// /v1 under hostile callers (issue 10, items 2 and 11): one gateway key must
// not be able to take a model offline for every other tenant, neither with a
// body our own code cannot serialise nor with prompts that make upstream fail.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import OpenAI, { BadRequestError, InternalServerError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

/** `[[[…"x"…]]]`, `depth` arrays deep, as JSON text (JSON.stringify of such a value is what overflows). */
const nested = (depth: number) => `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;

describe.each(storeKinds())('/v1 under hostile callers on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let v1: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    const configPath = path.join(tmpdir(), `warbler-gateway-hostile-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'routes:',
      '  text-embedding-3-small:',
      '    deployments: [openai/text-embedding-3-small]',
      // The only deployment of its model: the case where pausing it denies everyone.
      '  solo:',
      '    deployments: [openai/solo-model]',
      '  pair:',
      '    deployments: [openai/pair-bad, openai/pair-good]',
      'router:',
      '  retry: { max_retries: 1, base_delay_ms: 1, max_delay_ms: 2 }',
      // A long cool-down: without the last-deployment rule, an open circuit would refuse every call of the test.
      '  circuit: { failure_threshold: 2, cooldown_ms: 600000 }',
      '',
    ].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    v1 = `${server.url}/v1`;
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  async function newKey(appSecret?: string) {
    const res = await server.api('POST', '/api/gateway/keys', { name: `key ${Math.random().toString(36).slice(2, 7)}` }, appSecret);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.key.id as string, secret: res.body.secret as string };
  }

  /** A key of a second app: another tenant. */
  async function otherTenantKey() {
    const other = await server.warbler.apps.create(`Tenant ${Math.random().toString(36).slice(2, 7)}`);
    return newKey(other.secret);
  }

  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: v1, maxRetries: 0 });
  const circuits = () => Object.fromEntries(server.warbler.router.health().map((h) => [h.deployment, h.state]));
  const post = (secret: string, route: string, body: string) =>
    fetch(`${v1}${route}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body });

  describe('a body nested deeper than the gateway reads', () => {
    it('is a 400 invalid_request_error wherever the nesting is, without our internals; nothing reaches upstream or moves a circuit', async () => {
      const attacker = await newKey();
      const before = circuits();
      const chatsBefore = upstream.counts.chat;
      const deep = nested(10_000);
      const bodies: Array<[string, string]> = [
        ['/chat/completions', `{"model":"solo","messages":[{"role":"user","content":"hi","x":${deep}}]}`],
        ['/chat/completions', `{"model":"solo","messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`],
        ['/chat/completions', `{"model":"solo","messages":[{"role":"user","content":"hi"}],"stream":true,"x":${deep}}`],
        ['/chat/completions', `{"model":"solo","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","x":${deep}}}}]}`],
        ['/chat/completions', `{"model":"solo","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"x":${deep}}}}}`],
        // Deep enough to fail our limit, shallow enough that JSON.stringify would have coped.
        ['/chat/completions', `{"model":"solo","messages":[{"role":"user","content":"hi","x":${nested(500)}}]}`],
        ['/embeddings', `{"model":"text-embedding-3-small","input":"hi","x":${deep}}`],
        ['/chat/completions', `{"model":"solo","messages":[{"role":"user","content":"nul \\u0000 here"}]}`],
      ];
      for (const [route, body] of bodies) {
        // Twice each: two of these used to open the circuit.
        for (let i = 0; i < 2; i++) {
          const res = await post(attacker.secret, route, body);
          const text = await res.text();
          expect(res.status, `${route} ${body.slice(0, 80)}: ${text}`).toBe(400);
          const json = JSON.parse(text) as { error: { type: string; message: string } };
          expect(json.error.type).toBe('invalid_request_error');
          expect(json.error.message).not.toMatch(/call stack|RangeError|provider/i);
        }
      }
      expect(upstream.counts.chat).toBe(chatsBefore);
      expect(circuits()).toEqual(before);

      // Raised by the SDK as the error it expects (1,000 deep: the SDK itself cannot serialise 10,000), and every other caller is still served.
      const sdk = await client(attacker.secret)
        .chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'hi', x: JSON.parse(nested(1_000)) } as never] })
        .catch((e: unknown) => e);
      expect(sdk).toBeInstanceOf(BadRequestError);
      const victim = await otherTenantKey();
      const answer = await client(victim.secret).chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'still here?' }] });
      expect(answer.choices[0]!.message.content).toBe('still here?');
    });

    it('is refused the same way on the path batches take (no HTTP parser in front of it)', async () => {
      const caller = { appId: 'default', key: null, requestId: 'batch_deep_1' };
      const before = circuits();
      const body = { model: 'solo', messages: [{ role: 'user', content: 'hi', x: JSON.parse(nested(10_000)) }] };
      const result = await server.warbler.gateway.runCompletion(caller, body);
      expect(result).toMatchObject({ ok: false, status: 400, body: { error: { type: 'invalid_request_error' } } });
      expect(circuits()).toEqual(before);
    });
  });

  describe('one tenant\'s prompts that make upstream fail', () => {
    it('do not pause the only deployment of a model for another tenant', async () => {
      const noisy = await newKey();
      upstream.script({ model: 'solo-model', promptContains: 'poison', fault: 'status', status: 500, times: Infinity });
      for (let i = 0; i < 10; i++) {
        const err = await client(noisy.secret).chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: `poison ${i}` }] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InternalServerError);
        expect((err as InternalServerError).status).toBe(502);
      }
      // The breaker did see a failing deployment...
      expect(circuits()['openai/solo-model']).toBe('open');

      // ...but it is the route's last one, so another tenant's call still reaches upstream and is answered.
      const victim = await otherTenantKey();
      const upstreamBefore = upstream.counts.chat;
      const plain = await client(victim.secret).chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'hello' }] });
      expect(plain.choices[0]!.message.content).toBe('hello');
      const stream = await client(victim.secret).chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'streamed hello' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('streamed hello');
      expect(upstream.counts.chat).toBe(upstreamBefore + 2);
      // The answers it got close the circuit again.
      expect(circuits()['openai/solo-model']).toBe('closed');
    });

    it('with a second deployment, the failing one is skipped once its circuit opens', async () => {
      const key = await newKey();
      upstream.script({ model: 'pair-bad', fault: 'status', status: 500, times: Infinity });
      for (let i = 0; i < 6; i++) {
        const answer = await client(key.secret).chat.completions.create({ model: 'pair', messages: [{ role: 'user', content: `ask ${i}` }] });
        expect(answer.choices[0]!.message.content).toBe(`ask ${i}`);
      }
      expect(upstream.requests.filter((r) => r.body?.model === 'pair-bad')).toHaveLength(2);
      expect(circuits()['openai/pair-bad']).toBe('open');
      expect(circuits()['openai/pair-good']).toBe('closed');
    });
  });
});
