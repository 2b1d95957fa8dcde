// Request bodies of /v1/audio/* and /v1/rerank, checked by hand like the rest
// of /v1 (validate.ts): the gateway's wire shapes are not zod schemas, and a
// field left unchecked here would reach the upstream as it came.
import { jsonShapeProblem } from '../json-shape.ts';
import {
  SPEECH_FORMATS,
  TRANSCRIPTION_FORMATS,
  type AudioFile,
  type RerankRequest,
  type SpeechFormat,
  type SpeechRequest,
  type TranscribeRequest,
  type TranscriptionFormat,
} from '../llm/index.ts';
import { invalidRequest } from './errors.ts';

/** OpenAI's own limits: 25 MB per upload, 4,096 characters per speech input. */
export const MAX_AUDIO_BYTES = 25 * 1024 * 1024;
export const MAX_SPEECH_CHARS = 4096;
export const MAX_RERANK_DOCUMENTS = 1000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkBody(raw: unknown): asserts raw is Record<string, unknown> {
  if (!isObject(raw)) throw invalidRequest('The body must be a JSON object.');
  const problem = jsonShapeProblem(raw);
  if (problem) throw invalidRequest(`The body was refused: ${problem}`);
}

function model(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 256) throw invalidRequest('model is required: the name of a model on this gateway (GET /v1/models).', 'model');
  return raw;
}

function optionalText(raw: unknown, field: string, max: number): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > max) throw invalidRequest(`${field} must be a string of at most ${max} characters.`, field);
  return raw;
}

function optionalNumber(raw: unknown, field: string, min: number, max: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) throw invalidRequest(`${field} must be a number from ${min} to ${max}.`, field);
  return n;
}

/** The text fields of a multipart transcription request (each arrives as a string) and its file. */
export function parseTranscription(fields: Record<string, string>, file: AudioFile | undefined): TranscribeRequest {
  if (!file) throw invalidRequest('file is required: send the audio as multipart/form-data in a field named "file".', 'file');
  if (file.bytes.length === 0) throw invalidRequest('The uploaded file is empty.', 'file');
  const format = fields.response_format ?? 'json';
  if (!TRANSCRIPTION_FORMATS.includes(format as TranscriptionFormat)) throw invalidRequest(`response_format must be one of ${TRANSCRIPTION_FORMATS.join(', ')}.`, 'response_format');
  const language = optionalText(fields.language, 'language', 16);
  const prompt = optionalText(fields.prompt, 'prompt', 4096);
  const temperature = optionalNumber(fields.temperature, 'temperature', 0, 1);
  return {
    model: model(fields.model),
    file,
    responseFormat: format as TranscriptionFormat,
    ...(language ? { language } : {}),
    ...(prompt ? { prompt } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
  };
}

export function parseSpeech(raw: unknown): SpeechRequest {
  checkBody(raw);
  const name = model(raw.model);
  if (typeof raw.input !== 'string' || raw.input.length === 0) throw invalidRequest('input is required: the text to speak.', 'input');
  const chars = [...raw.input].length;
  if (chars > MAX_SPEECH_CHARS) throw invalidRequest(`input is ${chars} characters; at most ${MAX_SPEECH_CHARS} are spoken per request. Split the text.`, 'input');
  if (typeof raw.voice !== 'string' || raw.voice.length === 0 || raw.voice.length > 64) throw invalidRequest('voice is required: a voice name such as "alloy".', 'voice');
  const format = raw.response_format ?? 'mp3';
  if (!SPEECH_FORMATS.includes(format as SpeechFormat)) throw invalidRequest(`response_format must be one of ${SPEECH_FORMATS.join(', ')}.`, 'response_format');
  if (raw.stream_format !== undefined && raw.stream_format !== 'audio') throw invalidRequest('Only stream_format "audio" is served: the audio comes back whole.', 'stream_format');
  const speed = optionalNumber(raw.speed, 'speed', 0.25, 4);
  const instructions = optionalText(raw.instructions, 'instructions', 4096);
  return {
    model: name, input: raw.input, voice: raw.voice, responseFormat: format as SpeechFormat,
    ...(speed !== undefined ? { speed } : {}),
    ...(instructions ? { instructions } : {}),
  };
}

export interface RerankBody {
  request: RerankRequest;
  returnDocuments: boolean;
}

/** Jina/Cohere's rerank body: documents as strings or {text}. */
export function parseRerank(raw: unknown): RerankBody {
  checkBody(raw);
  const name = model(raw.model);
  if (typeof raw.query !== 'string' || raw.query.length === 0) throw invalidRequest('query is required: the text to rank the documents against.', 'query');
  const docs = raw.documents;
  if (!Array.isArray(docs) || docs.length === 0) throw invalidRequest('documents is required: a non-empty list of strings or {"text": "..."} objects.', 'documents');
  if (docs.length > MAX_RERANK_DOCUMENTS) throw invalidRequest(`documents has ${docs.length} entries; at most ${MAX_RERANK_DOCUMENTS} per request.`, 'documents');
  const documents = docs.map((d, i) => {
    if (typeof d === 'string') return d;
    if (isObject(d) && typeof d.text === 'string') return d.text;
    throw invalidRequest(`documents[${i}] must be a string or an object with a "text" string.`, `documents[${i}]`);
  });
  let topN: number | undefined;
  if (raw.top_n !== undefined && raw.top_n !== null) {
    if (typeof raw.top_n !== 'number' || !Number.isInteger(raw.top_n) || raw.top_n < 1) throw invalidRequest('top_n must be a positive integer.', 'top_n');
    topN = Math.min(raw.top_n, documents.length);
  }
  if (raw.return_documents !== undefined && typeof raw.return_documents !== 'boolean') throw invalidRequest('return_documents must be true or false.', 'return_documents');
  return { request: { model: name, query: raw.query, documents, ...(topN !== undefined ? { topN } : {}) }, returnDocuments: raw.return_documents === true };
}
