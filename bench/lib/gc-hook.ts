// Preloaded (--import) into every server a bench starts, so the harness can
// force a full GC before reading RSS without the server knowing about benches.
// It only answers IPC messages; a server started without IPC never sees it.

const gc = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  process.on('message', (message: unknown) => {
    if (message !== 'bench:gc') return;
    // Two passes: the first can leave objects that only die after finalizers ran.
    gc?.();
    gc?.();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    process.send?.({ type: 'bench:gc:done', collected: gc !== undefined, rss, heapUsed, heapTotal, external, arrayBuffers });
  });
  // The IPC channel must not keep a server alive that wants to exit on SIGTERM.
  process.channel?.unref();
}

// BENCH_SERVER_LOOP_DELAY=1: print the server's event-loop delay (max and p99 over each second) to stderr,
// to tell a stalled loop from time spent elsewhere; read it with BENCH_SERVER_OUTPUT.
if (process.env.BENCH_SERVER_LOOP_DELAY === '1') {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  setInterval(() => {
    process.stderr.write(`loop-delay max ${(h.max / 1e6).toFixed(1)} ms p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms\n`);
    h.reset();
  }, 1000).unref();
}

// BENCH_SERVER_ALLOC_PROFILE=<file>: sample every allocation site (collected objects included) from
// BENCH_SERVER_ALLOC_FROM_S (default 10) for BENCH_SERVER_ALLOC_SECONDS (default 10) seconds after start,
// and write a .heapprofile (Chrome DevTools → Memory) to see what the server allocates per request.
const allocFile = process.env.BENCH_SERVER_ALLOC_PROFILE;
if (allocFile) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const from = Number(process.env.BENCH_SERVER_ALLOC_FROM_S ?? 10) * 1000;
  const seconds = Number(process.env.BENCH_SERVER_ALLOC_SECONDS ?? 10) * 1000;
  setTimeout(async () => {
    await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    setTimeout(async () => {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(allocFile, JSON.stringify(profile));
      process.stderr.write(`allocation profile written to ${allocFile}\n`);
    }, seconds).unref();
  }, from).unref();
}
