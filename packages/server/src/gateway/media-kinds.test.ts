import { describe, expect, it } from 'vitest';
import { mediaKindOf, modelKindOf, servesKind } from './media-kinds.ts';

describe('media kinds', () => {
  it('knows the audio and rerank models of the presets by name', () => {
    expect(mediaKindOf('whisper-1')).toBe('transcription');
    expect(mediaKindOf('gpt-4o-mini-transcribe')).toBe('transcription');
    expect(mediaKindOf('tts-1')).toBe('speech');
    expect(mediaKindOf('tts-1-hd')).toBe('speech');
    expect(mediaKindOf('gpt-4o-mini-tts')).toBe('speech');
    expect(mediaKindOf('rerank-v3.5')).toBe('rerank');
    expect(mediaKindOf('BAAI/bge-reranker-v2-m3')).toBe('rerank');
    expect(mediaKindOf('gte-rerank-v2')).toBe('rerank');
  });

  it('leaves chat and embedding models alone', () => {
    for (const m of ['gpt-4o-mini', 'deepseek-chat', 'text-embedding-3-small', 'qwen-plus', 'local/kb-answer']) expect(mediaKindOf(m)).toBeUndefined();
  });

  it('lets an alias serve the kind of the upstream model it stands for', () => {
    expect(servesKind('transcription', ['my-stt-alias', 'whisper-1'])).toBe(true);
    expect(servesKind('speech', ['gpt-4o-mini', 'gpt-4o-mini'])).toBe(false);
  });

  it('tells chat models from embedding, audio and rerank ones, by the route name or an upstream id', () => {
    for (const m of ['gpt-4o-mini', 'deepseek-chat', 'qwen-plus', 'doubao-seed-1-6', 'local/kb-answer']) expect(modelKindOf([m, m])).toBe('chat');
    for (const m of ['text-embedding-3-small', 'text-embedding-v4', 'nomic-embed-text']) expect(modelKindOf([m, m])).toBe('embedding');
    expect(modelKindOf(['doubao-embedding', 'doubao-embedding-text-240715'])).toBe('embedding');
    expect(modelKindOf(['whisper-1', 'whisper-1'])).toBe('transcription');
    expect(modelKindOf(['tts-1'])).toBe('speech');
    expect(modelKindOf(['rerank-v3.5'])).toBe('rerank');
    // An alias whose name says nothing is what its upstream model is.
    expect(modelKindOf(['voice', 'gpt-4o-mini-tts'])).toBe('speech');
  });
});
