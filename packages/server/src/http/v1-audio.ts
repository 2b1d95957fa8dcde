// POST /v1/audio/transcriptions (multipart upload) and POST /v1/audio/speech
// (JSON in, audio bytes out), passed through to the provider of the model's
// route and billed per second / per character (gateway/media-calls.ts).
import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { OpenAiError, type GatewayCaller } from '../gateway/index.ts';
import { MAX_AUDIO_BYTES, parseSpeech, parseTranscription, type MediaCalls } from '../gateway/index.ts';
import type { AudioFile } from '../llm/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { multipartProblem } from './multipart-errors.ts';
import type { V1RouteKit } from './v1-kit.ts';

export interface AudioRouteDeps {
  media: MediaCalls;
  /** Largest upload, bytes; default 25 MiB, OpenAI's own limit. */
  maxAudioBytes?: number;
  /** Largest speech body, bytes. */
  bodyLimit: number;
  metrics?: Metrics;
}

const TEXT_FIELDS = new Set(['model', 'language', 'prompt', 'response_format', 'temperature']);

/** Sends bytes with Warbler's headers (deployment, overhead), recording the overhead like sendJson does. */
function sendBytes(reply: FastifyReply, route: string, bytes: Buffer | string, contentType: string, upstreamMs: number, headers: Record<string, string>, deployment: string | null, metrics?: Metrics) {
  const overhead = reply.elapsedTime - upstreamMs;
  metrics?.gatewayOverhead(route, overhead / 1000);
  headers['content-type'] = contentType;
  if (deployment) headers['x-warbler-deployment'] = deployment;
  headers['x-warbler-overhead-ms'] = (overhead > 0 ? overhead : 0).toFixed(3);
  return reply.headers(headers).send(bytes);
}

/** The upload's text fields and its file, read within the size limit; multipart trouble as an OpenAI 400/413. */
async function readUpload(request: FastifyRequest, maxBytes: number): Promise<{ fields: Record<string, string>; file: AudioFile | undefined }> {
  if (!request.isMultipart()) throw new OpenAiError(400, 'Send multipart/form-data with the audio in a field named "file" and the model in a field named "model".', 'invalid_request_error');
  const fields: Record<string, string> = {};
  let file: AudioFile | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || file) {
          await part.toBuffer();
          throw new OpenAiError(400, 'Send exactly one file, in a field named "file".', 'invalid_request_error', null, 'file');
        }
        file = await fileOf(part);
      } else if (TEXT_FIELDS.has(part.fieldname)) {
        fields[part.fieldname] = String(part.value);
      }
      // Other fields (timestamp_granularities[], include[], stream) are not passed on: the answer comes back whole.
    }
  } catch (err) {
    if (err instanceof OpenAiError) throw err;
    const problem = multipartProblem(err, { field: 'file', maxBytes, fields: 'model, language, prompt, response_format and temperature' });
    if (problem) throw new OpenAiError(problem.status, problem.message, 'invalid_request_error', problem.status === 413 ? 'file_too_large' : null, 'file');
    throw err;
  }
  return { fields, file };
}

async function fileOf(part: MultipartFile): Promise<AudioFile> {
  const bytes = await part.toBuffer();
  return { bytes, filename: part.filename || 'audio', contentType: part.mimetype || 'application/octet-stream' };
}

export const audioRoutes = (deps: AudioRouteDeps, kit: V1RouteKit): FastifyPluginAsync => async (app) => {
  const maxBytes = deps.maxAudioBytes ?? MAX_AUDIO_BYTES;
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 12, parts: 13, fieldSize: 16 * 1024 } });

  app.post('/v1/audio/transcriptions', { schema: { tags: ['gateway'], summary: 'OpenAI audio transcriptions (multipart: file, model, language, prompt, response_format); billed per second of audio' } }, async (request, reply) => {
    const who: GatewayCaller = await kit.caller(request);
    await kit.holdSlot(who, reply);
    const { fields, file } = await readUpload(request, maxBytes);
    const body = parseTranscription(fields, file);
    const admission = await deps.media.admit(who, 'transcription', body.model, () => 0);
    const abort = kit.abortOnClose(reply);
    const answer = await deps.media.transcribe(who, body, admission, abort.signal);
    const t = answer.result;
    return sendBytes(reply, '/v1/audio/transcriptions', t.body, t.contentType, answer.upstreamMs, admission.headers, answer.deployment, deps.metrics);
  });

  app.post('/v1/audio/speech', { bodyLimit: deps.bodyLimit, schema: { tags: ['gateway'], summary: 'OpenAI text to speech (JSON in, audio bytes out); billed per character of input' } }, async (request, reply) => {
    const who = await kit.caller(request);
    await kit.holdSlot(who, reply);
    const body = parseSpeech(request.body);
    kit.logBody(request, who);
    const admission = await deps.media.admit(who, 'speech', body.model, () => 0);
    const abort = kit.abortOnClose(reply);
    const answer = await deps.media.speak(who, body, admission, abort.signal);
    const s = answer.result;
    return sendBytes(reply, '/v1/audio/speech', s.audio, s.contentType, answer.upstreamMs, admission.headers, answer.deployment, deps.metrics);
  });
};
