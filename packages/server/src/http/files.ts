import multipart from '@fastify/multipart';
import { FileLink, StoredFile } from '@warbler/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Actor } from '../chat/index.ts';
import { badRequest, WarblerError } from '../errors.ts';
import { showsInline, type StagedUpload } from '../files/index.ts';
import type { HttpDeps } from './deps.ts';
import { multipartProblem } from './multipart-errors.ts';

const FileParams = z.object({ fileId: z.string().min(1) });
const UPLOAD_RULES = { field: 'file', fields: 'a "sender_id" field' } as const;

/** Upload to a conversation, links to files, and downloads: members only. */
export const fileRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  await app.register(multipart, { limits: { fileSize: deps.files.maxBytes, files: 1, fields: 4, parts: 5, fieldSize: 1024 } });

  app.post('/api/conversations/:conversationId/files', {
    schema: { tags: ['files'], summary: 'Upload a file (multipart field "file"; app-level calls add a "sender_id" field before it). Its type is read from its bytes.', params: z.object({ conversationId: z.string().min(1) }), response: { 201: StoredFile } },
  }, async (request, reply) => {
    const actor = await deps.guards.actor(request);
    if (!request.isMultipart()) throw badRequest('Send multipart/form-data with the file in a field named "file".');
    await holdUploadTurn(deps, actor, reply);
    const staged = await stageUpload(deps, request, actor, request.params.conversationId);
    return reply.status(201).send(await deps.files.commit(staged));
  });

  app.get('/api/files/:fileId/url', {
    schema: {
      tags: ['files'], params: FileParams,
      summary: 'A download link for one file, good for a few minutes and usable with no header (as <img src>); ask again for a fresh one',
      response: { 200: FileLink },
    },
  }, async (request) => deps.files.link(await deps.guards.actor(request), request.params.fileId));

  app.get('/api/files/:fileId', {
    schema: {
      tags: ['files'], params: FileParams,
      summary: 'Download a file: with a link from GET /api/files/:id/url, or with a token in the Authorization header. Raster images are shown in place; anything else downloads.',
      querystring: z.object({ app: z.string().optional(), exp: z.string().optional(), sig: z.string().optional(), token: z.string().optional(), access_token: z.string().optional() }),
    },
    // The file's own bytes, with its type.
    config: { responseContract: 'raw' },
    // Set before the handler runs so refusals carry them too.
    onRequest: (_request, reply, done) => {
      reply.header('x-content-type-options', 'nosniff').header('content-security-policy', "default-src 'none'; sandbox");
      done();
    },
  }, async (request, reply) => {
    const { app: appId, exp, sig, token, access_token } = request.query;
    if (token !== undefined || access_token !== undefined) {
      throw badRequest('Tokens in URLs are not accepted (they end up in logs and browser history). Get a link for the file from GET /api/files/:id/url with your token in the Authorization header, and use that.');
    }
    const { fileId } = request.params;
    if (sig !== undefined || exp !== undefined) {
      if (!appId || !exp || !sig) throw badRequest('A file link has app, exp and sig: use the url from GET /api/files/:id/url as it is.');
      return sendFile(reply, await deps.files.openLinked({ appId, fileId, exp, sig }), Number(exp));
    }
    if (!request.headers.authorization) {
      throw new WarblerError('unauthorized', 'Downloading a file needs a link from GET /api/files/:id/url (or your token in the Authorization header).');
    }
    return sendFile(reply, await deps.files.open(await deps.guards.actor(request), fileId));
  });
};

/** Counts the upload against its user's cap until the response is over or the client has gone. */
async function holdUploadTurn(deps: HttpDeps, actor: Actor, reply: FastifyReply): Promise<void> {
  const gone = new AbortController();
  let release: (() => void) | undefined;
  reply.raw.once('close', () => {
    gone.abort();
    release?.();
  });
  const held = await deps.files.uploadTurn(actor, gone.signal);
  if (gone.signal.aborted) held();
  else release = held;
}

/** The one file of the request, staged; a malformed body is a 400 that says what is wrong, not a 500. */
async function stageUpload(deps: HttpDeps, request: FastifyRequest, actor: Actor, conversationId: string): Promise<StagedUpload> {
  let staged: StagedUpload | undefined;
  let uploaderId: string | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (part.fieldname === 'sender_id') uploaderId = String(part.value);
        continue;
      }
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw badRequest(`Put the file in a field named "file", not "${part.fieldname.slice(0, 64)}".`);
      }
      staged = await deps.files.stage(actor, {
        conversationId, name: part.filename, mime: part.mimetype, data: part.file, truncated: () => part.file.truncated,
        ...(uploaderId !== undefined ? { uploaderId } : {}),
      });
    }
  } catch (err) {
    if (staged) await deps.files.discard(staged);
    const problem = multipartProblem(err, { ...UPLOAD_RULES, maxBytes: deps.files.maxBytes });
    if (!problem) throw err;
    throw problem.status === 413 ? deps.files.tooLarge() : badRequest(problem.message);
  }
  if (!staged) throw badRequest('No file in the request: put it in a field named "file".');
  return staged;
}

function sendFile(reply: FastifyReply, { file, stream }: Awaited<ReturnType<HttpDeps['files']['open']>>, expiresAtSeconds?: number): FastifyReply {
  const inline = showsInline(file.mime);
  // A link's response may be cached until the link expires, no longer.
  const maxAge = expiresAtSeconds === undefined ? 300 : Math.max(0, expiresAtSeconds - Math.floor(Date.now() / 1000));
  return reply
    .header('content-type', file.mime)
    .header('content-length', file.size)
    .header('cache-control', `private, max-age=${maxAge}`)
    .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename="${asciiName(file.name)}"; filename*=UTF-8''${rfc5987(file.name)}`)
    .send(stream);
}

/** RFC 5987 value: percent-encode everything outside attr-char, which encodeURIComponent leaves as is for ' ( ) *. */
function rfc5987(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A plain fallback for old clients; names are already free of quotes and control characters. */
function asciiName(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
}
