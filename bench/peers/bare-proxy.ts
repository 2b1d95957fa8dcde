import { createServer } from 'node:http';
import { Pool } from 'undici';

// The floor of a Node proxy, for bench:gateway: node:http in, an undici
// keep-alive Pool out, bodies streamed through unparsed. No auth, no
// limits, no ledger, no logging: whatever a gateway written in Node adds on
// top of this is its own work.

const port = Number(process.env.PEER_PORT ?? 0);
const upstream = process.env.PEER_UPSTREAM;
if (!port || !upstream) throw new Error('PEER_PORT and PEER_UPSTREAM (the origin to forward to) are required');

const pool = new Pool(upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
// Hop-by-hop headers are the connection's own, not the request's (RFC 9110 §7.6.1).
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'proxy-connection', 'te', 'trailer']);

const server = createServer((req, res) => {
  if (req.url === '/healthz') return res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !HOP.has(k)) headers[k] = v;
  pool.request({ path: req.url ?? '/', method: (req.method ?? 'GET') as 'POST', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }).then(
    (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      up.body.pipe(res);
    },
    (err: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `upstream: ${err.message}`, type: 'bad_gateway' } }));
    },
  );
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void pool.close().then(() => process.exit(0)));
});
