import { describe, expect, it } from 'vitest';
import { chatModelNames } from './agent-models.ts';

describe("an agent's model picker", () => {
  it('offers the chat models and none of the embedding, audio or rerank ones, in the listed order', () => {
    const listed = [
      { name: 'gpt-4o-mini', kind: 'chat' },
      { name: 'text-embedding-3-small', kind: 'embedding' },
      { name: 'whisper-1', kind: 'transcription' },
      { name: 'tts-1', kind: 'speech' },
      { name: 'rerank-v3.5', kind: 'rerank' },
      { name: 'local/kb-answer', kind: 'chat' },
    ];
    expect(chatModelNames(listed)).toEqual(['gpt-4o-mini', 'local/kb-answer']);
  });

  it('offers every model when the server does not say their kind', () => {
    expect(chatModelNames([{ name: 'gpt-4o-mini' }, { name: 'deepseek-chat' }])).toEqual(['gpt-4o-mini', 'deepseek-chat']);
  });
});
