/** A source document as uploaded or imported, before chunking. */
export interface KbDocument {
  id: string;
  app_id: string;
  kb_id: string;
  title: string;
  /** Where it came from: a file name or a path relative to the imported folder. */
  source: string;
  text: string;
  /** Inferred from the source's extension when absent (.txt is text, anything else Markdown). */
  format?: 'markdown' | 'text';
}

/** One retrievable passage of a document; what the Store keeps and the index is rebuilt from. */
export interface Chunk {
  /** `${document_id}#${ordinal}`: stable, so re-ingesting the same text yields the same ids. */
  id: string;
  app_id: string;
  kb_id: string;
  document_id: string;
  /** Position in the document, from 0. */
  ordinal: number;
  // Title and source are copied in so a chunk can be cited without its document.
  title: string;
  source: string;
  /** Headings from the top of the document down to this chunk, e.g. ['Quick start', 'Install']. */
  heading_path: string[];
  text: string;
  /** o200k tokens in `text`. */
  tokens: number;
}

/** A search hit: the chunk plus how well it matched. */
export interface Passage {
  chunk: Chunk;
  /** BM25 score; only comparable within one search. */
  score: number;
}

/** What a reply cites; `index` is the number in its [n] marker. */
export interface Citation {
  index: number;
  document_id: string;
  title: string;
  /** The heading path joined with ' › ', or '' for a document without headings. */
  heading: string;
  source: string;
  /** The quoted text. */
  snippet: string;
}

export interface KbAnswer {
  text: string;
  citations: Citation[];
}
