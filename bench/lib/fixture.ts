import { freePort, startChild, type Child } from './proc.ts';

// The upstream fixture (packages/upstream-fixture) as its own process, so
// the work of producing chunks is not billed to the bench or to the server.

export interface FixtureOptions {
  apiKey: string;
  ttftMs?: number;
  intervalMs?: number;
  /** Reply text; the fixture streams it one word per chunk. Default: the last user message echoed. */
  text?: string;
  /** `[[t:<ms>]]` before every content chunk: the send time, which survives any relay. */
  stampText?: boolean;
  cpu?: number;
}

export interface FixtureProcess extends Child {
  /** The base URL an OpenAI client wants (…/v1). */
  baseUrl: string;
}

export async function startFixture(opts: FixtureOptions): Promise<FixtureProcess> {
  const port = await freePort();
  const args = ['--port', String(port), '--api-key', opts.apiKey, '--record', '0'];
  if (opts.ttftMs !== undefined) args.push('--ttft-ms', String(opts.ttftMs));
  if (opts.intervalMs !== undefined) args.push('--interval-ms', String(opts.intervalMs));
  if (opts.text !== undefined) args.push('--text', opts.text);
  if (opts.stampText) args.push('--stamp-text');
  const child = await startChild({
    name: 'fixture',
    nodeArgs: ['--import', 'tsx', 'packages/upstream-fixture/src/main.ts', ...args],
    port,
    // Any answer means it listens; without the key this is a 401, which is fine.
    readyPath: '/v1/models',
    cpu: opts.cpu,
  });
  return { ...child, baseUrl: `${child.url}/v1` };
}

/** `words` words of filler, so a reply has a known number of content chunks (one per word). */
export function replyText(words: number): string {
  const pool = ['the', 'quick', 'agent', 'streams', 'its', 'answer', 'to', 'every', 'member', 'of', 'a', 'chat'];
  return Array.from({ length: words }, (_, i) => pool[i % pool.length]).join(' ');
}
