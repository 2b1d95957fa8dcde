import multipart from '@fastify/multipart';
import type { FastifyError, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { invalidRequest, OpenAiError, toOpenAiError, type Gateway, type GatewayCaller } from '../gateway/index.ts';
import { batchObject, fileObject, listObject, type Batches, type GatewayFiles, type StagedFile } from '../gateway/batches/index.ts';
import { multipartProblem } from './multipart-errors.ts';

/** What the Files and Batch routes need from the composition root. */
export interface BatchRouteDeps {
  /** The /v1 authenticator: a virtual key, or the master key acting for X-Warbler-App. */
  gateway: Pick<Gateway, 'authenticate'>;
  files: GatewayFiles;
  batches: Batches;
}

const Id = z.string().min(1).max(128);
const Limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** OpenAI's Files (purpose batch) and Batch API under /v1, with OpenAI's object and error shapes. */
export const batchRoutes = (deps: BatchRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const authenticate = (request: FastifyRequest): Promise<GatewayCaller> => {
    const app = request.headers['x-warbler-app'];
    return deps.gateway.authenticate(request.headers.authorization, typeof app === 'string' ? app : undefined, request.id);
  };
  await app.register(multipart, { limits: { fileSize: deps.files.maxBytes, files: 1, fields: 10, parts: 11, fieldSize: 64 * 1024 } });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = asOpenAiError(err);
    if (e.status >= 500) request.log.error({ err }, 'gateway batch route failed');
    return reply.status(e.status).headers(e.headers ?? {}).send(e.toJSON());
  });

  app.post('/v1/files', {
    schema: { tags: ['gateway'], summary: 'Upload a batch input file (multipart: "file", and "purpose" = batch; JSONL, one request per line)' },
  }, async (request) => {
    const caller = await authenticate(request);
    if (!request.isMultipart()) throw invalidRequest('Send multipart/form-data with the JSONL file in a field named "file" and a field "purpose" set to "batch".');
    let staged: StagedFile | undefined;
    let filename = 'input.jsonl';
    let purpose: string | undefined;
    try {
      // The official SDKs send "purpose" after the file, so the bytes are staged before the purpose is known.
      for await (const part of request.parts()) {
        if (part.type === 'file') {
          if (part.fieldname !== 'file') {
            part.file.resume();
            throw invalidRequest(`Put the JSONL in a multipart field named "file", not "${part.fieldname.slice(0, 64)}".`, 'file');
          }
          if (staged) {
            part.file.resume();
            throw invalidRequest('Send one file per upload.', 'file');
          }
          staged = await deps.files.stage(caller.appId, part.file, () => part.file.truncated);
          filename = part.filename || filename;
        } else if (part.fieldname === 'purpose') {
          purpose = String(part.value);
        }
      }
    } catch (err) {
      if (staged) await deps.files.discard(staged);
      throw uploadError(err, deps.files.maxBytes);
    }
    if (!staged) throw invalidRequest('No file in the request: put the JSONL in a multipart field named "file".', 'file');
    if (purpose === undefined) {
      await deps.files.discard(staged);
      throw invalidRequest('purpose is required: set it to "batch".', 'purpose');
    }
    return fileObject(await deps.files.commit(caller, staged, { filename, purpose }));
  });

  app.get('/v1/files', {
    schema: {
      tags: ['gateway'],
      summary: 'List files, newest first',
      querystring: z.object({ purpose: z.string().optional(), limit: Limit(10_000, 100), after: Id.optional(), order: z.enum(['desc', 'asc']).optional() }),
    },
  }, async (request) => {
    const caller = await authenticate(request);
    const { purpose, limit, after, order } = request.query;
    if (order === 'asc') throw invalidRequest('Files are listed newest first only; leave out order or set it to "desc".', 'order');
    const page = await deps.files.list(caller.appId, { limit, ...(purpose !== undefined ? { purpose } : {}), ...(after !== undefined ? { after } : {}) });
    return listObject(page.rows.map(fileObject), page.hasMore);
  });

  app.get('/v1/files/:fileId', {
    schema: { tags: ['gateway'], summary: 'A file', params: z.object({ fileId: Id }) },
  }, async (request) => {
    const caller = await authenticate(request);
    return fileObject(await deps.files.get(caller.appId, request.params.fileId));
  });

  app.get('/v1/files/:fileId/content', {
    schema: { tags: ['gateway'], summary: "A file's bytes (a batch's output and error files are JSONL)", params: z.object({ fileId: Id }) },
  }, async (request, reply) => {
    const caller = await authenticate(request);
    const { row, stream } = await deps.files.open(caller.appId, request.params.fileId);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', row.bytes)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(row.filename)}`)
      .send(stream);
  });

  app.delete('/v1/files/:fileId', {
    schema: { tags: ['gateway'], summary: 'Delete a file', params: z.object({ fileId: Id }) },
  }, async (request) => {
    const caller = await authenticate(request);
    await deps.files.delete(caller.appId, request.params.fileId);
    return { id: request.params.fileId, object: 'file', deleted: true };
  });

  app.post('/v1/batches', {
    schema: {
      tags: ['gateway'],
      summary: 'Create a batch from an uploaded JSONL file',
      body: z.object({
        input_file_id: Id,
        endpoint: z.string().min(1),
        completion_window: z.string().min(1),
        metadata: z.record(z.string(), z.string()).nullable().optional(),
      }),
    },
  }, async (request) => {
    const caller = await authenticate(request);
    return batchObject(await deps.batches.create(caller, request.body));
  });

  app.get('/v1/batches', {
    schema: { tags: ['gateway'], summary: 'List batches, newest first', querystring: z.object({ limit: Limit(100, 20), after: Id.optional() }) },
  }, async (request) => {
    const caller = await authenticate(request);
    const { limit, after } = request.query;
    const page = await deps.batches.list(caller, { limit, ...(after !== undefined ? { after } : {}) });
    return listObject(page.rows.map(batchObject), page.hasMore);
  });

  app.get('/v1/batches/:batchId', {
    schema: { tags: ['gateway'], summary: 'A batch', params: z.object({ batchId: Id }) },
  }, async (request) => {
    const caller = await authenticate(request);
    return batchObject(await deps.batches.get(caller, request.params.batchId));
  });

  app.post('/v1/batches/:batchId/cancel', {
    schema: { tags: ['gateway'], summary: 'Cancel a batch: lines already sent finish, no more start', params: z.object({ batchId: Id }) },
  }, async (request) => {
    const caller = await authenticate(request);
    return batchObject(await deps.batches.cancel(caller, request.params.batchId));
  });
};

/** A malformed multipart body as OpenAI's 400 (or 413 when the file is too big), never a 500. */
function uploadError(err: unknown, maxBytes: number): unknown {
  const problem = multipartProblem(err, { field: 'file', maxBytes, fields: 'the field "purpose"' });
  if (!problem) return err;
  if (problem.status === 413) return new OpenAiError(413, `${problem.message} Split the requests into several batches.`, 'invalid_request_error', 'file_too_large', 'file');
  return invalidRequest(problem.message);
}

function asOpenAiError(err: FastifyError): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const param = first ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') || null : null;
    return invalidRequest(`Invalid ${param ?? err.validationContext ?? 'request'}: ${first?.message ?? 'bad value'}.`, param);
  }
  if (err.code === 'FST_REQ_FILE_TOO_LARGE') return new OpenAiError(413, 'The file is too large for a batch input; split the requests into several batches.', 'invalid_request_error', 'file_too_large', 'file');
  if (err.code === 'FST_FILES_LIMIT' || err.code === 'FST_FIELDS_LIMIT' || err.code === 'FST_PARTS_LIMIT') return invalidRequest('Send one file, in a field named "file", and the field "purpose".');
  if (err.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return invalidRequest('Send multipart/form-data with the JSONL file in a field named "file".');
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new OpenAiError(415, 'Send JSON with Content-Type: application/json (multipart/form-data for uploads).', 'invalid_request_error');
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
    return invalidRequest('We could not parse the JSON body of your request.');
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new OpenAiError(err.statusCode, err.message, 'invalid_request_error');
  return toOpenAiError(err);
}
