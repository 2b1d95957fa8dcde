// The worker thread's entry: plain JavaScript, because a worker does not inherit
// the tsx loader the server runs under; it loads the TypeScript parser through tsx.
import { tsImport } from 'tsx/esm/api';

await tsImport('./worker.ts', import.meta.url);
