import type { Kysely } from 'kysely';

/** A knowledge base's retrieval settings; null models mean BM25 only (the offline default). */
export interface RetrievalSettings {
  app_id: string;
  kb_id: string;
  embedding_model: string | null;
  rerank_model: string | null;
  updated_at: number;
}

interface VectorTables {
  kb_embeddings: { app_id: string; model: string; content_hash: string; dims: number; vector: string; created_at: number };
  kb_retrieval_settings: RetrievalSettings;
}

/**
 * The retrieval room's tables (migration 0014_kb_vectors): embeddings keyed
 * by app, model and content hash, so a chunk whose text did not change is
 * never paid for twice, and a model change finds nothing and embeds afresh.
 */
export class KbVectorStore {
  private readonly db: Kysely<VectorTables>;

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<VectorTables>;
  }

  /** The stored vectors among `hashes`, by hash. */
  async getVectors(appId: string, model: string, hashes: readonly string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    // Bound the IN list: PostgreSQL and SQLite both cap bound parameters.
    for (let i = 0; i < hashes.length; i += 500) {
      const rows = await this.db.selectFrom('kb_embeddings').select(['content_hash', 'vector'])
        .where('app_id', '=', appId).where('model', '=', model).where('content_hash', 'in', hashes.slice(i, i + 500)).execute();
      for (const row of rows) found.set(row.content_hash, decodeVector(row.vector));
    }
    return found;
  }

  async putVectors(appId: string, model: string, vectors: ReadonlyMap<string, Float32Array>, now: number): Promise<void> {
    const rows = [...vectors].map(([content_hash, v]) => ({ app_id: appId, model, content_hash, dims: v.length, vector: encodeVector(v), created_at: now }));
    for (let i = 0; i < rows.length; i += 200) {
      await this.db.insertInto('kb_embeddings').values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.columns(['app_id', 'model', 'content_hash']).doNothing()).execute();
    }
  }

  async getSettings(appId: string, kbId: string): Promise<RetrievalSettings | undefined> {
    return this.db.selectFrom('kb_retrieval_settings').selectAll().where('app_id', '=', appId).where('kb_id', '=', kbId).executeTakeFirst();
  }

  async listSettings(): Promise<RetrievalSettings[]> {
    return this.db.selectFrom('kb_retrieval_settings').selectAll().execute();
  }

  async putSettings(row: RetrievalSettings): Promise<void> {
    await this.db.insertInto('kb_retrieval_settings').values(row)
      .onConflict((oc) => oc.columns(['app_id', 'kb_id']).doUpdateSet({ embedding_model: row.embedding_model, rerank_model: row.rerank_model, updated_at: row.updated_at }))
      .execute();
  }

  async deleteSettings(appId: string, kbId: string): Promise<void> {
    await this.db.deleteFrom('kb_retrieval_settings').where('app_id', '=', appId).where('kb_id', '=', kbId).execute();
  }
}

/** Float32 little-endian bytes in base64: a quarter the size of JSON and exact on both stores. */
export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeVector(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
