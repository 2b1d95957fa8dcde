import { setImmediate as nextTurn } from 'node:timers/promises';
import { markdownSections, stripFrontMatter, textSections, type Block, type Fence } from './markdown.ts';
import { countTokens, fitsTokens, segments, sentences } from './text.ts';
import type { Chunk, KbDocument } from './types.ts';

export interface ChunkOptions {
  /** Chunks are packed up to this many o200k tokens. */
  targetTokens?: number;
  /** A code fence longer than the target stays whole up to this size; past it, it is split. */
  maxTokens?: number;
  /** Text repeated from the end of one chunk at the start of the next in the same section. */
  overlapTokens?: number;
}

// Small enough that a quoted passage is on one topic, large enough to hold a procedure.
export const defaultChunkOptions: Required<ChunkOptions> = { targetTokens: 300, maxTokens: 600, overlapTokens: 40 };

/** A unit of packing: a sentence, a word run, or a whole (piece of a) code fence. */
interface Piece {
  text: string;
  /** What goes before it when it follows another piece: '\n\n' between blocks, '' within one. */
  sep: string;
  code: boolean;
}

/** Splits a document into chunks: by headings first, then packed by tokens with overlap. */
export function chunkDocument(doc: KbDocument, options: ChunkOptions = {}): Chunk[] {
  const chunks: Chunk[] = [];
  for (const section of chunkSections(doc, options)) chunks.push(...section);
  return chunks;
}

/**
 * chunkDocument with a turn of the event loop whenever a slice of sections
 * has taken more than `sliceMs`: packing costs about a second per MB of text,
 * and a chat server must not stall that long. One huge section still runs in
 * one go.
 */
export async function chunkDocumentInSlices(doc: KbDocument, options: ChunkOptions = {}, sliceMs = 20): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  let started = performance.now();
  for (const section of chunkSections(doc, options)) {
    chunks.push(...section);
    if (performance.now() - started > sliceMs) {
      await nextTurn();
      started = performance.now();
    }
  }
  return chunks;
}

/** The chunks of each section in turn, numbered across the whole document. */
function* chunkSections(doc: KbDocument, options: ChunkOptions): Generator<Chunk[]> {
  const format = doc.format ?? formatOf(doc.source);
  const sections = format === 'text' ? textSections(doc.text) : markdownSections(stripFrontMatter(doc.text).body);
  let ordinal = 0;
  for (const section of sections) {
    yield packBlocks(section.blocks, options).map((text) => ({
      id: `${doc.id}#${ordinal}`,
      app_id: doc.app_id,
      kb_id: doc.kb_id,
      document_id: doc.id,
      ordinal: ordinal++,
      title: doc.title,
      source: doc.source,
      heading_path: [...section.headingPath],
      text,
      tokens: countTokens(text),
    }));
  }
}

export function formatOf(source: string): 'markdown' | 'text' {
  return /\.txt$/i.test(source) ? 'text' : 'markdown';
}

/** Packs one section's blocks into chunk texts of at most targetTokens (maxTokens for a whole fence). */
export function packBlocks(blocks: readonly Block[], options: ChunkOptions = {}): string[] {
  const o = { ...defaultChunkOptions, ...options };
  const chunks: Piece[][] = [];
  let current: Piece[] = [];
  for (const piece of blocks.flatMap((b) => blockPieces(b, o))) {
    if (current.length && fitsTokens(join([...current, piece]), o.targetTokens)) {
      current.push(piece);
      continue;
    }
    if (current.length) chunks.push(current);
    current = current.length ? withOverlap(current, piece, o) : [piece];
  }
  if (current.length) chunks.push(current);
  return chunks.map(join);
}

function blockPieces(block: Block, o: Required<ChunkOptions>): Piece[] {
  const code = !!block.fence;
  if (fitsTokens(block.text, o.targetTokens)) return [{ text: block.text, sep: '\n\n', code }];
  if (block.fence) {
    if (fitsTokens(block.text, o.maxTokens)) return [{ text: block.text, sep: '\n\n', code }];
    return splitFence(block.fence, o.targetTokens).map((text) => ({ text, sep: '\n\n', code }));
  }
  const pieces = sentences(block.text).flatMap((s) =>
    fitsTokens(s, o.targetTokens) ? [s] : splitWords(s, o.targetTokens),
  );
  return pieces.map((text, i) => ({ text, sep: i === 0 ? '\n\n' : '', code }));
}

/** Splits an oversize fence by lines, closing and reopening it so every piece is valid Markdown. */
function splitFence(fence: Fence, limit: number): string[] {
  const wrap = (lines: string[]) => [fence.open, ...lines, fence.close].join('\n');
  const room = limit - countTokens(wrap([]));
  const lines = fence.body.split('\n').flatMap((l) => (fitsTokens(l, room) ? [l] : splitWords(l, room)));
  const pieces: string[] = [];
  let current: string[] = [];
  for (const line of lines) {
    if (current.length && !fitsTokens(wrap([...current, line]), limit)) {
      pieces.push(wrap(current));
      current = [];
    }
    current.push(line);
  }
  if (current.length) pieces.push(wrap(current));
  return pieces;
}

/** Word runs of at most `limit` tokens; summing per-word counts keeps this linear on huge lines. */
function splitWords(text: string, limit: number): string[] {
  const runs: string[] = [];
  let run = '';
  let tokens = 0;
  for (const segment of segments(text).flatMap((s) => slices(s.segment))) {
    const n = countTokens(segment);
    if (run && tokens + n > limit) {
      runs.push(run);
      run = '';
      tokens = 0;
    }
    run += segment;
    tokens += n;
  }
  if (run) runs.push(run);
  return runs;
}

// A "word" can be a whole base64 blob; slicing it bounds both its cost and a chunk's size.
function slices(word: string, size = 64): string[] {
  if (word.length <= size) return [word];
  const chars = Array.from(word);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}

/** Starts the next chunk with the previous chunk's closing sentences, never part of a code fence. */
function withOverlap(previous: Piece[], next: Piece, o: Required<ChunkOptions>): Piece[] {
  let tail: Piece[] = [];
  for (let i = previous.length - 1; i >= 0; i--) {
    const piece = previous[i]!;
    if (piece.code) break;
    if (!fitsTokens(join([piece, ...tail]), o.overlapTokens)) {
      if (!tail.length) tail = [{ ...piece, text: wordTail(piece.text, o.overlapTokens) }];
      break;
    }
    tail = [piece, ...tail];
  }
  while (tail.length && !fitsTokens(join([...tail, next]), o.targetTokens)) tail.shift();
  return [...tail.filter((p) => p.text.trim()), next];
}

function wordTail(text: string, limit: number): string {
  const words = segments(text.trimEnd());
  let tail = '';
  for (let i = words.length - 1; i >= 0; i--) {
    const candidate = words[i]!.segment + tail;
    if (!fitsTokens(candidate, limit)) break;
    tail = candidate;
  }
  return tail.trimStart() + (/\s$/.test(text) ? text.slice(text.trimEnd().length) : '');
}

function join(pieces: readonly Piece[]): string {
  let out = '';
  for (const p of pieces) out = out && p.sep ? out.trimEnd() + p.sep + p.text : out + p.text;
  return out.trim();
}
