import { createServer } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Pool } from 'undici';
import { WebSocketServer, type WebSocket } from 'ws';

// The bare relay: the floor of what an agent reply costs a server. A client
// sends one text frame (its question); the relay POSTs it to the upstream as
// a streaming chat completion over a keep-alive undici pool, parses the SSE
// with eventsource-parser (the same reader Warbler's UpstreamHttp uses),
// JSON.parses each event and writes every content delta to the client's
// socket at once as `{"offset","text","ts"}`, then `{"done":true,"text"}`.
// No store, no auth, no agent logic, no coalescing: bench:agent-stream
// measures Warbler's CPU per chunk and relay p99 as ratios to this.

const port = Number(process.env.PEER_PORT ?? 0);
const upstream = process.env.RELAY_UPSTREAM ?? '';
const apiKey = process.env.RELAY_API_KEY ?? '';
if (!port || !upstream) throw new Error('PEER_PORT and RELAY_UPSTREAM (the fixture base URL, …/v1) are required');

const base = new URL(upstream);
const path = `${base.pathname.replace(/\/+$/, '')}/chat/completions`;
const pool = new Pool(base.origin, { keepAliveTimeout: 10_000 });
const headers = { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${apiKey}` };

interface Chunk {
  choices?: Array<{ delta?: { content?: string | null } }>;
}

async function relay(socket: WebSocket, question: string): Promise<void> {
  const res = await pool.request({
    path,
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: question }] }),
  });
  if (res.statusCode !== 200) throw new Error(`upstream answered ${res.statusCode}: ${await res.body.text()}`);
  let text = '';
  const parser = createParser({
    onEvent: (event: EventSourceMessage) => {
      if (event.data === '[DONE]') return;
      const delta = (JSON.parse(event.data) as Chunk).choices?.[0]?.delta?.content;
      if (!delta) return;
      socket.send(JSON.stringify({ offset: text.length, text: delta, ts: Date.now() }));
      text += delta;
    },
  });
  const decoder = new TextDecoder();
  for await (const bytes of res.body as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(bytes, { stream: true }));
  socket.send(JSON.stringify({ done: true, text }));
}

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? 'ok' : 'not found');
});

const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    relay(socket, data.toString()).catch((err: unknown) => socket.send(JSON.stringify({ error: err instanceof Error ? err.message : String(err) })));
  });
});

http.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  void pool.close();
  wss.close(() => http.close(() => process.exit(0)));
});
