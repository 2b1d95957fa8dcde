// What the operator's log says of a guarded /v1 call: one line per request,
// the request's own, naming each rule that fired (at warn when one blocked),
// never the personal data or the listed word's surroundings.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './harness.ts';

const CONFIG = [
  'version: 1',
  'router:',
  '  retry: { max_retries: 0 }',
  'guardrails:',
  '  lists:',
  '    illegal: { action: block, words: [赌博] }',
  '  pii: { mask: [mobile, email], restore_in_reply: true }',
  '',
].join('\n');

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  status?: number;
  guardrails?: unknown;
}

// The log does not depend on the store: SQLite only.
describe('the log line of a guarded /v1 call', () => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let secret: string;
  const lines: Line[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 1 } });
    const configPath = path.join(tmpdir(), `warbler-guardrail-log-${process.pid}.yaml`);
    await writeFile(configPath, CONFIG);
    server = await startServer(
      'sqlite',
      { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath, WARBLER_LOG_LEVEL: 'info' },
      { logTo: { write: (line) => lines.push(JSON.parse(line) as Line) } },
    );
    secret = (await server.warbler.keys.create('default', { name: 'logged' })).secret;
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  /** Sends a chat call; returns its status, its request id and every log line that names that id, once the request line is there. */
  async function call(content: string): Promise<{ status: number; text: string; logged: Line[] }> {
    lines.length = 0;
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    });
    const text = await res.text();
    const id = res.headers.get('x-request-id')!;
    // The request line is written once the response is sent, which may be just after the client has it.
    const deadline = Date.now() + 5000;
    while (!lines.some((l) => l.reqId === id && l.msg === 'request') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return { status: res.status, text, logged: lines.filter((l) => l.reqId === id || /guardrail/.test(l.msg)) };
  }

  it('tells masked values in the request line, the only line of the call', async () => {
    const { status, logged } = await call('call me on 13800138000 about the invoice');
    expect(status).toBe(200);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 30, msg: 'request', status: 200, guardrails: [{ rule: 'pii:mobile', action: 'mask', count: 1 }] });
    expect(JSON.stringify(logged[0])).not.toContain('13800138000');
  });

  it('tells a blocked prompt at warn, in the same single line', async () => {
    const { status, text, logged } = await call('我想了解赌博的规则');
    expect(status, text).toBe(400);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 40, msg: 'request', status: 400, guardrails: [{ rule: 'words:illegal', action: 'block', count: 1, word: '赌博' }] });
  });

  it('tells the interventions of a streamed call its client left, which gets no request line', async () => {
    lines.length = 0;
    upstream.script({ text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), intervalMs: 20 });
    const abort = new AbortController();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'mail me at ann@example.com' }] }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    await res.body!.getReader().read();
    abort.abort();
    const deadline = Date.now() + 5000;
    while (!lines.some((l) => l.reqId === id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines.filter((l) => l.reqId === id || /guardrail/.test(l.msg))).toEqual([
      expect.objectContaining({ level: 30, msg: 'guardrail interventions of a request its client left', guardrails: [{ rule: 'pii:email', action: 'mask', count: 1 }] }),
    ]);
  });

  it('keeps the request line of an unguarded call as it was', async () => {
    const { status, logged } = await call('hello there');
    expect(status).toBe(200);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 30, msg: 'request', status: 200 });
    expect(logged[0]).not.toHaveProperty('guardrails');
  });
});
