import type { FastifyError, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FineTuningJobs } from '../datasets/index.ts';
import { invalidRequest, OpenAiError, toOpenAiError, type Gateway, type GatewayCaller } from '../gateway/index.ts';

export interface FineTuningRouteDeps {
  /** The /v1 authenticator: a virtual key, or the master key acting for X-Warbler-App. */
  gateway: Pick<Gateway, 'authenticate'>;
  fineTuning: FineTuningJobs;
}

const JobParams = z.object({ jobId: z.string().min(1).max(128) });
const Page = z.object({ after: z.string().min(1).max(128).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) });

/** OpenAI's fine-tuning jobs API under /v1, passed through to OpenAI; keyed and shaped like every /v1 route. */
export const fineTuningRoutes = (deps: FineTuningRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const caller = (request: FastifyRequest): Promise<GatewayCaller> => {
    const appHeader = request.headers['x-warbler-app'];
    return deps.gateway.authenticate(request.headers.authorization, typeof appHeader === 'string' ? appHeader : undefined, request.id);
  };
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = asOpenAiError(err);
    if (e.status >= 500) request.log.error({ err }, 'fine-tuning route failed');
    return reply.status(e.status).headers(e.headers ?? {}).send(e.toJSON());
  });
  const tags = ['gateway'];

  app.post('/v1/fine_tuning/jobs', { schema: { tags, summary: 'Create a fine-tuning job (OpenAI)' } }, async (request) => {
    const who = await caller(request);
    return deps.fineTuning.create(who.appId, who.key?.id ?? null, request.body);
  });
  app.get('/v1/fine_tuning/jobs', { schema: { tags, summary: 'List this app\'s fine-tuning jobs, newest first', querystring: Page } }, async (request) =>
    deps.fineTuning.list((await caller(request)).appId, request.query));
  app.get('/v1/fine_tuning/jobs/:jobId', { schema: { tags, summary: 'One fine-tuning job', params: JobParams } }, async (request) =>
    deps.fineTuning.retrieve((await caller(request)).appId, request.params.jobId));
  app.post('/v1/fine_tuning/jobs/:jobId/cancel', { schema: { tags, summary: 'Cancel a fine-tuning job', params: JobParams } }, async (request) =>
    deps.fineTuning.cancel((await caller(request)).appId, request.params.jobId));
  app.get('/v1/fine_tuning/jobs/:jobId/events', { schema: { tags, summary: 'A fine-tuning job\'s events', params: JobParams, querystring: Page } }, async (request) =>
    deps.fineTuning.events((await caller(request)).appId, request.params.jobId, request.query));
};

function asOpenAiError(err: FastifyError): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const param = first ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') || null : null;
    return invalidRequest(`Invalid ${param ?? err.validationContext ?? 'request'}: ${first?.message ?? 'bad value'}.`, param);
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new OpenAiError(415, 'Send JSON with Content-Type: application/json.', 'invalid_request_error');
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
    return invalidRequest('We could not parse the JSON body of your request.');
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new OpenAiError(err.statusCode, err.message, 'invalid_request_error');
  return toOpenAiError(err);
}
