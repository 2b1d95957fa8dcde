import MiniSearch from 'minisearch';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { queryTerms, searchTerms } from './terms.ts';
import { withArticleScores } from './retrieval/article-view.ts';
import { DEFAULT_EXPANSION, expandedSearch, type ExpansionOptions, type FeedbackSource, type WeightedTerm } from './retrieval/query-expansion.ts';
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

/** A whole document as one BM25 document (the article view, decision 0034). */
interface Article {
  key: string;
  title: string;
  text: string;
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
    tokenize: (text, field) => this.captured(searchTerms(text), field),
    // Terms arrive normalized; MiniSearch's default would lowercase again.
    processTerm: (term) => term,
    searchOptions: {
      tokenize: queryTerms,
      boost: { heading: BOOST.heading, title: BOOST.title },
    },
  });
  // Expanded queries score through this (typed arrays over the same postings): MiniSearch's own search took seconds at 100,000 chunks.
  private readonly weighted = new WeightedSearcher(this.miniSearch, BOOST);
  // The article view: each document whole, keyed like byDocument. A customer's words are often spread over several passages.
  // Its text's terms are the passages' terms, captured while they are indexed: tokenizing a long document twice doubled its indexing time.
  private readonly articles = new MiniSearch<Article>({
    idField: 'key',
    fields: ['text', 'title'],
    extractField: (article, field) => (field === 'key' ? article.key : field === 'title' ? article.title : ''),
    tokenize: (text, field) => (field === 'text' ? (this.articleTerms ?? []) : searchTerms(text)),
    processTerm: (term) => term,
  });
  private capture: string[][] | undefined;
  private articleTerms: string[] | undefined;
  private readonly articleSearch = new WeightedSearcher(this.articles, { text: BOOST.text, title: BOOST.title });
  private readonly articleScope = new Map<string, { appId: string; kbId: string }>();

  /** Passes a passage field's terms through, keeping its text's and headings' for the article view while a document is being added. */
  private captured(terms: string[], field: string | undefined): string[] {
    if (field !== 'title') this.capture?.push(terms);
    return terms;
  }

  /** Adds passages to the index, returning their text and heading terms (addAll is synchronous, so nothing else is captured meanwhile). */
  private addPassages(entries: readonly Entry[]): string[][] {
    const terms: string[][] = [];
    this.capture = terms;
    try {
      this.miniSearch.addAll(entries);
    } finally {
      this.capture = undefined;
    }
    return terms;
  }

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
    const terms = this.addPassages(entries);
    this.putArticle(appId, documentId, chunks, terms);
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
    const terms: string[][] = [];
    this.byDocument.set(documentKey(appId, documentId), keys);
    for (let i = 0; i < entries.length; i += sliceSize) {
      if (i > 0) await nextTurn();
      const slice = entries.slice(i, i + sliceSize);
      for (const entry of slice) {
        this.entries.set(entry.key, entry.chunk);
        keys.push(entry.key);
      }
      terms.push(...this.addPassages(slice));
    }
    this.putArticle(appId, documentId, chunks, terms);
  }

  /** The whole document as one entry of the article view, from its passages' terms (the title counted once). */
  private putArticle(appId: string, documentId: string, chunks: readonly Chunk[], passageTerms: readonly string[][]): void {
    if (!chunks.length) return;
    const key = documentKey(appId, documentId);
    this.articleTerms = passageTerms.flat();
    try {
      this.articles.add({ key, title: chunks[0]!.title, text: '' });
    } finally {
      this.articleTerms = undefined;
    }
    this.articleScope.set(key, { appId, kbId: chunks[0]!.kb_id });
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
    if (this.articleScope.delete(key)) this.articles.discard(key);
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
    if (options.expand) return this.expandedSearch(appId, kbIds, query, limit, options.expansion);
    return this.miniSearch
      .search(query, { filter: (result) => this.inScope(result.id as string, appId, kbIds) })
      .slice(0, limit)
      .map((result) => ({ chunk: this.entries.get(result.id as string)!, score: result.score }));
  }

  /**
   * Synonyms and feedback over passages (decision 0031), then each passage's
   * score blended with its whole document's score on the question's own words
   * (the article view, decision 0034).
   */
  private expandedSearch(appId: string, kbIds: ReadonlySet<string>, query: string, limit: number, expansion: Partial<ExpansionOptions> = {}): Passage[] {
    const weight = expansion.articleWeight ?? DEFAULT_EXPANSION.articleWeight;
    if (weight <= 0) return expandedSearch(this.feedbackSource(appId, kbIds), query, limit, expansion);
    const passages = expandedSearch(this.feedbackSource(appId, kbIds), query, Math.max(limit, ARTICLE_POOL), expansion);
    if (!passages.length) return [];
    const inScope = (key: string) => {
      const scope = this.articleScope.get(key);
      return !!scope && scope.appId === appId && kbIds.has(scope.kbId);
    };
    const own = queryTerms(query).map((term) => ({ term, weight: 1 }));
    const articles = new Map(this.articleSearch.search(own, ARTICLE_POOL, inScope).map((hit) => [hit.id, hit.score] as const));
    return withArticleScores(passages, articles, weight, (p) => documentKey(p.chunk.app_id, p.chunk.document_id)).slice(0, limit);
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

// How many passages and articles the two views hand to the blend (as measured, decision 0034).
const ARTICLE_POOL = 100;

function documentKey(appId: string, documentId: string): string {
  return `${appId}\u0000${documentId}`;
}
