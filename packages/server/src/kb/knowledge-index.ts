import MiniSearch from 'minisearch';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { queryTerms, searchTerms } from './terms.ts';
import { expandedSearch, type ExpansionOptions, type FeedbackSource, type WeightedTerm } from './retrieval/query-expansion.ts';
import { WeightedSearcher } from './weighted-search.ts';
import type { Chunk, Passage } from './types.ts';

export interface KbSearchOptions {
  /** The knowledge bases to search, all of the app's own; none means no results. */
  kbIds: readonly string[];
  /** How many passages at most; 5 by default. */
  limit?: number;
  /**
   * Add synonyms and pseudo-relevance feedback terms to the question at lower
   * weights, so a question in other words than the document's still finds it
   * (decision 0018). Off by default here; the retrieval pipeline turns it on.
   */
  expand?: boolean;
  /** How to expand, when `expand` is on; the defaults (DEFAULT_EXPANSION) are what was measured best. For benchmarks and tests. */
  expansion?: Partial<ExpansionOptions>;
}

/**
 * Where retrieval happens. The Store keeps documents and chunks; an index is
 * built from them at start and kept in step as documents change.
 */
export interface KnowledgeIndex {
  /** Indexes a document's chunks, replacing whatever was indexed for that document. */
  putDocument(appId: string, documentId: string, chunks: readonly Chunk[]): void;
  removeDocument(appId: string, documentId: string): void;
  removeKnowledgeBase(appId: string, kbId: string): void;
  /** The best passages for `query`, best first. */
  search(appId: string, query: string, options: KbSearchOptions): Passage[];
}

interface Entry {
  key: string;
  chunk: Chunk;
}

// A heading that names the topic is the strongest sign a passage is about it.
const BOOST = { text: 1, heading: 2, title: 1.5 } as const;

/** BM25 over MiniSearch, in memory. */
export class InMemoryKnowledgeIndex implements KnowledgeIndex {
  // Keys carry the app id, so equal document ids in two apps can never collide.
  private readonly entries = new Map<string, Chunk>();
  private readonly byDocument = new Map<string, string[]>();
  private readonly miniSearch = new MiniSearch<Entry>({
    idField: 'key',
    fields: ['text', 'heading', 'title'],
    extractField: (entry, field) => {
      if (field === 'key') return entry.key;
      if (field === 'heading') return entry.chunk.heading_path.join(' ');
      return field === 'title' ? entry.chunk.title : entry.chunk.text;
    },
    tokenize: searchTerms,
    // Terms arrive normalized; MiniSearch's default would lowercase again.
    processTerm: (term) => term,
    searchOptions: {
      tokenize: queryTerms,
      boost: { heading: BOOST.heading, title: BOOST.title },
    },
  });
  // Expanded queries score through this (typed arrays over the same postings): MiniSearch's own search took seconds at 100,000 chunks.
  private readonly weighted = new WeightedSearcher(this.miniSearch, BOOST);

  /** Rebuilds an index from stored chunks, e.g. at start. */
  static fromChunks(chunks: Iterable<Chunk>): InMemoryKnowledgeIndex {
    const byDocument = new Map<string, Chunk[]>();
    for (const chunk of chunks) {
      const key = documentKey(chunk.app_id, chunk.document_id);
      const list = byDocument.get(key);
      if (list) list.push(chunk);
      else byDocument.set(key, [chunk]);
    }
    const index = new InMemoryKnowledgeIndex();
    for (const list of byDocument.values()) index.putDocument(list[0]!.app_id, list[0]!.document_id, list);
    return index;
  }

  hasDocument(appId: string, documentId: string): boolean {
    return this.byDocument.has(documentKey(appId, documentId));
  }

  get size(): number {
    return this.entries.size;
  }

  putDocument(appId: string, documentId: string, chunks: readonly Chunk[]): void {
    this.removeDocument(appId, documentId);
    const entries = this.entriesOf(appId, documentId, chunks);
    for (const entry of entries) this.entries.set(entry.key, entry.chunk);
    this.byDocument.set(documentKey(appId, documentId), entries.map((e) => e.key));
    this.miniSearch.addAll(entries);
  }

  /**
   * putDocument in slices with a turn of the event loop between them: a 5 MB
   * document takes seconds to index, and a chat server must not stall that
   * long. Searches meanwhile see the part indexed so far. Callers must not
   * change the same document while this runs.
   */
  async putDocumentInSlices(appId: string, documentId: string, chunks: readonly Chunk[], sliceSize = 16): Promise<void> {
    this.removeDocument(appId, documentId);
    const entries = this.entriesOf(appId, documentId, chunks);
    const keys: string[] = [];
    this.byDocument.set(documentKey(appId, documentId), keys);
    for (let i = 0; i < entries.length; i += sliceSize) {
      if (i > 0) await nextTurn();
      const slice = entries.slice(i, i + sliceSize);
      for (const entry of slice) {
        this.entries.set(entry.key, entry.chunk);
        keys.push(entry.key);
      }
      this.miniSearch.addAll(slice);
    }
  }

  private entriesOf(appId: string, documentId: string, chunks: readonly Chunk[]): Entry[] {
    return chunks.map((chunk) => {
      if (chunk.app_id !== appId || chunk.document_id !== documentId) {
        throw new Error(`chunk ${chunk.id} belongs to another document than ${documentId}`);
      }
      return { key: `${appId}\u0000${chunk.id}`, chunk };
    });
  }

  removeDocument(appId: string, documentId: string): void {
    const key = documentKey(appId, documentId);
    for (const entryKey of this.byDocument.get(key) ?? []) {
      this.entries.delete(entryKey);
      this.miniSearch.discard(entryKey);
    }
    this.byDocument.delete(key);
  }

  removeKnowledgeBase(appId: string, kbId: string): void {
    const documentIds = new Set<string>();
    for (const chunk of this.entries.values()) {
      if (chunk.app_id === appId && chunk.kb_id === kbId) documentIds.add(chunk.document_id);
    }
    for (const documentId of documentIds) this.removeDocument(appId, documentId);
  }

  search(appId: string, query: string, options: KbSearchOptions): Passage[] {
    const kbIds = new Set(options.kbIds);
    if (!kbIds.size) return [];
    const limit = options.limit ?? 5;
    if (options.expand) return expandedSearch(this.feedbackSource(appId, kbIds), query, limit, options.expansion);
    return this.miniSearch
      .search(query, { filter: (result) => this.inScope(result.id as string, appId, kbIds) })
      .slice(0, limit)
      .map((result) => ({ chunk: this.entries.get(result.id as string)!, score: result.score }));
  }

  /** The chunks of a knowledge base, in no particular order. */
  chunksOf(appId: string, kbId: string): Chunk[] {
    return [...this.entries.values()].filter((c) => c.app_id === appId && c.kb_id === kbId);
  }

  private inScope(key: string, appId: string, kbIds: ReadonlySet<string>): boolean {
    const chunk = this.entries.get(key);
    return !!chunk && chunk.app_id === appId && kbIds.has(chunk.kb_id);
  }

  private feedbackSource(appId: string, kbIds: ReadonlySet<string>): FeedbackSource<Passage & { matched?: number }> {
    const inScope = (key: string) => this.inScope(key, appId, kbIds);
    return {
      passageCount: this.weighted.passageCount,
      documentFrequency: (term) => this.weighted.documentFrequency(term) || 1,
      searchWeighted: (terms: readonly WeightedTerm[], limit: number, options?: { maxShare?: number }) =>
        this.weighted.search(terms, limit, inScope, options).map((hit) => ({ chunk: this.entries.get(hit.id)!, score: hit.score, matched: hit.matched })),
    };
  }
}

function documentKey(appId: string, documentId: string): string {
  return `${appId}\u0000${documentId}`;
}
