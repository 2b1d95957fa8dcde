import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundedCount } from './bounded-tokens.ts';
import { embedText, toBase64 } from './embeddings.ts';
import { rerank } from './rerank.ts';
import { readForm, speech, transcription, type AudioAnswer } from './audio.ts';
import { PromptCache } from './prompt-cache.ts';
import { FineTuningJobs } from './fine-tuning.ts';
import { isFault, Script, type FaultStep, type ReplyShape, type ReplyStep, type Step } from './script.ts';
import {
  chunk,
  completion,
  deltaChoice,
  errorBody,
  wireUsage,
  type ChunkHead,
  type FinishReason,
  type UsageNumbers,
  type WireToolCall,
  type WireUsage,
} from './wire.ts';

export interface FixtureOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** When set, requests must send `Authorization: Bearer <apiKey>` or get a 401. */
  apiKey?: string;
  /** What GET /v1/models lists. */
  models?: string[];
  /** Timing and text of unscripted replies. */
  defaults?: ReplyShape & { text?: string };
  /** How many received requests to keep (oldest dropped first); 0 keeps none, for benches. Default 10,000. */
  recordRequests?: number;
  /** Stamp every SSE chunk with `x_fixture_sent_at` (ms, performance.timeOrigin + performance.now()). Default true. */
  stampChunks?: boolean;
  /** Embedding size when neither the request nor the step says. Default 256. */
  embeddingDimensions?: number;
  /**
   * Report `cached_tokens` when a prompt begins as an earlier one did, as OpenAI's automatic
   * prompt caching does (1,024 tokens and up, in steps of 128). Applies to counted usage only:
   * a step's exact usage is reported as scripted. Default true.
   */
  promptCache?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined for GET or an unparsable body). */
  body: any;
  receivedAt: number;
}

export interface UpstreamFixture {
  /** The base URL an OpenAI client wants, ending in /v1. */
  url: string;
  origin: string;
  port: number;
  /** Queue scripted replies and faults; each request takes the first step that matches it. */
  script(...steps: Step[]): void;
  /** Requests received so far, oldest first (a live array). */
  readonly requests: RecordedRequest[];
  /** Requests answered per endpoint since start (counted even when recording is off). */
  readonly counts: { chat: number; embeddings: number; models: number; rerank: number; audio: number };
  /** Drop queued steps, recorded requests and the prompt cache. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];
const WORD_CHUNK = /\S+\s*|\s+/g;

const now = () => performance.timeOrigin + performance.now();

let idSeq = 0;
function newId(prefix: string): string {
  idSeq = (idSeq + 1) % 1e9;
  return `${prefix}${Date.now().toString(36)}${idSeq.toString(36).padStart(6, '0')}`;
}

function tokens(text: string): number {
  return boundedCount(text);
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (p && typeof p === 'object' && (p as { type?: unknown }).type === 'text' ? String((p as { text?: unknown }).text ?? '') : ''))
    .join('');
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | undefined;
    if (m?.role === 'user') return contentText(m.content);
  }
  return '';
}

// The same per-message overhead OpenAI documents for gpt-4o (3 per message, 3 to prime the reply),
// so default usage looks like what the real upstream would report.
function promptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let n = 3;
  for (const m of messages as Array<Record<string, unknown>>) {
    n += 3 + tokens(String(m.role ?? '')) + tokens(contentText(m.content));
    if (typeof m.name === 'string') n += 1 + tokens(m.name);
  }
  return n;
}

function splitText(text: string, chunkSize: number | undefined): string[] {
  if (text.length === 0) return [];
  if (chunkSize && chunkSize > 0) {
    const out: string[] = [];
    const chars = [...text];
    for (let i = 0; i < chars.length; i += chunkSize) out.push(chars.slice(i, i + chunkSize).join(''));
    return out;
  }
  return text.match(WORD_CHUNK) ?? [text];
}

interface Plan {
  head: ChunkHead;
  pieces: string[];
  reasoningPieces: string[];
  toolCalls: WireToolCall[];
  toolArgPieces: string[][];
  finishReason: FinishReason;
  usage: WireUsage | null;
  shape: Required<Pick<ReplyShape, 'ttftMs' | 'intervalMs'>> & { stampText: boolean; asciiJson: boolean };
  runningUsage: boolean;
}

const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
];

/** OpenAI's moderation answer: an input containing "kill" is flagged for violence, nothing else is. */
function moderation(body: any): Record<string, unknown> {
  const inputs: string[] = typeof body?.input === 'string' ? [body.input] : Array.isArray(body?.input) ? body.input.map((x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
  const results = inputs.map((text) => {
    const violent = /\bkill/i.test(text);
    const categories = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, violent && c === 'violence']));
    const scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, violent && c === 'violence' ? 0.93 : 0.0001]));
    const applied = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, ['text']]));
    return { flagged: violent, categories, category_scores: scores, category_applied_input_types: applied };
  });
  return { id: newId('modr-'), model: body?.model ?? 'omni-moderation-latest', results };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, asciiOnly = false): void {
  const text = JSON.stringify(body);
  const data = asciiOnly ? text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

function sendFaultStatus(res: ServerResponse, step: FaultStep, model: string | undefined): void {
  if (step.fault === 'rate_limit') {
    const headers: Record<string, string> = {};
    const ms = step.retryAfterMs ?? (step.retryAfterS !== undefined ? step.retryAfterS * 1000 : undefined);
    if (ms !== undefined) {
      headers['retry-after'] = String(Math.ceil(ms / 1000));
      if (step.retryAfterMs !== undefined) headers['retry-after-ms'] = String(step.retryAfterMs);
    }
    json(res, 429, errorBody(`Rate limit reached for ${model ?? 'model'} (fixture). Please try again later.`, 'requests', 'rate_limit_exceeded'), headers);
    return;
  }
  if (step.fault !== 'status') return;
  const s = step.status;
  const [type, code, message] =
    s === 401
      ? ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.']
      : s === 404
        ? ['invalid_request_error', 'model_not_found', `The model \`${model}\` does not exist or you do not have access to it.`]
        : s >= 500
          ? ['server_error', null, 'The server had an error while processing your request. Sorry about that!']
          : ['invalid_request_error', null, 'Bad request.'];
  json(res, s, errorBody(step.message ?? message, type, code));
}

export async function startUpstreamFixture(options: FixtureOptions = {}): Promise<UpstreamFixture> {
  const script = new Script();
  const requests: RecordedRequest[] = [];
  const counts = { chat: 0, embeddings: 0, models: 0, rerank: 0, audio: 0 };
  const keep = options.recordRequests ?? 10_000;
  const stampChunks = options.stampChunks ?? true;
  const models = options.models ?? DEFAULT_MODELS;
  const defaults = options.defaults ?? {};
  const promptCache = options.promptCache === false ? undefined : new PromptCache();
  const fineTuning = new FineTuningJobs();

  function record(req: IncomingMessage, path: string, body: unknown): void {
    if (keep <= 0) return;
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, receivedAt: now() });
    if (requests.length > keep) requests.shift();
  }

  function plan(body: any, step: ReplyStep | FaultStep | undefined): Plan {
    const reply: ReplyStep = step && !isFault(step) ? step : {};
    const faultText = step && isFault(step) && 'text' in step ? step.text : undefined;
    const text = reply.chunks ? reply.chunks.join('') : (reply.text ?? faultText ?? defaults.text ?? lastUserText(body.messages));
    const pieces = reply.chunks ?? splitText(text, reply.chunkSize ?? defaults.chunkSize);
    const reasoning = reply.reasoning ?? '';
    const toolCalls: WireToolCall[] = (reply.toolCalls ?? []).map((t) => ({
      id: t.id ?? newId('call_'),
      type: 'function',
      function: { name: t.name, arguments: t.arguments },
    }));
    const toolArgPieces = (reply.toolCalls ?? []).map((t) => t.argumentChunks ?? splitText(t.arguments, 8));
    let usage: WireUsage | null = null;
    if (reply.usage !== null) {
      usage = wireUsage(reply.usage ?? countedUsage(body, text, reasoning, toolCalls));
    }
    return {
      head: { id: newId('chatcmpl-'), created: Math.floor(Date.now() / 1000), model: reply.responseModel ?? String(body.model ?? '') },
      pieces,
      reasoningPieces: splitText(reasoning, reply.chunkSize ?? defaults.chunkSize),
      toolCalls,
      toolArgPieces,
      finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      usage,
      runningUsage: reply.runningUsage ?? false,
      shape: {
        ttftMs: reply.ttftMs ?? defaults.ttftMs ?? 0,
        intervalMs: reply.intervalMs ?? defaults.intervalMs ?? 0,
        stampText: reply.stampText ?? defaults.stampText ?? false,
        asciiJson: reply.asciiJson ?? defaults.asciiJson ?? false,
      },
    };
  }

  function countedUsage(body: any, text: string, reasoning: string, toolCalls: WireToolCall[]): UsageNumbers {
    const prompt = promptTokens(body.messages);
    return {
      prompt_tokens: prompt,
      cached_tokens: promptCache?.lookup(body, prompt) ?? 0,
      completion_tokens: tokens(text) + tokens(reasoning) + toolCalls.reduce((n, t) => n + tokens(t.function.name) + tokens(t.function.arguments), 0),
      reasoning_tokens: tokens(reasoning),
    };
  }

  async function streamChat(req: IncomingMessage, res: ServerResponse, body: any, step: Step | undefined): Promise<void> {
    const p = plan(body, step);
    const fault = step && isFault(step) ? step : undefined;
    const includeUsage = body.stream_options?.include_usage === true;
    const usageField = includeUsage ? null : undefined;
    let closed = false;
    res.on('close', () => (closed = true));

    if (fault?.fault === 'hang' && fault.afterChunks === undefined) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': p.head.id,
    });
    res.flushHeaders();

    const write = (choices: unknown[], usage: WireUsage | null | undefined = usageField) => {
      if (closed) return;
      res.write(`data: ${JSON.stringify(chunk(p.head, choices, usage, stampChunks ? now() : undefined))}\n\n`);
    };
    const pause = async (ms: number) => {
      if (ms > 0) await sleep(ms);
    };
    const limit = fault ? ('afterChunks' in fault ? (fault.afterChunks ?? 0) : 0) : Infinity;
    let sent = 0;
    const applyFault = () => {
      if (closed || !fault) return;
      // Let what was written reach the client first: a cut after N chunks must deliver N chunks.
      if (fault.fault === 'cut') req.socket.write('', () => req.socket.destroy());
      else if (fault.fault === 'malformed') res.end(`data: {"id":"${p.head.id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":\n\n`);
      // 'hang': say nothing more and keep the socket open until the client gives up.
    };
    const stop = (): boolean => {
      if (closed) return true;
      if (sent < limit) return false;
      applyFault();
      return true;
    };

    await pause(p.shape.ttftMs);
    if (stop()) return;
    const hasTools = p.toolCalls.length > 0;
    write([deltaChoice(hasTools && p.pieces.length === 0 ? { role: 'assistant', content: null, refusal: null } : { role: 'assistant', content: '', refusal: null })]);

    for (let i = 0; i < p.reasoningPieces.length; i++) {
      if (i > 0) await pause(p.shape.intervalMs);
      if (stop()) return;
      write([deltaChoice({ content: null, reasoning_content: p.reasoningPieces[i] })]);
      sent++;
    }
    for (let i = 0; i < p.pieces.length; i++) {
      if (i > 0 || p.reasoningPieces.length > 0) await pause(p.shape.intervalMs);
      if (stop()) return;
      const piece = p.shape.stampText ? `[[t:${now()}]]${p.pieces[i]}` : p.pieces[i];
      const running = includeUsage && p.runningUsage && p.usage ? wireUsage({ prompt_tokens: p.usage.prompt_tokens, completion_tokens: i + 1 }) : usageField;
      write([deltaChoice({ content: piece })], running);
      sent++;
    }
    for (let t = 0; t < p.toolCalls.length; t++) {
      const call = p.toolCalls[t]!;
      const argPieces = p.toolArgPieces[t]!;
      if (sent > 0) await pause(p.shape.intervalMs);
      if (stop()) return;
      write([deltaChoice({ tool_calls: [{ index: t, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] })]);
      sent++;
      for (const piece of argPieces) {
        await pause(p.shape.intervalMs);
        if (stop()) return;
        write([deltaChoice({ tool_calls: [{ index: t, function: { arguments: piece } }] })]);
        sent++;
      }
    }
    // A fault scheduled after more chunks than the reply has still strikes before the finish chunk.
    if (fault) return applyFault();
    write([deltaChoice({}, p.finishReason)]);
    if (includeUsage && p.usage) write([], p.usage);
    if (!closed) res.end('data: [DONE]\n\n');
  }

  async function jsonChat(req: IncomingMessage, res: ServerResponse, body: any, step: Step | undefined): Promise<void> {
    const p = plan(body, step);
    const fault = step && isFault(step) ? step : undefined;
    if (fault?.fault === 'hang') return;
    // A non-streaming upstream answers when the whole reply is ready.
    const total = p.shape.ttftMs + p.shape.intervalMs * Math.max(0, p.pieces.length - 1);
    if (total > 0) await sleep(total);
    if (fault?.fault === 'cut') {
      req.socket.destroy();
      return;
    }
    if (fault?.fault === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"id":"${p.head.id}","object":"chat.completion","choices":[{"index":0,"message":`);
      return;
    }
    const text = p.pieces.join('');
    const content = p.toolCalls.length > 0 && text === '' ? null : text;
    json(res, 200, completion(p.head, { content, reasoning: p.reasoningPieces.join(''), toolCalls: p.toolCalls }, p.finishReason, p.usage), {
      'x-request-id': p.head.id,
    }, p.shape.asciiJson);
  }

  async function embeddings(req: IncomingMessage, res: ServerResponse, body: any, step: Step | undefined): Promise<void> {
    if (step && isFault(step)) {
      if (step.fault === 'hang') return;
      if (step.fault === 'cut') return void req.socket.destroy();
      if (step.fault === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"object":"list","data":[');
      }
    }
    const reply: ReplyStep = step && !isFault(step) ? step : {};
    if (reply.ttftMs) await sleep(reply.ttftMs);
    const raw: unknown = body.input;
    const inputs: Array<string | number[]> =
      typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.length > 0 && typeof raw[0] === 'number' ? [raw as number[]] : Array.isArray(raw) ? (raw as Array<string | number[]>) : [];
    if (inputs.length === 0) return json(res, 400, errorBody("'input' is required and must not be empty.", 'invalid_request_error', null, 'input'));
    const dims = Number(body.dimensions ?? reply.dimensions ?? options.embeddingDimensions ?? 256);
    const base64 = body.encoding_format === 'base64';
    const data = inputs.map((input, index) => {
      const v = embedText(input, dims);
      return { object: 'embedding', index, embedding: base64 ? toBase64(v) : v };
    });
    const counted = inputs.reduce<number>((n, x) => n + (typeof x === 'string' ? tokens(x) : x.length), 0);
    const promptTokens = reply.usage ? reply.usage.prompt_tokens : counted;
    json(res, 200, { object: 'list', data, model: String(body.model ?? ''), usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  function sendAudio(res: ServerResponse, answer: AudioAnswer): void {
    res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(answer.body) });
    res.end(answer.body);
  }

  /** A scripted status or rate-limit fault for a non-chat endpoint, if one is queued; true when it answered. */
  function scriptedFault(res: ServerResponse, endpoint: 'transcription' | 'speech' | 'rerank', model: string | undefined): { answered: boolean; text?: string } {
    const step = script.take(endpoint, model);
    if (step && isFault(step) && (step.fault === 'rate_limit' || step.fault === 'status')) {
      sendFaultStatus(res, step, model);
      return { answered: true };
    }
    return { answered: false, ...(step && !isFault(step) && step.text !== undefined ? { text: step.text } : {}) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    const raw = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    const contentType = String(req.headers['content-type'] ?? '');
    if (method === 'POST' && path === '/v1/audio/transcriptions') {
      counts.audio++;
      const form = await readForm(raw, contentType);
      const model = form?.get('model');
      const file = form?.get('file');
      record(req, path, form ? { model, response_format: form.get('response_format'), language: form.get('language'), file: typeof file === 'object' && file ? { name: file.name, type: file.type, bytes: file.size } : undefined } : undefined);
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return json(res, 401, errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
      }
      const fault = scriptedFault(res, 'transcription', typeof model === 'string' ? model : undefined);
      if (fault.answered) return;
      return sendAudio(res, await transcription(form, fault.text));
    }
    const text = raw.toString('utf8');
    let body: any;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        record(req, path, undefined);
        return json(res, 400, errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null));
      }
    }

    if (path.startsWith('/_fixture/')) return control(res, method, path, body);
    record(req, path, body);

    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return json(res, 401, errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
    }
    if (method === 'GET' && path === '/v1/models') {
      counts.models++;
      return json(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'warbler-fixture' })) });
    }
    if (method === 'POST' && path === '/v1/chat/completions') {
      counts.chat++;
      if (!body || !Array.isArray(body.messages)) {
        return json(res, 400, errorBody("'messages' is a required property.", 'invalid_request_error', null, 'messages'));
      }
      const step = script.take('chat', body.model, lastUserText(body.messages));
      if (step && isFault(step) && (step.fault === 'rate_limit' || step.fault === 'status')) return sendFaultStatus(res, step, body.model);
      return body.stream === true ? streamChat(req, res, body, step) : jsonChat(req, res, body, step);
    }
    if (method === 'POST' && path === '/v1/embeddings') {
      counts.embeddings++;
      const step = script.take('embeddings', body?.model);
      if (step && isFault(step) && (step.fault === 'rate_limit' || step.fault === 'status')) return sendFaultStatus(res, step, body?.model);
      return embeddings(req, res, body ?? {}, step);
    }
    if (method === 'POST' && path === '/v1/moderations') return json(res, 200, moderation(body));
    if (method === 'POST' && path === '/v1/audio/speech') {
      counts.audio++;
      if (scriptedFault(res, 'speech', body?.model).answered) return;
      return sendAudio(res, speech(body));
    }
    // Jina and SiliconFlow (/v1/rerank), Cohere v2 (/v2/rerank, which bills search units).
    if (method === 'POST' && (path === '/v1/rerank' || path === '/v2/rerank')) {
      counts.rerank++;
      if (scriptedFault(res, 'rerank', body?.model).answered) return;
      const answer = rerank(body, tokens);
      const cohere = path === '/v2/rerank' && answer.status === 200;
      const docs = Array.isArray(body?.documents) ? body.documents.length : 0;
      return json(res, answer.status, cohere ? { ...(answer.body as object), usage: undefined, meta: { billed_units: { search_units: Math.max(1, Math.ceil(docs / 100)) } } } : answer.body);
    }
    // DashScope's native text rerank (gte-rerank): input/parameters in, output.results and usage.total_tokens out.
    if (method === 'POST' && path === '/api/v1/services/rerank/text-rerank/text-rerank') {
      counts.rerank++;
      if (scriptedFault(res, 'rerank', body?.model).answered) return;
      const answer = rerank({ model: body?.model, query: body?.input?.query, documents: body?.input?.documents, top_n: body?.parameters?.top_n }, tokens);
      if (answer.status !== 200) return json(res, answer.status, answer.body);
      const { results, usage } = answer.body as { results: unknown; usage: unknown };
      return json(res, 200, { output: { results }, usage, request_id: newId('ds-') });
    }
    const tuned = path.startsWith('/v1/fine_tuning/') ? fineTuning.handle(method, path, new URL(req.url ?? '/', 'http://x').searchParams, body) : undefined;
    if (tuned) return json(res, tuned.status, tuned.body);
    json(res, 404, errorBody(`Unknown request URL: ${method} ${path}.`, 'invalid_request_error', 'unknown_url'));
  }

  // Lets a bench or a test in another process script a fixture started from the CLI.
  function control(res: ServerResponse, method: string, path: string, body: unknown): void {
    if (method === 'POST' && path === '/_fixture/script') {
      const steps = (Array.isArray(body) ? body : [body]) as Step[];
      // JSON has no Infinity: a negative `times` means forever.
      script.push(steps.map((s) => (s.times !== undefined && s.times < 0 ? { ...s, times: Infinity } : s)));
      return json(res, 200, { queued: script.pending });
    }
    if (method === 'POST' && path === '/_fixture/reset') {
      fixture.reset();
      return json(res, 200, { ok: true });
    }
    if (method === 'GET' && path === '/_fixture/requests') return json(res, 200, { requests, counts });
    json(res, 404, errorBody('Unknown fixture control URL.', 'invalid_request_error', null));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, errorBody(`fixture error: ${String(err)}`, 'server_error', null));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const origin = `http://${host}:${addr.port}`;

  const fixture: UpstreamFixture = {
    url: `${origin}/v1`,
    origin,
    port: addr.port,
    script: (...steps) => script.push(steps),
    requests,
    counts,
    reset() {
      script.clear();
      requests.length = 0;
      promptCache?.clear();
      fineTuning.reset();
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Hung replies never end on their own; cut them so close() returns.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fixture;
}
