import { parentPort } from 'node:worker_threads';
import { parseFile } from './parse-file.ts';
import { ParseFailure, type ParseLimits, type SourceFormat } from './types.ts';

// The parser thread: files arrive one at a time; a hostile one that kills this thread is answered by the server starting another.
const port = parentPort!;
port.on('message', ({ id, data, format, limits }: { id: number; data: Uint8Array; format: SourceFormat; limits: ParseLimits }) => {
  parseFile(data, format, limits).then(
    (parsed) => port.postMessage({ id, ok: true, parsed }),
    (err: unknown) => port.postMessage({ id, ok: false, failure: err instanceof ParseFailure, message: err instanceof Error ? err.message : String(err) }),
  );
});
port.postMessage({ ready: true });
