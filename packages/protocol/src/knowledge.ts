import { z } from 'zod';

/** Formats a knowledge base takes; each is turned into Markdown before it is chunked. */
export const KnowledgeSourceFormat = z.enum(['markdown', 'text', 'pdf', 'docx', 'xlsx', 'xls', 'csv', 'html', 'pptx']);

/** Where an upload is on its way into a knowledge base. */
export const IngestStatus = z.enum(['queued', 'processing', 'ready', 'failed']);

export const IngestJob = z.object({
  app_id: z.string(),
  id: z.string(),
  kb_id: z.string(),
  filename: z.string(),
  source: z.string(),
  title: z.string().nullable(),
  format: KnowledgeSourceFormat,
  status: IngestStatus,
  /** Why it failed, in words a person can act on; null unless failed. */
  reason: z.string().nullable(),
  progress: z.number().int().min(0).max(100),
  attempts: z.number().int(),
  bytes: z.number().int(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type IngestJob = z.infer<typeof IngestJob>;

/** How a web source is read: one page, the pages a sitemap lists, or a crawl of the site's links. */
export const WebSourceMode = z.enum(['page', 'sitemap', 'crawl']);

export const WebSourceCreate = z.object({
  /** The page, the sitemap, or the page a crawl starts from. */
  url: z.string().trim().min(1).max(2000),
  mode: WebSourceMode.default('crawl'),
  /** Pages read at most per run (the rest are left out, and say so in the run's figures). */
  max_pages: z.number().int().min(1).max(1000).default(50),
  /** Links followed from the start page at most (crawl). */
  max_depth: z.number().int().min(0).max(5).default(2),
  /** Read the site again this often and re-index only what changed; null reads it once. */
  resync_hours: z.number().int().min(1).max(720).nullable().default(24),
}).strict();
export type WebSourceCreate = z.infer<typeof WebSourceCreate>;

/** What one run of a web source did. */
export const WebSourceRun = z.object({
  /** Pages the run looked at (robots-excluded ones included). */
  found: z.number().int(),
  added: z.number().int(),
  changed: z.number().int(),
  unchanged: z.number().int(),
  removed: z.number().int(),
  /** Pages robots.txt or the page itself (noindex) asks crawlers to leave alone. */
  excluded: z.number().int(),
  failed: z.number().int(),
  /** Pages beyond max_pages, not read. */
  over_limit: z.number().int(),
  started_at: z.number(),
  finished_at: z.number(),
  /** A few of the failures, for a person to act on. */
  errors: z.array(z.object({ url: z.string(), reason: z.string() })),
});
export type WebSourceRun = z.infer<typeof WebSourceRun>;

export const WebSource = z.object({
  id: z.string(),
  kb_id: z.string(),
  url: z.string(),
  mode: WebSourceMode,
  max_pages: z.number().int(),
  max_depth: z.number().int(),
  resync_hours: z.number().int().nullable(),
  /** queued: waiting for its first run or a resync asked for now; running; idle between runs; failed: the last run could not start (the reason says why). */
  status: z.enum(['queued', 'running', 'idle', 'failed']),
  reason: z.string().nullable(),
  /** Pages of this source in the knowledge base now. */
  pages: z.number().int(),
  last_run: WebSourceRun.nullable(),
  next_run_at: z.number().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type WebSource = z.infer<typeof WebSource>;

/**
 * How citations appear in replies: numbered [n] markers with a source list;
 * footnotes (the same markers shown as superscripts, each passage quoted
 * under the reply); or none (no markers, no sources).
 */
export const CitationStyle = z.enum(['numbered', 'footnotes', 'none']);
export type CitationStyle = z.infer<typeof CitationStyle>;

/** A passage an agent's reply cites (message content.citations[]), quoted whole. */
export const ReplyCitation = z.object({
  index: z.number().int(),
  kb_id: z.string(),
  document_id: z.string(),
  chunk_id: z.string(),
  title: z.string(),
  /** The heading path, joined with ' › '. */
  heading: z.string(),
  /** Page, slide, sheet or rows the passage came from ("Page 3"); '' when unknown. Older replies lack it. */
  location: z.string().optional(),
  /** A file name, a path, or the page's URL for web sources. */
  source: z.string(),
  /** The passage whole, as Markdown. */
  snippet: z.string(),
});
export type ReplyCitation = z.infer<typeof ReplyCitation>;

/**
 * The document behind a citation, for a member of the reply's conversation:
 * GET /api/messages/{id}/citations/{n}. Uploaded files are served as the text
 * extracted from them (Markdown); web pages also give their URL.
 */
export const CitationSource = z.object({
  index: z.number().int(),
  kb_id: z.string(),
  document_id: z.string(),
  title: z.string(),
  source: z.string(),
  /** The page's address when the document came from the web (or a source that is a URL); null otherwise. */
  url: z.string().nullable(),
  format: z.enum(['markdown', 'text']),
  text: z.string(),
  updated_at: z.number(),
});
export type CitationSource = z.infer<typeof CitationSource>;

/** Per knowledge base: how documents are chunked and how many passages a question retrieves. */
export const KnowledgeSettings = z.object({
  chunk_tokens: z.number().int().min(100).max(2000),
  overlap_tokens: z.number().int().min(0).max(400),
  top_k: z.number().int().min(1).max(20),
  citation_style: CitationStyle,
}).refine((s) => s.overlap_tokens < s.chunk_tokens / 2, { message: 'overlap_tokens must be less than half of chunk_tokens', path: ['overlap_tokens'] });
export type KnowledgeSettings = z.infer<typeof KnowledgeSettings>;

export const FaqOrigin = z.enum(['console', 'import', 'rated_reply']);

export const Faq = z.object({
  id: z.string(),
  kb_id: z.string(),
  question: z.string(),
  answer: z.string(),
  origin: FaqOrigin,
  message_id: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type Faq = z.infer<typeof Faq>;

export const FaqInput = z.object({
  question: z.string().trim().min(1).max(1000),
  answer: z.string().trim().min(1).max(20_000),
});
export type FaqInput = z.infer<typeof FaqInput>;

// REST answers of /api/knowledge-bases (decision 0032).

export const KnowledgeBaseCreate = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'use 1-64 letters, digits or _ . : -').optional().describe('Minted when absent'),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
});
export type KnowledgeBaseCreate = z.infer<typeof KnowledgeBaseCreate>;

export const KnowledgeBase = z.object({
  app_id: z.string(),
  id: z.string(),
  name: z.string(),
  description: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type KnowledgeBase = z.infer<typeof KnowledgeBase>;

export const KnowledgeBaseList = z.object({ knowledge_bases: z.array(KnowledgeBase) });
export type KnowledgeBaseList = z.infer<typeof KnowledgeBaseList>;

/** What a document is kept as: uploads of other formats are turned into Markdown first. */
export const KbDocumentFormat = z.enum(['markdown', 'text']);

/** POST …/documents as JSON (a multipart upload carries the same fields beside the file). */
export const KbDocumentCreate = z.object({
  title: z.string().max(300).optional(),
  source: z.string().max(1000).optional().describe('A file name or path the document came from; shown in citations'),
  text: z.string(),
  format: KbDocumentFormat.optional().describe("From the source's extension when absent (.txt is text), else Markdown"),
});
export type KbDocumentCreate = z.infer<typeof KbDocumentCreate>;

/** A document without its text, as lists show it. */
export const KbDocumentInfo = z.object({
  app_id: z.string(),
  kb_id: z.string(),
  id: z.string(),
  title: z.string(),
  source: z.string(),
  format: KbDocumentFormat,
  bytes: z.number().int(),
  chunk_count: z.number().int(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type KbDocumentInfo = z.infer<typeof KbDocumentInfo>;

export const KbDocumentWithText = KbDocumentInfo.extend({ text: z.string() });
export type KbDocumentWithText = z.infer<typeof KbDocumentWithText>;

export const KbDocumentList = z.object({ documents: z.array(KbDocumentInfo) });
export type KbDocumentList = z.infer<typeof KbDocumentList>;

/** One passage a document was split into. */
export const KbChunk = z.object({
  app_id: z.string(),
  kb_id: z.string(),
  document_id: z.string(),
  id: z.string().describe('`${document_id}#${ordinal}`'),
  ordinal: z.number().int(),
  title: z.string(),
  source: z.string(),
  heading_path: z.array(z.string()),
  text: z.string(),
  tokens: z.number().int().describe('o200k tokens in text'),
});
export type KbChunk = z.infer<typeof KbChunk>;

export const KbChunkList = z.object({ chunks: z.array(KbChunk) });
export type KbChunkList = z.infer<typeof KbChunkList>;

export const KbSearchRequest = z.object({
  query: z.string().trim().min(1).max(4000),
  k: z.number().int().min(1).max(20).default(5),
  locale: z.string().max(35).optional().describe('Language of the local/kb-answer reply'),
});
export type KbSearchRequest = z.input<typeof KbSearchRequest>;

export const KbRetriever = z.enum(['bm25', 'vector', 'rerank']);

/** Each retriever's score of a passage; only comparable within one search. */
export const KbRetrieverScores = z.object({
  bm25: z.number().optional(),
  vector: z.number().optional(),
  fused: z.number().optional().describe('Reciprocal rank fusion (only when more than one list ran)'),
  rerank: z.number().optional(),
});

export const KbSearchPassage = z.object({
  index: z.number().int().describe('The number an agent would cite it as'),
  score: z.number(),
  scores: KbRetrieverScores,
  label: z.string(),
  document_id: z.string(),
  chunk_id: z.string(),
  title: z.string(),
  heading_path: z.array(z.string()),
  source: z.string(),
  text: z.string(),
});
export type KbSearchPassage = z.infer<typeof KbSearchPassage>;

/** What local/kb-answer would reply, with the passages it cites. */
export const KbLocalAnswer = z.object({
  text: z.string(),
  citations: z.array(z.object({
    index: z.number().int(),
    document_id: z.string(),
    title: z.string(),
    heading: z.string(),
    source: z.string(),
    snippet: z.string(),
  })),
});

export const KbSearchResult = z.object({
  query: z.string(),
  retrievers: z.array(KbRetriever).describe('The retrievers that ran, in order'),
  degraded: z.string().optional().describe('Why a configured retriever did not run (its provider failed)'),
  passages: z.array(KbSearchPassage),
  agent_context: z.string().describe('The knowledge block an agent receives; empty when nothing matched'),
  answer: KbLocalAnswer,
});
export type KbSearchResult = z.infer<typeof KbSearchResult>;

const KbModelName = z.string().trim().min(1).max(200).regex(/^[\w.:/@-]+$/, 'a model name: letters, digits and . : / @ - _');

export const KbRetrievalSettingsUpdate = z.object({ embedding_model: KbModelName.nullable(), rerank_model: KbModelName.nullable().default(null) }).strict();
export type KbRetrievalSettingsUpdate = z.input<typeof KbRetrievalSettingsUpdate>;

export const KbRetrievalSettings = z.object({
  embedding_model: z.string().nullable().describe('null: keywords (BM25) only'),
  rerank_model: z.string().nullable(),
  embedded_chunks: z.number().int().describe('Chunks with a vector of the embedding model'),
});
export type KbRetrievalSettings = z.infer<typeof KbRetrievalSettings>;

export const IngestJobList = z.object({ uploads: z.array(IngestJob) });
export type IngestJobList = z.infer<typeof IngestJobList>;

export const KbImportRequest = z.object({ url: z.string().trim().min(1).max(2000) });

export const WebSourceList = z.object({ web_sources: z.array(WebSource) });
export type WebSourceList = z.infer<typeof WebSourceList>;

/** PUT …/settings: the settings as saved, and how many documents were chunked again. */
export const KnowledgeSettingsSaved = z.object({ settings: KnowledgeSettings, reindexed: z.number().int() });
export type KnowledgeSettingsSaved = z.infer<typeof KnowledgeSettingsSaved>;

export const FaqList = z.object({ faqs: z.array(Faq) });
export type FaqList = z.infer<typeof FaqList>;

export const FaqFromReply = z.object({ message_id: z.string().min(1).max(200) });

/** What an FAQ import added, and the rows it left out (a question or answer empty or too long). */
export const FaqImportResult = z.object({ added: z.number().int(), skipped: z.number().int() });
export type FaqImportResult = z.infer<typeof FaqImportResult>;
