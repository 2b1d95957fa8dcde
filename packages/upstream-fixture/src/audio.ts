// OpenAI's audio wire formats: POST /v1/audio/transcriptions (multipart:
// file, model, response_format...) and POST /v1/audio/speech (JSON → audio
// bytes). The "transcript" says what the fixture heard (file name and length);
// the "speech" is silence whose length follows the input, as a WAV when asked.
import { errorBody } from './wire.ts';

export interface AudioAnswer {
  status: number;
  contentType: string;
  body: string | Buffer;
}

const json = (status: number, body: unknown): AudioAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(body) });
const bad = (message: string, param: string | null = null) => json(400, errorBody(message, 'invalid_request_error', null, param));

/** Seconds of a RIFF/WAVE upload; anything else counts as 16 kB per second. */
export function fixtureSeconds(bytes: Buffer): number {
  if (bytes.length >= 44 && bytes.toString('ascii', 0, 4) === 'RIFF' && bytes.toString('ascii', 8, 12) === 'WAVE') {
    const byteRate = bytes.readUInt32LE(28);
    if (byteRate > 0) return (bytes.length - 44) / byteRate;
  }
  return bytes.length / 16_000;
}

function cueTime(seconds: number, comma: boolean): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${comma ? ',' : '.'}${pad(ms % 1000, 3)}`;
}

/** Reads a multipart body the way a server would (Node's own form-data parser). */
export async function readForm(body: Buffer, contentType: string): Promise<FormData | undefined> {
  try {
    return await new Request('http://fixture.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body) }).formData();
  } catch {
    return undefined;
  }
}

export async function transcription(form: FormData | undefined, scriptedText: string | undefined): Promise<AudioAnswer> {
  if (!form) return bad('Could not parse multipart form.');
  const model = form.get('model');
  const file = form.get('file');
  if (typeof model !== 'string' || !model) return bad("'model' is a required property.", 'model');
  if (!/whisper|transcribe/i.test(model)) return bad(`Invalid model ${model} for transcription.`, 'model');
  if (!file || typeof file === 'string') return bad("'file' is a required property.", 'file');
  const bytes = Buffer.from(await file.arrayBuffer());
  const seconds = fixtureSeconds(bytes);
  const whisper = /whisper/i.test(model);
  const format = String(form.get('response_format') ?? 'json');
  const text = scriptedText ?? `Transcript of ${file.name}: ${seconds.toFixed(1)} seconds of audio.`;
  if (!whisper && format !== 'json' && format !== 'text') return bad(`response_format '${format}' is not compatible with model '${model}'. Use 'json' or 'text'.`, 'response_format');
  switch (format) {
    case 'text':
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: `${text}\n` };
    case 'srt':
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: `1\n${cueTime(0, true)} --> ${cueTime(seconds, true)}\n${text}\n\n` };
    case 'vtt':
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: `WEBVTT\n\n${cueTime(0, false)} --> ${cueTime(seconds, false)}\n${text}\n\n` };
    case 'verbose_json':
      return json(200, {
        task: 'transcribe', language: String(form.get('language') ?? 'english'), duration: seconds, text,
        segments: [{ id: 0, seek: 0, start: 0, end: seconds, text, tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01 }],
        usage: { type: 'duration', seconds: Math.ceil(seconds) },
      });
    case 'json': {
      const tokens = Math.ceil(seconds * 10);
      const usage = whisper ? { type: 'duration', seconds: Math.ceil(seconds) } : { type: 'tokens', input_tokens: tokens, output_tokens: text.length >> 2, total_tokens: tokens + (text.length >> 2) };
      return json(200, { text, usage });
    }
    default:
      return bad(`response_format must be one of json, text, srt, verbose_json, vtt.`, 'response_format');
  }
}

const SPEECH_TYPES: Record<string, string> = { mp3: 'audio/mpeg', opus: 'audio/ogg', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' };

/** A WAV of silence, 8 kHz 16-bit mono. */
function silence(seconds: number): Buffer {
  const data = Math.max(2, Math.round(seconds * 8000) * 2);
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(8000, 24);
  out.writeUInt32LE(16_000, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(data, 40);
  return out;
}

export function speech(body: any): AudioAnswer {
  const model = body?.model;
  if (typeof model !== 'string' || !model) return bad("'model' is a required property.", 'model');
  if (!/tts/i.test(model)) return bad(`Invalid model ${model} for speech.`, 'model');
  if (typeof body.input !== 'string' || !body.input) return bad("'input' is a required property.", 'input');
  if (typeof body.voice !== 'string' || !body.voice) return bad("'voice' is a required property.", 'voice');
  const format = body.response_format ?? 'mp3';
  const type = SPEECH_TYPES[format];
  if (!type) return bad(`response_format must be one of ${Object.keys(SPEECH_TYPES).join(', ')}.`, 'response_format');
  // About 15 characters a second of speech.
  const wav = silence([...body.input].length / 15);
  if (format === 'wav') return { status: 200, contentType: type, body: wav };
  const tag = Buffer.from(format === 'mp3' ? 'ID3\u0004\u0000' : `fixture-${format}`, 'latin1');
  return { status: 200, contentType: type, body: Buffer.concat([tag, wav.subarray(44)]) };
}
