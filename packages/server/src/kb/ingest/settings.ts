import { KnowledgeSettings } from '@warbler/protocol';
import { defaultChunkOptions, type ChunkOptions } from '../chunk.ts';

export const defaultKnowledgeSettings: KnowledgeSettings = {
  chunk_tokens: defaultChunkOptions.targetTokens,
  overlap_tokens: defaultChunkOptions.overlapTokens,
  top_k: 5,
  citation_style: 'numbered',
};

/** Stored settings over the defaults; a row written by an older version keeps the fields it lacks at their defaults. */
export function readSettings(stored: string | undefined): KnowledgeSettings {
  if (!stored) return { ...defaultKnowledgeSettings };
  try {
    const parsed = KnowledgeSettings.safeParse({ ...defaultKnowledgeSettings, ...(JSON.parse(stored) as object) });
    return parsed.success ? parsed.data : { ...defaultKnowledgeSettings };
  } catch {
    return { ...defaultKnowledgeSettings };
  }
}

export function chunkOptionsOf(settings: KnowledgeSettings): ChunkOptions {
  // A code fence may run to twice the chunk size before it is split, as with the defaults (300/600).
  return { targetTokens: settings.chunk_tokens, overlapTokens: settings.overlap_tokens, maxTokens: settings.chunk_tokens * 2 };
}

/** Whether documents must be chunked again: only size and overlap change chunks. */
export function changesChunks(a: KnowledgeSettings, b: KnowledgeSettings): boolean {
  return a.chunk_tokens !== b.chunk_tokens || a.overlap_tokens !== b.overlap_tokens;
}
