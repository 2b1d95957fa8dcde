import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

// The bare-metal baseline: `ws` and a Set per group. A client names its group
// in the URL (?group=…); every text frame it sends is forwarded unparsed to
// every socket of that group, itself included. No auth, no persistence.

const port = Number(process.env.PEER_PORT ?? 0);
if (!port) throw new Error('PEER_PORT is required');

const groups = new Map<string, Set<WebSocket>>();

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? 'ok' : 'not found');
});

const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false });

wss.on('connection', (socket, req) => {
  const group = new URL(req.url ?? '/', 'http://x').searchParams.get('group');
  if (!group) return socket.close(4000, 'group required');
  let members = groups.get(group);
  if (!members) groups.set(group, (members = new Set()));
  members.add(socket);
  const peers = members;
  socket.on('message', (data, isBinary) => {
    for (const peer of peers) peer.send(data, { binary: isBinary });
  });
  socket.on('close', () => {
    peers.delete(socket);
    if (peers.size === 0) groups.delete(group);
  });
});

http.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  wss.close(() => http.close(() => process.exit(0)));
});
