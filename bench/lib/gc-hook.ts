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
