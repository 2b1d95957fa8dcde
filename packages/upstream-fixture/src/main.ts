// Runs the fixture on its own, for benches and manual poking:
//   tsx packages/upstream-fixture/src/main.ts --port 4010 --ttft-ms 50 --interval-ms 10
// Script it over HTTP: POST /_fixture/script with a step (or an array of steps).
import { parseArgs } from 'node:util';
import { startUpstreamFixture } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4010' },
    host: { type: 'string', default: '127.0.0.1' },
    'api-key': { type: 'string' },
    text: { type: 'string' },
    'ttft-ms': { type: 'string' },
    'interval-ms': { type: 'string' },
    'chunk-size': { type: 'string' },
    'stamp-text': { type: 'boolean', default: false },
    // Benches leave recording off so memory stays flat; tests that script over HTTP turn it on.
    record: { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(
    'usage: upstream-fixture [--port 4010] [--host 127.0.0.1] [--api-key KEY] [--text TEXT]\n' +
      '                        [--ttft-ms N] [--interval-ms N] [--chunk-size N] [--stamp-text] [--record N]',
  );
  process.exit(0);
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

const fixture = await startUpstreamFixture({
  port: Number(values.port),
  host: values.host,
  apiKey: values['api-key'],
  recordRequests: Number(values.record),
  defaults: {
    text: values.text,
    ttftMs: num(values['ttft-ms']),
    intervalMs: num(values['interval-ms']),
    chunkSize: num(values['chunk-size']),
    stampText: values['stamp-text'],
  },
});
console.log(JSON.stringify({ fixture: fixture.url }));

const stop = () => void fixture.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
