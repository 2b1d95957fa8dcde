import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Step } from '@warbler/upstream-fixture';

const MAIN = fileURLToPath(new URL('../../upstream-fixture/src/main.ts', import.meta.url));

export interface FixtureProcess {
  /** The base URL an OpenAI client wants, ending in /v1. */
  url: string;
  /** Queues steps over the fixture's control URL; a negative `times` means forever (JSON has no Infinity). */
  script: (...steps: Step[]) => Promise<void>;
  close: () => Promise<void>;
}

/**
 * The upstream fixture in its own Node process: a test that measures the
 * server under load must not bill the fixture's work (tokenizing, writing
 * chunks) to the server's event loop, which it shares in-process.
 */
export async function startFixtureProcess(apiKey: string): Promise<FixtureProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--api-key', apiKey, '--record', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`upstream fixture exited (${code}) before it listened`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { fixture: string }).fixture));
  });
  const control = url.replace(/\/v1$/, '/_fixture');
  return {
    url,
    async script(...steps) {
      const res = await fetch(`${control}/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(steps) });
      if (!res.ok) throw new Error(`fixture script refused: ${res.status} ${await res.text()}`);
    },
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
