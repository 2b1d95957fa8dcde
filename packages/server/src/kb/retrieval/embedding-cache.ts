import { createHash } from 'node:crypto';
import type { Embedder, EmbeddingContext } from './embedder.ts';
import type { KbVectorStore } from './vector-store.ts';

/** The cache key of a text: the same text under the same model is embedded once per app. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * Embeddings by content hash: what the store has is reused, only the rest is
 * sent (in the Embedder's batches) and kept. Vectors come back unit length,
 * so a dot product is the cosine.
 */
export class EmbeddingCache {
  constructor(
    private readonly embedder: Embedder,
    private readonly store: Pick<KbVectorStore, 'getVectors' | 'putVectors'>,
    private readonly now: () => number = Date.now,
  ) {}

  async vectors(model: string, texts: readonly string[], context: EmbeddingContext): Promise<Float32Array[]> {
    const hashes = texts.map(contentHash);
    const found = await this.store.getVectors(context.app_id, model, [...new Set(hashes)]);
    const missing = [...new Set(hashes.filter((h) => !found.has(h)))];
    if (missing.length) {
      const textOf = new Map(hashes.map((h, i) => [h, texts[i]!]));
      const fresh = await this.embedder.embed(model, missing.map((h) => textOf.get(h)!), context);
      const made = new Map(missing.map((h, i) => [h, unit(fresh[i]!)]));
      await this.store.putVectors(context.app_id, model, made, this.now());
      for (const [h, v] of made) found.set(h, v);
    }
    return hashes.map((h) => found.get(h)!);
  }
}

export function unit(v: readonly number[] | Float32Array): Float32Array {
  const out = Float32Array.from(v);
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}
