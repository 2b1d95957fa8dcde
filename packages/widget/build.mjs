// Builds the widget into one minified script (dist/widget.js) and records its
// version and sizes (dist/widget.json), which the server reads and serves.
import { build } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

const MAX_GZIP_BYTES = 20_000;
const { version } = JSON.parse(await readFile(new URL('./package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  outfile: 'dist/widget.js',
  // The SDK's Node-only WebSocket import is never reached in a browser.
  external: ['ws'],
  define: { __WIDGET_VERSION__: JSON.stringify(version) },
  // The widget uses the SDK's client only. Its index also re-exports helpers that import the
  // protocol's zod schemas at run time (about 100 KB gzipped), which tree shaking cannot drop.
  alias: { '@warbler/sdk': '../sdk/src/client.ts' },
  legalComments: 'none',
});
const body = await readFile('dist/widget.js');
const sizes = { version, bytes: body.length, gzip_bytes: gzipSync(body, { level: 9 }).length };
// The size is part of the product (docs/widget.md): a dependency that slips in fails the build.
if (sizes.gzip_bytes > MAX_GZIP_BYTES) throw new Error(`widget.js is ${sizes.gzip_bytes} bytes gzipped, over the ${MAX_GZIP_BYTES} budget`);
await writeFile('dist/widget.json', JSON.stringify(sizes) + '\n');
console.log(JSON.stringify(sizes));
