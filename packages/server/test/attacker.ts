import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * Runs an attack in its own Node process, the way a hostile client would
 * run on its own machine: its loop never shares the server's event loop, so
 * what a victim measures is the server's doing. `script` is plain JavaScript
 * (an async function body) with `ws` and `env` in scope; it runs until
 * `stopped()` turns true and returns a JSON-able report; global `fetch` is
 * there too, for HTTP attackers.
 *
 * It stops by itself: after `maxMs`, or when the test process goes away
 * (its stdin closes), so a failed or timed-out test never leaves a flood
 * running; a script that does not return within a few seconds of that is
 * ended.
 */
export function startAttacker(script: string, env: Record<string, string>, maxMs = 30_000): { stop: () => Promise<Record<string, unknown>> } {
  const wsModule = createRequire(import.meta.url).resolve('ws');
  const program = `
    const ws = require(${JSON.stringify(wsModule)});
    const env = JSON.parse(process.env.ATTACK_ENV);
    let halted = false;
    const stopped = () => halted;
    const halt = () => {
      if (halted) return;
      halted = true;
      setTimeout(() => { process.stdout.write(JSON.stringify({ error: 'did not stop within 5 s of being asked' })); process.exit(1); }, 5000).unref();
    };
    process.stdin.on('data', halt);
    process.stdin.on('end', halt);
    setTimeout(halt, ${maxMs}).unref();
    (async () => { ${script} })().then(
      (report) => { process.stdout.write(JSON.stringify(report ?? {})); process.exit(0); },
      (err) => { process.stdout.write(JSON.stringify({ error: String(err && err.stack || err) })); process.exit(1); },
    );`;
  const child = spawn(process.execPath, ['-e', program], { env: { ...process.env, ATTACK_ENV: JSON.stringify(env) }, stdio: ['pipe', 'pipe', 'inherit'] });
  // Asking an attacker that already ended to stop is not an error.
  child.stdin.on('error', () => {});
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise<Record<string, unknown>>((resolve) => child.on('exit', () => resolve(out ? JSON.parse(out) : { error: 'no report' })));
  return {
    async stop() {
      child.stdin.write('stop\n');
      return done;
    },
  };
}
