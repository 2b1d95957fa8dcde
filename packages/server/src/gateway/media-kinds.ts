// Which /v1 endpoint a model belongs on, from its name or the upstream model
// it stands for. Asked before any upstream call, so a chat model sent to
// /v1/audio/speech is the caller's 400 here, not an upstream 404 that would
// count against a deployment chat calls share.
export type MediaKind = 'transcription' | 'speech' | 'rerank';

const PATTERNS: Record<MediaKind, RegExp> = {
  transcription: /whisper|transcribe|\bstt\b|sensevoice|paraformer/i,
  speech: /(^|[-_/])tts([-_]|$)|cosyvoice|speech/i,
  rerank: /rerank/i,
};

const ENDPOINTS: Record<MediaKind, string> = {
  transcription: 'POST /v1/audio/transcriptions',
  speech: 'POST /v1/audio/speech',
  rerank: 'POST /v1/rerank',
};

export function mediaKindOf(name: string): MediaKind | undefined {
  for (const kind of Object.keys(PATTERNS) as MediaKind[]) if (PATTERNS[kind].test(name)) return kind;
  return undefined;
}

/** Whether a route (by its name and its deployments' upstream ids) serves this kind of call. */
export function servesKind(kind: MediaKind, names: readonly string[]): boolean {
  return names.some((n) => mediaKindOf(n) === kind);
}

/** Where a model of this kind is called instead (for the error message). */
export const endpointFor = (kind: MediaKind) => ENDPOINTS[kind];

/** What a configured model is for: the console offers only chat models where a chat model is wanted (an agent's model). */
export type ModelKind = 'chat' | 'embedding' | MediaKind;

const EMBEDDING = /embed/i;

/**
 * The kind of a route from its name and its deployments' upstream ids (any
 * of them named for audio, rerank or embeddings says so); everything else is
 * a chat model, as /v1/chat/completions assumes.
 */
export function modelKindOf(names: readonly string[]): ModelKind {
  for (const n of names) {
    const media = mediaKindOf(n);
    if (media) return media;
  }
  return names.some((n) => EMBEDDING.test(n)) ? 'embedding' : 'chat';
}
