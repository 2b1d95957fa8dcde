import { describe, expect, it } from 'vitest';
import { OpenAiError } from './errors.ts';
import { parseRerank, parseSpeech, parseTranscription } from './media-requests.ts';

const file = { bytes: Buffer.from('RIFF....WAVE'), filename: 'a.wav', contentType: 'audio/wav' };
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(OpenAiError);
    return (err as OpenAiError).toJSON().error;
  }
  throw new Error('not refused');
};

describe('transcription fields', () => {
  it('takes the multipart fields as strings, with json by default', () => {
    expect(parseTranscription({ model: 'whisper-1', temperature: '0.2', language: 'zh' }, file)).toEqual({ model: 'whisper-1', file, responseFormat: 'json', temperature: 0.2, language: 'zh' });
  });

  it('names the field that is wrong', () => {
    expect(refusal(() => parseTranscription({ model: 'whisper-1' }, undefined)).param).toBe('file');
    expect(refusal(() => parseTranscription({}, file)).param).toBe('model');
    expect(refusal(() => parseTranscription({ model: 'whisper-1', response_format: 'mp3' }, file)).param).toBe('response_format');
    expect(refusal(() => parseTranscription({ model: 'whisper-1', temperature: 'hot' }, file)).param).toBe('temperature');
    expect(refusal(() => parseTranscription({ model: 'whisper-1' }, { ...file, bytes: Buffer.alloc(0) })).message).toMatch(/empty/);
  });
});

describe('speech body', () => {
  it('defaults to mp3 and counts characters, not UTF-16 units, against the limit', () => {
    expect(parseSpeech({ model: 'tts-1', input: 'hi', voice: 'alloy' })).toEqual({ model: 'tts-1', input: 'hi', voice: 'alloy', responseFormat: 'mp3' });
    expect(() => parseSpeech({ model: 'tts-1', input: '😀'.repeat(4096), voice: 'alloy' })).not.toThrow();
    expect(refusal(() => parseSpeech({ model: 'tts-1', input: 'x'.repeat(4097), voice: 'alloy' })).message).toMatch(/4097 characters/);
  });

  it('refuses what OpenAI would, naming the field', () => {
    expect(refusal(() => parseSpeech([])).message).toMatch(/JSON object/);
    expect(refusal(() => parseSpeech({ model: 'tts-1', input: 'x', voice: 'alloy', speed: 0.1 })).param).toBe('speed');
    expect(refusal(() => parseSpeech({ model: 'tts-1', input: 'x', voice: 'alloy', stream_format: 'sse' })).param).toBe('stream_format');
  });
});

describe('rerank body', () => {
  it('takes documents as strings or {text}, and caps top_n at the documents', () => {
    expect(parseRerank({ model: 'rerank-v3.5', query: 'q', documents: ['a', { text: 'b' }], top_n: 9, return_documents: true })).toEqual({
      request: { model: 'rerank-v3.5', query: 'q', documents: ['a', 'b'], topN: 2 }, returnDocuments: true,
    });
  });

  it('names the document that is wrong', () => {
    expect(refusal(() => parseRerank({ model: 'm', query: 'q', documents: ['a', { title: 'b' }] })).param).toBe('documents[1]');
    expect(refusal(() => parseRerank({ model: 'm', query: 'q', documents: new Array(1001).fill('d') })).param).toBe('documents');
    expect(refusal(() => parseRerank({ model: 'm', query: 'q', documents: ['a'], top_n: 1.5 })).param).toBe('top_n');
  });
});
