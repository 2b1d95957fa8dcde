// Audio and rerank over an OpenAI-compatible upstream: POST /audio/transcriptions
// (multipart), /audio/speech (JSON in, audio bytes out) and /rerank (the
// Jina/Cohere-v1 shape vLLM, Xinference and SiliconFlow also speak).
import { billedSeconds, lastCueSeconds, wavSeconds } from './audio-duration.ts';
import { internalError, LlmError } from './errors.ts';
import { searchesFor, type Reranking, type RerankRequest, type Speech, type SpeechRequest, type TranscribeRequest, type Transcription } from './media.ts';
import type { CallOptions } from './types.ts';
import type { UpstreamHttp } from './upstream-http.ts';

const SPEECH_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg', opus: 'audio/ogg', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm',
};

/** Whisper answers verbose_json (with the duration); the gpt-4o transcribe models answer only json and text. */
const speaksVerbose = (model: string) => /whisper/i.test(model);

/** A multipart body as fetch would send it (boundary and all), ready for undici. */
async function multipart(fields: Record<string, string | undefined>, file: TranscribeRequest['file']): Promise<{ body: Buffer; contentType: string }> {
  try {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.contentType }), file.filename);
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, v);
    const encoded = new Request('http://encode.invalid/', { method: 'POST', body: form });
    return { body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! };
  } catch (err) {
    throw internalError(err, 'encoding the upload for the provider');
  }
}

function parseJson(bytes: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new LlmError('malformed', 'The provider answered the transcription with a body that is not a JSON object.');
}

/**
 * Speech to text. For json, text and verbose_json from Whisper we ask for
 * verbose_json, read its `duration`, and hand the client the format it asked
 * for; otherwise the duration comes from the upstream's usage (`seconds`), the
 * WAV header, or the subtitles' last cue, flagged as estimated.
 */
export async function transcribe(http: UpstreamHttp, request: TranscribeRequest, options: CallOptions = {}): Promise<Transcription> {
  const wanted = request.responseFormat;
  const verbose = speaksVerbose(request.model) && (wanted === 'json' || wanted === 'text' || wanted === 'verbose_json');
  const upstreamFormat = verbose ? 'verbose_json' : wanted;
  const { body, contentType } = await multipart(
    {
      model: request.model,
      response_format: upstreamFormat,
      language: request.language,
      prompt: request.prompt,
      temperature: request.temperature === undefined ? undefined : String(request.temperature),
    },
    request.file,
  );
  const res = await http.postBytes('/audio/transcriptions', body, contentType, options.signal);
  const fromFile = wavSeconds(request.file.bytes);
  if (upstreamFormat === 'srt' || upstreamFormat === 'vtt' || upstreamFormat === 'text') {
    const text = res.bytes.toString('utf8');
    const seconds = fromFile ?? lastCueSeconds(text) ?? 0;
    return { body: text, contentType: 'text/plain; charset=utf-8', units: { unit: 'second', count: billedSeconds(seconds), estimated: true } };
  }
  const json = parseJson(res.bytes);
  if (typeof json.text !== 'string') throw new LlmError('malformed', 'The provider answered the transcription without its text.');
  const usage = json.usage as { type?: unknown; seconds?: unknown } | undefined;
  const reported = typeof json.duration === 'number' ? json.duration : usage?.type === 'duration' && typeof usage.seconds === 'number' ? usage.seconds : undefined;
  const seconds = reported ?? fromFile ?? 0;
  const units = { unit: 'second' as const, count: billedSeconds(seconds), estimated: reported === undefined };
  if (wanted === 'text') return { body: json.text, contentType: 'text/plain; charset=utf-8', units };
  const out = wanted === 'json' && verbose ? { text: json.text, ...(usage ? { usage } : {}) } : json;
  return { body: JSON.stringify(out), contentType: 'application/json', units };
}

/** Text to speech: the audio bytes as they came, billed per character of input. */
export async function speak(http: UpstreamHttp, request: SpeechRequest, options: CallOptions = {}): Promise<Speech> {
  const body = JSON.stringify({
    model: request.model,
    input: request.input,
    voice: request.voice,
    response_format: request.responseFormat,
    ...(request.speed !== undefined ? { speed: request.speed } : {}),
    ...(request.instructions !== undefined ? { instructions: request.instructions } : {}),
  });
  const res = await http.postBytes('/audio/speech', body, 'application/json', options.signal);
  if (res.bytes.length === 0) throw new LlmError('malformed', 'The provider answered the speech request with no audio.');
  if (res.contentType.startsWith('application/json')) throw new LlmError('malformed', 'The provider answered the speech request with JSON, not audio.');
  // Characters as a person counts them (code points), which is how OpenAI counts TTS input.
  const characters = [...request.input].length;
  return { audio: res.bytes, contentType: SPEECH_TYPES[request.responseFormat] ?? res.contentType, units: { unit: 'character', count: characters, estimated: false } };
}

/** The results of a Jina/Cohere/SiliconFlow-shaped rerank answer, checked. */
export function readRerankResults(raw: unknown, documents: number): Reranking['results'] {
  if (!Array.isArray(raw)) throw new LlmError('malformed', 'The provider answered the rerank without results.');
  return raw.map((r: { index?: unknown; relevance_score?: unknown }) => {
    if (typeof r?.index !== 'number' || !Number.isInteger(r.index) || r.index < 0 || r.index >= documents || typeof r.relevance_score !== 'number') {
      throw new LlmError('malformed', 'The provider answered the rerank with a result that has no valid index and relevance_score.');
    }
    return { index: r.index, relevanceScore: r.relevance_score };
  });
}

/** POST {base}/rerank in the Jina/Cohere shape; tokens from `usage`, searches from Cohere's `meta.billed_units`. */
export async function rerank(http: UpstreamHttp, request: RerankRequest, options: CallOptions = {}): Promise<Reranking> {
  const body = { model: request.model, query: request.query, documents: request.documents, ...(request.topN !== undefined ? { top_n: request.topN } : {}) };
  const res = (await http.postJson('/rerank', body, options.signal)) as {
    model?: unknown; results?: unknown; usage?: { total_tokens?: unknown; prompt_tokens?: unknown };
    meta?: { billed_units?: { search_units?: unknown; input_tokens?: unknown } };
  } | null;
  const results = readRerankResults(res?.results, request.documents.length).sort((a, b) => b.relevanceScore - a.relevanceScore);
  const tokens = res?.usage?.total_tokens ?? res?.usage?.prompt_tokens ?? res?.meta?.billed_units?.input_tokens;
  const searches = res?.meta?.billed_units?.search_units;
  return {
    model: typeof res?.model === 'string' ? res.model : request.model,
    results: request.topN !== undefined ? results.slice(0, request.topN) : results,
    ...(typeof tokens === 'number' ? { tokens } : {}),
    searches: typeof searches === 'number' ? searches : searchesFor(request.documents.length),
  };
}
