// The provider port's calls that are not chat: speech to text, text to
// speech, and reranking. They are billed in their own units (seconds of
// audio, characters of text, searches) or in tokens, which is what `units`
// on their results carries to the ledger.
import { countTextTokens } from './tokens.ts';

/** What a non-token price counts; tokens use the ordinary per-1M-token rates. */
export type BilledUnit = 'second' | 'character' | 'search';

export interface BilledUnits {
  unit: BilledUnit;
  count: number;
  /** True when we worked the count out ourselves (the upstream reported none). */
  estimated: boolean;
}

export type TranscriptionFormat = 'json' | 'text' | 'srt' | 'verbose_json' | 'vtt';
export const TRANSCRIPTION_FORMATS: readonly TranscriptionFormat[] = ['json', 'text', 'srt', 'verbose_json', 'vtt'];

export interface AudioFile {
  bytes: Buffer;
  filename: string;
  contentType: string;
}

export interface TranscribeRequest {
  model: string;
  file: AudioFile;
  language?: string;
  prompt?: string;
  temperature?: number;
  responseFormat: TranscriptionFormat;
}

export interface Transcription {
  /** The body to hand the client, in the format it asked for. */
  body: string;
  contentType: string;
  /** Seconds of audio, for the ledger. */
  units: BilledUnits;
}

export type SpeechFormat = 'mp3' | 'opus' | 'aac' | 'flac' | 'wav' | 'pcm';
export const SPEECH_FORMATS: readonly SpeechFormat[] = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'];

export interface SpeechRequest {
  model: string;
  input: string;
  voice: string;
  responseFormat: SpeechFormat;
  speed?: number;
  instructions?: string;
}

export interface Speech {
  audio: Buffer;
  contentType: string;
  /** Characters of input, for the ledger. */
  units: BilledUnits;
}

export interface RerankRequest {
  model: string;
  query: string;
  documents: string[];
  topN?: number;
}

export interface RerankResult {
  index: number;
  relevanceScore: number;
}

export interface Reranking {
  model: string;
  /** Best first, at most topN. */
  results: RerankResult[];
  /** Tokens the upstream counted (Jina, DashScope, SiliconFlow), when it said. */
  tokens?: number;
  /** Searches the upstream billed (Cohere's search units), when it said. */
  searches?: number;
}

/** Cohere's unit: one query with up to 100 documents is one search. */
export function searchesFor(documents: number): number {
  return Math.max(1, Math.ceil(documents / 100));
}

/** Tokens a rerank reads when the upstream does not say: the query once per document, plus the documents (o200k). */
export function rerankTokens(request: Pick<RerankRequest, 'query' | 'documents'>): number {
  const query = countTextTokens(request.query);
  let n = 0;
  for (const d of request.documents) n += query + countTextTokens(d);
  return n;
}
