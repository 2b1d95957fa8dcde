import { z } from 'zod';

/** Formats a knowledge base takes; each is turned into Markdown before it is chunked. */
export const KnowledgeSourceFormat = z.enum(['markdown', 'text', 'pdf', 'docx', 'xlsx', 'xls', 'csv', 'html', 'pptx']);

/** Where an upload is on its way into a knowledge base. */
export const IngestStatus = z.enum(['queued', 'processing', 'ready', 'failed']);

export const IngestJob = z.object({
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

/** How citations appear in replies: numbered markers with a source list, or no markers. */
export const CitationStyle = z.enum(['numbered', 'none']);

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
