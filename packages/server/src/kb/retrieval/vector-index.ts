import type { Chunk } from '../types.ts';

interface Entry {
  chunk: Chunk;
  model: string;
  vector: Float32Array;
}

/** A passage found by meaning: cosine similarity of unit vectors, -1 to 1. */
export interface VectorHit {
  chunk: Chunk;
  score: number;
}

/**
 * Exact nearest neighbours in memory, rebuilt at start from stored vectors
 * (decision 0018: at a knowledge base's scale an exact scan is fast enough and
 * has nothing to tune or rebuild; pgvector would serve PostgreSQL only).
 * Buckets per app and knowledge base, so a search scans only its own.
 */
export class VectorIndex {
  private readonly buckets = new Map<string, Map<string, Entry>>();

  put(chunk: Chunk, model: string, vector: Float32Array): void {
    const bucket = this.bucket(chunk.app_id, chunk.kb_id, true)!;
    bucket.set(chunk.id, { chunk, model, vector });
  }

  removeDocument(appId: string, kbId: string, documentId: string): void {
    const bucket = this.bucket(appId, kbId);
    if (!bucket) return;
    for (const [id, entry] of bucket) if (entry.chunk.document_id === documentId) bucket.delete(id);
  }

  removeKnowledgeBase(appId: string, kbId: string): void {
    this.buckets.delete(bucketKey(appId, kbId));
  }

  /** How many chunks of the knowledge base have a vector of `model`. */
  count(appId: string, kbId: string, model?: string): number {
    const bucket = this.bucket(appId, kbId);
    if (!bucket) return 0;
    if (model === undefined) return bucket.size;
    let n = 0;
    for (const e of bucket.values()) if (e.model === model) n++;
    return n;
  }

  has(chunk: Chunk, model: string): boolean {
    return this.bucket(chunk.app_id, chunk.kb_id)?.get(chunk.id)?.model === model;
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  /** The `limit` chunks closest to `query` among those embedded with `model`, best first. */
  search(appId: string, kbIds: readonly string[], model: string, query: Float32Array, limit: number): VectorHit[] {
    const top: VectorHit[] = [];
    for (const kbId of new Set(kbIds)) {
      for (const entry of this.bucket(appId, kbId)?.values() ?? []) {
        if (entry.model !== model || entry.vector.length !== query.length) continue;
        const score = dot(entry.vector, query);
        if (top.length < limit) insert(top, { chunk: entry.chunk, score });
        else if (score > top[top.length - 1]!.score) {
          top.pop();
          insert(top, { chunk: entry.chunk, score });
        }
      }
    }
    return top;
  }

  private bucket(appId: string, kbId: string, create = false): Map<string, Entry> | undefined {
    const key = bucketKey(appId, kbId);
    let bucket = this.buckets.get(key);
    if (!bucket && create) this.buckets.set(key, (bucket = new Map()));
    return bucket;
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Keeps `top` sorted best first. */
function insert(top: VectorHit[], hit: VectorHit): void {
  let i = top.length;
  while (i > 0 && top[i - 1]!.score < hit.score) i--;
  top.splice(i, 0, hit);
}

function bucketKey(appId: string, kbId: string): string {
  return `${appId}\u0000${kbId}`;
}
