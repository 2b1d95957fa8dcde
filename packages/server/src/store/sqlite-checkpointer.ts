// WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs
// inside whichever commit crosses the threshold: it copies the WAL into the
// database file and fsyncs it, on the main thread, for tens of milliseconds
// under a message burst, while every socket waits. A second connection on its
// own thread does the same work beside the writer instead (a PASSIVE
// checkpoint never blocks writers or readers), so the main connection turns
// its automatic checkpoint off. Measured in docs/benchmarks.md (fan-out).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  /** How often the worker checkpoints, ms. Default 250. */
  everyMs?: number;
  /** WAL size the file is cut back to once checkpointed (journal_size_limit), bytes. Default 64 MiB. */
  walLimitBytes?: number;
}

// Plain JavaScript evaluated in the worker: a .ts worker file would need the
// TypeScript loader in the worker too, which tsx and vitest set up differently.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('journal_size_limit = ' + workerData.walLimitBytes);
const checkpoint = (mode) => {
  try {
    db.pragma('wal_checkpoint(' + mode + ')');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
};
const timer = setInterval(() => checkpoint('PASSIVE'), workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  // The writer is gone: a TRUNCATE leaves the database whole in its file and the WAL empty.
  checkpoint('TRUNCATE');
  db.close();
  parentPort.postMessage({ stopped: true });
});
`;

export interface Checkpointer {
  /** Runs a last checkpoint and ends the worker; call after the main connection stopped writing. */
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, onError: (message: string) => void, options: CheckpointerOptions = {}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, driver, everyMs: options.everyMs ?? 250, walLimitBytes: options.walLimitBytes ?? 64 * 1024 * 1024 },
    // Small: it holds one connection and a timer.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
  });
  // The worker must not keep a process alive that is otherwise done.
  worker.unref();
  worker.on('message', (m: { error?: string }) => {
    if (m.error) onError(m.error);
  });
  worker.on('error', (err) => onError(err.message));
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('exit', done);
        worker.on('message', (m: { stopped?: boolean }) => {
          if (m.stopped) void worker.terminate();
        });
        worker.postMessage('stop');
        // A worker that cannot answer (it crashed) must not hold up shutdown.
        setTimeout(() => void worker.terminate(), 5_000).unref();
      });
      return stopping;
    },
  };
}
