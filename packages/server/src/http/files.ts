import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { HttpDeps } from './deps.ts';

/** Upload to a conversation and download, members only. */
export const fileRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  await app.register(multipart, { limits: { fileSize: deps.files.maxBytes, files: 1, fields: 5 } });

  app.post('/api/conversations/:conversationId/files', {
    schema: { tags: ['files'], summary: 'Upload a file (multipart field "file"; app-level calls add a "sender_id" field before it)', params: z.object({ conversationId: z.string().min(1) }) },
  }, async (request, reply) => {
    const actor = await deps.guards.actor(request);
    if (!request.isMultipart()) throw badRequest('Send multipart/form-data with the file in a field named "file".');
    const part = await request.file();
    if (!part) throw badRequest('No file in the request: put it in a field named "file".');
    const senderField = part.fields['sender_id'];
    const uploaderId = senderField && 'value' in senderField ? String(senderField.value) : undefined;
    const file = await deps.files.upload(actor, {
      conversationId: request.params.conversationId,
      uploaderId,
      name: part.filename,
      mime: part.mimetype,
      data: part.file,
      truncated: () => part.file.truncated,
    });
    return reply.status(201).send(file);
  });

  app.get('/api/files/:fileId', {
    schema: { tags: ['files'], summary: 'Download a file (members of its conversation only; ?token= works for <img> tags)', params: z.object({ fileId: z.string().min(1) }), querystring: z.object({ token: z.string().optional() }) },
  }, async (request, reply) => {
    if (request.query.token && !request.headers.authorization) request.headers.authorization = `Bearer ${request.query.token}`;
    const { file, stream } = await deps.files.open(await deps.guards.actor(request), request.params.fileId);
    const inline = file.mime.startsWith('image/') || file.mime === 'application/pdf';
    return reply
      .header('content-type', file.mime)
      .header('content-length', file.size)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, max-age=3600')
      .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.name)}`)
      .send(stream);
  });
};
