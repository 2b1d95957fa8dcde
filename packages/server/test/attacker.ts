import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * Runs an attack in its own Node process, the way a hostile client would
 * run on its own machine: its loop never shares the server's event loop, so
 * what a victim measures is the server's doing. `script` is plain JavaScript
 * (an async function body) with `ws` and `env` in scope; it runs until
 * `stopped()` turns true and returns a JSON-able report.
 */
export function startAttacker(script: string, env: Record<string, string>): { stop: () => Promise<Record<string, unknown>> } {
  const wsModule = createRequire(import.meta.url).resolve('ws');
  const program = `
    const ws = require(${JSON.stringify(wsModule)});
    const env = JSON.parse(process.env.ATTACK_ENV);
    let halted = false;
    const stopped = () => halted;
    process.stdin.on('data', () => { halted = true; });
    (async () => { ${script} })().then(
      (report) => { process.stdout.write(JSON.stringify(report ?? {})); process.exit(0); },
      (err) => { process.stdout.write(JSON.stringify({ error: String(err && err.stack || err) })); process.exit(1); },
    );`;
  const child = spawn(process.execPath, ['-e', program], { env: { ...process.env, ATTACK_ENV: JSON.stringify(env) }, stdio: ['pipe', 'pipe', 'inherit'] });
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
