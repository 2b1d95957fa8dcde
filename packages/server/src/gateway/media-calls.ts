// /v1/audio/transcriptions, /v1/audio/speech and /v1/rerank on the Gateway's
// rails: the key's allowed models, monthly budget, RPM/TPM buckets and
// running cap hold as for chat, and the Router's onAttempt writes the ledger
// row (seconds, characters or searches and what they cost).
import { performance } from 'node:perf_hooks';
import { rerankTokens, type Reranking, type RerankRequest, type Speech, type SpeechRequest, type TranscribeRequest, type Transcription, type RouterCallOptions } from '../llm/index.ts';
import type { GatewayCaller } from './caller.ts';
import { invalidRequest, modelNotFound } from './errors.ts';
import { endpointFor, mediaKindOf, servesKind, type MediaKind } from './media-kinds.ts';
import type { RerankBody } from './media-requests.ts';
import type { Admission, Gateway } from './service.ts';

/** The Router's non-chat calls, as the gateway uses them. */
export interface MediaModels {
  transcribe(request: TranscribeRequest, options?: RouterCallOptions): Promise<Transcription>;
  speak(request: SpeechRequest, options?: RouterCallOptions): Promise<Speech>;
  rerank(request: RerankRequest, options?: RouterCallOptions): Promise<Reranking>;
  upstreamModels(model: string): string[];
}

export interface MediaAnswer<T> {
  result: T;
  deployment: string | null;
  upstreamMs: number;
}

const KIND_WORDS: Record<MediaKind, string> = { transcription: 'a transcription model', speech: 'a text-to-speech model', rerank: 'a rerank model' };

let rerankSeq = 0;
const rerankBase = Date.now().toString(36);

export class MediaCalls {
  constructor(
    private readonly gateway: Gateway,
    private readonly models: MediaModels,
  ) {}

  /**
   * The model exists (404 otherwise), is the right kind for the endpoint (a
   * 400 here, before any upstream call), and the caller's key, budget and
   * buckets let the call through. `tokens` is what the TPM bucket reserves.
   */
  async admit(caller: GatewayCaller, kind: MediaKind, model: string, tokens: () => number): Promise<Admission> {
    if (!this.gateway.has(model)) throw modelNotFound(model);
    if (!servesKind(kind, [model, ...this.models.upstreamModels(model)])) {
      const other = mediaKindOf(model);
      const hint = other ? ` It is ${KIND_WORDS[other]}: call ${endpointFor(other)}.` : ' GET /v1/models lists the models; audio and rerank models are named for what they do (whisper-1, tts-1, rerank-v3.5…).';
      throw invalidRequest(`The model \`${model}\` is not ${KIND_WORDS[kind]}.${hint}`, 'model', 'model_not_supported');
    }
    return this.gateway.admit(caller, model, tokens);
  }

  transcribe(caller: GatewayCaller, request: TranscribeRequest, admission: Admission, signal?: AbortSignal): Promise<MediaAnswer<Transcription>> {
    return this.run(caller, admission, signal, (options) => this.models.transcribe(request, options), () => 0);
  }

  speak(caller: GatewayCaller, request: SpeechRequest, admission: Admission, signal?: AbortSignal): Promise<MediaAnswer<Speech>> {
    return this.run(caller, admission, signal, (options) => this.models.speak(request, options), () => 0);
  }

  rerank(caller: GatewayCaller, body: RerankBody, admission: Admission, signal?: AbortSignal): Promise<MediaAnswer<Reranking>> {
    return this.run(caller, admission, signal, (options) => this.models.rerank(body.request, options), (r) => r.tokens ?? rerankTokens(body.request));
  }

  private async run<T>(
    caller: GatewayCaller,
    admission: Admission,
    signal: AbortSignal | undefined,
    call: (options: RouterCallOptions) => Promise<T>,
    usedTokens: (result: T) => number,
  ): Promise<MediaAnswer<T>> {
    const context = this.gateway.usage(caller);
    const t0 = performance.now();
    let result: T;
    try {
      result = await call({ context, ...(signal ? { signal } : {}) });
    } catch (err) {
      this.gateway.settle(caller, admission, 0);
      throw err;
    }
    this.gateway.settle(caller, admission, usedTokens(result));
    return { result, deployment: context.deployment, upstreamMs: performance.now() - t0 };
  }
}

/** The Jina/Cohere answer: results best first, the documents when asked for, and usage in both vendors' words. */
export function rerankBody(body: RerankBody, reranking: Reranking, searches: number, tokens: number): Record<string, unknown> {
  const results = reranking.results.map((r) => ({
    index: r.index,
    relevance_score: r.relevanceScore,
    ...(body.returnDocuments ? { document: { text: body.request.documents[r.index] } } : {}),
  }));
  return {
    id: `rerank-${rerankBase}${(++rerankSeq).toString(36)}`,
    model: body.request.model,
    results,
    usage: { total_tokens: tokens, search_units: searches },
    meta: { billed_units: { search_units: searches } },
  };
}
