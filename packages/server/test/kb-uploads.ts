// Uploading a file to a knowledge base as the app's backend would, and waiting for the queue to finish with it.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function upload(server: { url: string; appSecret: string }, kbId: string, name: string, data: Uint8Array, mime = 'application/octet-stream') {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(data)], { type: mime }), name);
  const res = await fetch(`${server.url}/api/knowledge-bases/${kbId}/documents`, { method: 'POST', headers: { authorization: `Bearer ${server.appSecret}` }, body: form });
  return { status: res.status, body: await res.json() as any };
}

/** The upload once it is ready or failed (polled: the queue works in the background). */
export async function settled(server: { api: (method: string, path: string) => Promise<{ body: any }> }, kbId: string, id: string, timeoutMs = 90_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await server.api('GET', `/api/knowledge-bases/${kbId}/uploads/${id}`);
    if (job.body.status === 'ready' || job.body.status === 'failed') return job.body;
    if (Date.now() > until) throw new Error(`upload ${id} still ${job.body.status}`);
    await sleep(100);
  }
}
