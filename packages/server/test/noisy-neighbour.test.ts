// Issue 10: one user abusing a path must not slow or fail another tenant's
// user. Each case measures the victim's latency alone, then while the
// attacker runs, over real sockets; the victim's p99 may not grow more than
// 10× (its quiet p99 is floored at 5 ms: below that, timer granularity on a
// shared machine is the signal) and none of its calls may fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttacker } from './attacker.ts';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;
const QUIET_FLOOR_MS = 5;

/** The victim's round trips: `n` pings in a row on its own socket. */
async function pingTimes(socket: TestSocket, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const id = `p${i}`;
    const reply = socket.next((f) => f.type === 'pong' && f.id === id);
    socket.send({ type: 'ping', id });
    await reply;
    times.push(performance.now() - t);
  }
  return times;
}

describe.each(storeKinds())('noisy neighbours on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind);
  });
  afterAll(async () => server?.stop());

  it('a user flooding sync and history frames over many sockets does not slow another tenant\'s user', async () => {
    const secret = (await server.api('POST', '/admin/apps', { name: 'Victim Co' }, server.masterKey)).body;
    const victimApp = secret.app ?? secret;
    const victimSecret: string = secret.secret;
    const created = await server.api('POST', '/api/users', { id: 'vic', name: 'Vic' }, victimSecret);
    expect(created.status).toBe(201);
    const victimToken = (await server.api('POST', '/api/users/vic/tokens', {}, victimSecret)).body.token;
    const victim = await TestSocket.open(server.wsUrl, victimToken);
    expect(victimApp.id).toBeTruthy();

    const mallory = await server.user('Mallory');
    const peer = await server.user('Peer');
    const conv = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [peer.id] }, mallory.token)).body.id;
    for (let i = 0; i < 20; i++) await server.api('POST', `/api/conversations/${conv}/messages`, { type: 'text', content: { text: `m${i}` } }, mallory.token);

    await pingTimes(victim, 50); // warm-up
    const quiet = p99(await pingTimes(victim, 200));

    const attacker = startAttacker(`
      let frames = 0;
      const closes = [];
      const flood = async () => {
        while (!stopped()) {
          const socket = new ws(env.url, { headers: { authorization: 'Bearer ' + env.token } });
          socket.on('error', () => {});
          await new Promise((resolve) => {
            socket.once('close', (code) => { closes.push(code); resolve(); });
            socket.once('open', () => {
              const send = () => {
                if (stopped() || socket.readyState !== ws.OPEN) return;
                for (let i = 0; i < 200; i++) {
                  socket.send(i % 2 ? '{"type":"sync","id":"s' + frames + '","cursors":{"' + env.conv + '":0}}' : '{"type":"history","id":"h' + frames + '","conversation_id":"' + env.conv + '"}');
                  frames++;
                }
                setImmediate(send);
              };
              send();
            });
          });
        }
      };
      await Promise.all(Array.from({ length: 20 }, flood));
      return { frames, closes: closes.length, codes: [...new Set(closes)] };
    `, { url: server.wsUrl, token: mallory.token, conv });
    await new Promise((r) => setTimeout(r, 300)); // let the flood reach full speed
    const loud = await pingTimes(victim, 300);
    const health = performance.now();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const healthMs = performance.now() - health;
    const report = await attacker.stop();
    await victim.close();

    const ratio = p99(loud) / Math.max(quiet, QUIET_FLOOR_MS);
    console.log(JSON.stringify({ probe: 'ws sync/history flood', attacker: report, victim_quiet_p99_ms: quiet, victim_loud_p99_ms: p99(loud), ratio, healthz_ms: healthMs }));
    expect(report.frames).toBeGreaterThan(10_000);
    expect(report.codes).toContain(4009);
    expect(ratio).toBeLessThan(10);
  });
});
