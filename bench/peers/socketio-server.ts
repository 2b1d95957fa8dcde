import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { verifyPeerToken } from './token.ts';

// The Socket.IO baseline: rooms, a broadcast per 'msg', no persistence, no
// validation beyond auth. It is the floor a chat server with storage is
// measured against, so it must stay minimal. With PEER_REDIS_URL it is one
// node of several: @socket.io/redis-adapter (Redis pub/sub, ioredis, the
// adapter's documented setup) carries each broadcast to the other nodes.

const port = Number(process.env.PEER_PORT ?? 0);
const secret = process.env.PEER_SECRET ?? '';
if (!port || !secret) throw new Error('PEER_PORT and PEER_SECRET are required');

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? 'ok' : 'not found');
});

const redisUrl = process.env.PEER_REDIS_URL;
const pub = redisUrl ? new Redis(redisUrl) : undefined;
const sub = pub?.duplicate();
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  ...(pub && sub ? { adapter: createAdapter(pub, sub) } : {}),
});

io.use((socket, next) => {
  const claims = verifyPeerToken(secret, (socket.handshake.auth as { token?: unknown }).token);
  if (!claims) return next(new Error('unauthorized'));
  socket.data.room = claims.room;
  next();
});

io.on('connection', (socket) => {
  const room = socket.data.room as string;
  void socket.join(room);
  // io.to (not socket.to) so the sender gets its own copy, as Warbler's sender gets its ack.
  socket.on('msg', (payload: unknown) => {
    io.to(room).emit('msg', payload);
  });
});

http.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  void io.close(() => {
    pub?.disconnect();
    sub?.disconnect();
    process.exit(0);
  });
});
