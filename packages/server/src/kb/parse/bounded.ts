import { Worker } from 'node:worker_threads';
import { ParseFailure, type ParsedDocument, type ParseLimits, type SourceFormat } from './types.ts';

export interface ParseBudget {
  /** Wall time for one file once the worker is up; 60 s by default. */
  timeoutMs?: number;
  /** Heap of the worker; 512 MiB by default. */
  maxHeapMb?: number;
}

const WORKER = new URL('./worker-entry.mjs', import.meta.url);
type Reply = { id: number; ok: true; parsed: ParsedDocument } | { id: number; ok: false; failure: boolean; message: string };

/**
 * A parser thread kept warm (starting one costs seconds: it loads pdf.js,
 * SheetJS and mammoth) and replaced whenever a file kills it or runs past its
 * budget. Files go one at a time, so one hostile file holds at most one
 * thread, never the server's event loop.
 */
class ParserThread {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private next = 0;

  constructor(private readonly maxHeapMb: number) {}

  parse(data: Uint8Array, format: SourceFormat, limits: ParseLimits, timeoutMs: number): Promise<ParsedDocument> {
    const run = this.queue.then(() => this.run(data, format, limits, timeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async start(): Promise<Worker> {
    if (this.worker && this.ready) {
      await this.ready;
      return this.worker;
    }
    const worker = new Worker(WORKER, {
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb, maxYoungGenerationSizeMb: 64, stackSizeMb: 8 },
      stdout: true,
      stderr: true,
    });
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { ready?: boolean }) => (m.ready ? resolve() : reject(new Error('parser thread did not start'))));
      worker.once('error', reject);
    });
    await this.ready.catch((err: unknown) => {
      this.stop();
      throw err;
    });
    return worker;
  }

  private stop(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.ready = undefined;
  }

  private async run(data: Uint8Array, format: SourceFormat, limits: ParseLimits, timeoutMs: number): Promise<ParsedDocument> {
    let worker: Worker;
    try {
      worker = await this.start();
    } catch {
      throw new ParseFailure('The document parser could not start on this server. Retry later; if it persists, check the server log.');
    }
    const id = ++this.next;
    return new Promise<ParsedDocument>((resolve, reject) => {
      const done = (fn: () => void, kill = false) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (kill) this.stop();
        fn();
      };
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        done(() => (m.ok ? resolve(m.parsed) : reject(new ParseFailure(m.failure ? m.message : 'This file could not be read (the parser failed on it). Save it again in the same format, or as PDF, and retry.'))));
      };
      const onError = (err: Error & { code?: string }) =>
        done(() => reject(new ParseFailure(err.code === 'ERR_WORKER_OUT_OF_MEMORY' || /memory|heap/i.test(err.message)
          ? 'Reading this file needed more memory than allowed (a zip bomb, or far too large). Split it into smaller files.'
          : 'This file could not be read (the parser failed on it). Save it again and retry.')), true);
      const onExit = () => done(() => reject(new ParseFailure('This file could not be read (the parser stopped on it). Save it again and retry.')), true);
      const timer = setTimeout(() => done(() => reject(new ParseFailure(`Reading this file took longer than ${Math.max(1, Math.round(timeoutMs / 1000))} s; it is too large or malformed. Split it or save it again, then retry.`)), true), timeoutMs);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ id, data, format, limits });
    });
  }
}

const threads = new Map<number, ParserThread>();

/**
 * Parses a file in a worker thread with a heap limit and a time budget, so a
 * hostile file (a zip bomb that lies about its sizes, a PDF that loops) ends
 * as a failed document with a reason instead of hanging or crashing the server.
 */
export function parseBounded(data: Uint8Array, format: SourceFormat, limits: ParseLimits, budget: ParseBudget = {}): Promise<ParsedDocument> {
  const heap = budget.maxHeapMb ?? 512;
  let thread = threads.get(heap);
  if (!thread) threads.set(heap, (thread = new ParserThread(heap)));
  return thread.parse(data, format, limits, budget.timeoutMs ?? 60_000);
}
