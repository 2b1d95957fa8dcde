import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IngestJob, KbChunkList, KbDocumentCreate, KbDocumentInfo, KbDocumentList, KbDocumentWithText, KbRetrievalSettings, KbRetrievalSettingsUpdate, KbSearchRequest, KbSearchResult, KnowledgeBase, KnowledgeBaseCreate, KnowledgeBaseList, NoContent } from '@warbler/protocol';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import { answerFromKnowledge, formatKnowledgeBlock, type RetrieverScores, byteSize, detectFormat, documentTooLarge, isBinaryFormat, knowledgeLabel, knowledgePassages, type DocumentUpload, type Passage } from '../kb/index.ts';
import type { HttpDeps } from './deps.ts';
import { multipartProblem } from './multipart-errors.ts';

const Kb = z.object({ kbId: z.string().min(1) });
const Doc = Kb.extend({ docId: z.string().min(1) });
const Format = KbDocumentCreate.shape.format.unwrap();

/**
 * Knowledge bases and their documents, for the app's backend and the
 * operator's console (app secret, or master key with X-Warbler-App).
 */
export const knowledgeRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  // PDFs, Word and spreadsheets may be larger than a text document; each format's own limit is checked after.
  const maxBytes = Math.max(deps.knowledge.maxDocumentBytes, deps.ingestion?.limits.maxFileBytes ?? 0);
  // Registered here as well as for files: each plugin scope gets its own parser and limits.
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 10, parts: 11, fieldSize: 64 * 1024 } });

  app.post('/api/knowledge-bases', {
    schema: {
      tags: ['knowledge'], summary: 'Create a knowledge base',
      body: KnowledgeBaseCreate,
      response: { 201: KnowledgeBase },
    },
  }, async (request, reply) => reply.status(201).send(await deps.knowledge.create(await deps.guards.app(request), request.body)));

  app.get('/api/knowledge-bases', { schema: { tags: ['knowledge'], summary: 'List knowledge bases', response: { 200: KnowledgeBaseList } } },
    async (request) => ({ knowledge_bases: await deps.knowledge.list(await deps.guards.app(request)) }));

  app.get('/api/knowledge-bases/:kbId', { schema: { tags: ['knowledge'], summary: 'One knowledge base', params: Kb, response: { 200: KnowledgeBase } } },
    async (request) => deps.knowledge.get(await deps.guards.app(request), request.params.kbId));

  app.delete('/api/knowledge-bases/:kbId', { schema: { tags: ['knowledge'], summary: 'Delete a knowledge base with all its documents', params: Kb, response: { 204: NoContent } } },
    async (request, reply) => {
      await deps.knowledge.delete(await deps.guards.app(request), request.params.kbId);
      return reply.status(204).send(null);
    });

  app.post('/api/knowledge-bases/:kbId/documents', {
    // JSON text up to the document limit, even when escaped as \uXXXX (a 4-byte character becomes 12 bytes).
    bodyLimit: maxBytes * 3 + 64 * 1024,
    schema: {
      tags: ['knowledge'], params: Kb,
      summary: `Add a document: JSON {text, title?, source?, format?} (Markdown or text, added at once: 201), or multipart/form-data with the file in a field named "file". A .md or .txt file is added at once (201); a PDF, Word (.docx), Excel (.xlsx, .xls), CSV, HTML or PowerPoint (.pptx) file is queued (202) and parsed in the background: follow it at /uploads/{id}. At most ${byteSize(maxBytes)}.`,
      // Optional so a multipart request, whose body the multipart parser leaves null, passes validation.
      body: KbDocumentCreate.nullish(),
      response: { 201: KbDocumentInfo, 202: IngestJob },
    },
  }, async (request, reply) => {
    const appId = await deps.guards.app(request);
    const { kbId } = request.params;
    if (request.isMultipart()) {
      const upload = await readUpload(request, maxBytes);
      const format = detectFormat(upload.filename, upload.mime);
      if (deps.ingestion && !upload.format && format && isBinaryFormat(format)) {
        return reply.status(202).send(await deps.ingestion.enqueue(appId, kbId, upload));
      }
      return reply.status(201).send(await deps.knowledge.uploadDocument(appId, kbId, upload));
    }
    if (!request.body) throw badRequest('Send JSON {"text": "..."} or a multipart/form-data upload with the file in a field named "file".');
    return reply.status(201).send(await deps.knowledge.addDocument(appId, kbId, request.body));
  });

  app.get('/api/knowledge-bases/:kbId/documents', { schema: { tags: ['knowledge'], summary: 'List documents (without their text)', params: Kb, response: { 200: KbDocumentList } } },
    async (request) => ({ documents: await deps.knowledge.listDocuments(await deps.guards.app(request), request.params.kbId) }));

  app.get('/api/knowledge-bases/:kbId/documents/:docId', { schema: { tags: ['knowledge'], summary: 'One document with its text', params: Doc, response: { 200: KbDocumentWithText } } },
    async (request) => deps.knowledge.getDocument(await deps.guards.app(request), request.params.kbId, request.params.docId));

  app.delete('/api/knowledge-bases/:kbId/documents/:docId', { schema: { tags: ['knowledge'], summary: 'Delete a document', params: Doc, response: { 204: NoContent } } },
    async (request, reply) => {
      await deps.knowledge.deleteDocument(await deps.guards.app(request), request.params.kbId, request.params.docId);
      return reply.status(204).send(null);
    });

  app.get('/api/knowledge-bases/:kbId/documents/:docId/chunks', { schema: { tags: ['knowledge'], summary: 'The passages a document was split into, in order', params: Doc, response: { 200: KbChunkList } } },
    async (request) => ({ chunks: await deps.knowledge.listChunks(await deps.guards.app(request), request.params.kbId, request.params.docId) }));

  app.post('/api/knowledge-bases/:kbId/search', {
    schema: {
      tags: ['knowledge'], params: Kb,
      summary: 'Test a query: the passages an agent would retrieve, numbered as cited, and what local/kb-answer would reply',
      body: KbSearchRequest,
      response: { 200: KbSearchResult },
    },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const { kbId } = request.params;
    await deps.knowledge.get(appId, kbId);
    const { query, k, locale } = request.body;
    // The agents' own pipeline (KnowledgeBases.retrieve): what this shows is what an agent receives.
    const { passages, retrievers, degraded } = await deps.knowledge.retrieve(appId, [kbId], query, k);
    return {
      query, retrievers, ...(degraded ? { degraded } : {}),
      passages: passages.map(view),
      agent_context: passages.length ? formatKnowledgeBlock(passages) : '',
      answer: answerFromKnowledge(query, knowledgePassages(passages), locale),
    };
  });

  app.get('/api/knowledge-bases/:kbId/retrieval', {
    schema: { tags: ['knowledge'], params: Kb, summary: 'The embedding and rerank models of hybrid retrieval (null: keywords only) and how many chunks have vectors', response: { 200: KbRetrievalSettings } },
  }, async (request) => deps.knowledge.retrievalSettings(await deps.guards.app(request), request.params.kbId));

  app.put('/api/knowledge-bases/:kbId/retrieval', {
    schema: {
      tags: ['knowledge'], params: Kb, body: KbRetrievalSettingsUpdate, response: { 200: KbRetrievalSettings },
      summary: 'Set the embedding and rerank models; a new embedding model embeds every chunk again (cached by content, billed in the ledger)',
    },
  }, async (request) => deps.knowledge.setRetrievalSettings(await deps.guards.app(request), request.params.kbId, request.body));
};

function view({ chunk, score, scores }: Passage & { scores?: RetrieverScores }, i: number) {
  return {
    index: i + 1,
    score,
    scores: scores ?? { bm25: score },
    label: knowledgeLabel(chunk),
    document_id: chunk.document_id,
    chunk_id: chunk.id,
    title: chunk.title,
    heading_path: chunk.heading_path,
    source: chunk.source,
    text: chunk.text,
  };
}

/** The one file of a multipart request and the fields around it, in any order. */
export async function readUpload(request: FastifyRequest, maxBytes: number): Promise<DocumentUpload> {
  const fields: Record<string, string> = {};
  let file: { filename: string; mime: string; data: Buffer } | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || file) {
          part.file.resume();
          throw badRequest('Send one document, in a field named "file".');
        }
        file = { filename: part.filename, mime: part.mimetype, data: await part.toBuffer() };
      } else if (typeof part.value === 'string') {
        fields[part.fieldname] = part.value;
      }
    }
  } catch (err) {
    const problem = multipartProblem(err, { field: 'file', maxBytes, fields: 'the fields title, source and format' });
    if (!problem) throw err;
    throw problem.status === 413 ? documentTooLarge(maxBytes) : badRequest(problem.message);
  }
  if (!file) throw badRequest('No file in the request: put the document in a field named "file".');
  const format = fields['format'];
  if (format !== undefined && !Format.safeParse(format).success) throw badRequest('format is "markdown" or "text".');
  return {
    ...file,
    ...(fields['title'] ? { title: fields['title'].slice(0, 300) } : {}),
    ...(fields['source'] ? { source: fields['source'].slice(0, 1000) } : {}),
    ...(format ? { format: format as 'markdown' | 'text' } : {}),
  };
}
