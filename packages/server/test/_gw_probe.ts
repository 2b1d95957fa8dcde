import { startUpstreamFixture } from '@warbler/upstream-fixture';
import { startServer } from './harness.ts';
import { performance } from 'node:perf_hooks';

const upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', recordRequests: 0 });
const server = await startServer('sqlite', { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url });
const key = await server.api('POST', '/api/gateway/keys', { name: 'bench', rpm: 1_000_000, tpm: 100_000_000, monthly_budget_usd: 1000 });
const secret = key.body.secret;
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello, how are you today? Tell me something.' }] });
async function run(url: string, auth: string, n: number, conc: number) {
  const lat: number[] = []; const ov: number[] = [];
  let i = 0;
  async function worker() {
    while (i < n) { i++;
      const t = performance.now();
      const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body });
      await r.text();
      lat.push(performance.now() - t);
      const o = r.headers.get('x-warbler-overhead-ms'); if (o) ov.push(Number(o));
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, worker));
  const secs = (performance.now() - t0) / 1000;
  const q = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length * p)]?.toFixed(3); };
  console.log(url.includes(String(upstream.port)) ? 'direct ' : 'warbler', 'rps', (n / secs).toFixed(0), 'p50', q(lat, 0.5), 'p99', q(lat, 0.99), 'overhead p50', q(ov, 0.5), 'p99', q(ov, 0.99));
}
for (let k = 0; k < 2; k++) {
  await run(`${upstream.url}/chat/completions`, 'sk-fixture', 5000, 10);
  await run(`${server.url}/v1/chat/completions`, secret, 5000, 10);
}
await server.stop(); await upstream.close();
