// HTTP to one OpenAI-compatible upstream: JSON posts and server-sent event
// streams over a keep-alive undici pool. Not the `openai` SDK over fetch: its
// WHATWG streams and iterator layers cost about twice the CPU per streamed
// chunk and per request (docs/decisions/0005-upstream-transport.md), which a
// gateway and hundreds of streaming agents pay on every call.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';
import { abortError, type StopSignal } from './abort.ts';
import { internalError, isLocalFault, LlmError, parseRetryAfter } from './errors.ts';

export interface UpstreamHttpOptions {
  baseURL: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** A last-resort cap on waiting for headers and between body bytes; the router's deadlines are the ones meant to fire. */
  timeoutMs?: number;
  /** Where requests go instead of the built-in pool (tests, mTLS, custom proxies). */
  dispatcher?: Dispatcher;
  /** Read for HTTPS_PROXY / HTTP_PROXY / NO_PROXY; default process.env. */
  env?: Record<string, string | undefined>;
}

type Headers = Record<string, string | string[] | undefined>;

const firstValue = (v: string | string[] | undefined): string | null => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));
const headerReader = (headers: Headers) => ({ get: (name: string) => firstValue(headers[name]) });

/** The message and code of an OpenAI-style error object (`{message, code, type}`); the code falls back to the type. */
function errorFields(error: object): { message?: string; code?: string } {
  const o = error as { message?: unknown; code?: unknown; type?: unknown };
  const code = typeof o.code === 'string' ? o.code : typeof o.type === 'string' ? o.type : undefined;
  return { ...(typeof o.message === 'string' ? { message: o.message } : {}), ...(code ? { code } : {}) };
}

/** The LlmError for an upstream's non-2xx answer, with its own message and code when the body has them. */
export function statusError(status: number, headers: Headers, bodyText: string): LlmError {
  let detail = bodyText.trim().slice(0, 500) || `HTTP ${status}`;
  let code: string | undefined;
  try {
    const parsed = JSON.parse(bodyText) as { error?: unknown; message?: unknown };
    const e = parsed.error;
    if (e && typeof e === 'object') {
      const fields = errorFields(e);
      detail = fields.message ?? detail;
      code = fields.code;
    } else if (typeof e === 'string') detail = e;
    else if (typeof parsed.message === 'string') detail = parsed.message;
  } catch {
    // Not JSON (a proxy's HTML page, say): the text itself is the best detail.
  }
  const init = { status, ...(code ? { code } : {}) };
  if (status === 429) return new LlmError('rate_limited', `The provider is rate limiting us: ${detail}`, { ...init, ...retryAfter(headers) });
  if (status === 400 || status === 413 || status === 422) return new LlmError('bad_request', `The provider rejected the request: ${detail}`, init);
  if (status === 401 || status === 403) return new LlmError('auth', `The provider refused our key; check the provider's API key: ${detail}`, init);
  if (status === 404) return new LlmError('not_found', `The provider does not know this model: ${detail}`, init);
  if (status === 408) return new LlmError('timeout', `The provider timed out: ${detail}`, init);
  // 5xx, 409 (OpenAI's lock timeouts) and anything else unexpected.
  return new LlmError('server', `The provider failed: ${detail}`, init);
}

function retryAfter(headers: Headers): { retryAfterMs?: number } {
  const ms = parseRetryAfter(headerReader(headers));
  return ms === undefined ? {} : { retryAfterMs: ms };
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Maps what the transport threw to an LlmError. `streaming` says the answer
 * had begun: a broken socket then is a cut stream, not a connection error.
 */
export function transportError(err: unknown, signal: StopSignal | undefined, streaming: boolean): LlmError {
  if (err instanceof LlmError) return err;
  if (signal?.aborted) return abortError(signal);
  if (err instanceof SyntaxError) return new LlmError('malformed', 'The provider sent a reply that is not valid JSON.', { cause: err });
  // Not the network: our own code failed (once reported as "Could not reach the provider: Maximum call stack size
  // exceeded", and counted against the deployment, so a hostile body could open its circuit).
  if (isLocalFault(err)) return internalError(err, 'talking to the provider');
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return new LlmError('timeout', `The provider did not answer in time: ${message}`, { cause: err });
  return streaming
    ? new LlmError('cut_stream', `The provider's stream broke off: ${message}`, { cause: err })
    : new LlmError('connection', `Could not reach the provider: ${message}`, { cause: err });
}

function defaultDispatcher(origin: string, env: Record<string, string | undefined>): Dispatcher {
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  // Enterprises reach providers through their proxy; EnvHttpProxyAgent honours NO_PROXY. It is given the env read
  // here, not left to read process.env itself, so an injected env decides both whether and how to proxy.
  if (origin.startsWith('https:') ? httpsProxy : httpProxy) {
    return new EnvHttpProxyAgent({ ...(httpProxy ? { httpProxy } : {}), ...(httpsProxy ? { httpsProxy } : {}), ...(noProxy ? { noProxy } : {}) });
  }
  // Unbounded connections: a streaming reply holds one for its whole length, and a cap would queue agents behind each other.
  return new Pool(origin, { keepAliveTimeout: 10_000 });
}

export class UpstreamHttp {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: UpstreamHttpOptions) {
    const url = new URL(options.baseURL);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.headers = {
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    };
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher = options.dispatcher ?? defaultDispatcher(this.origin, options.env ?? process.env);
  }

  private send(path: string, body: unknown, signal: StopSignal | undefined, accept?: string): Promise<Dispatcher.ResponseData> {
    let text: string;
    try {
      text = JSON.stringify(body);
    } catch (err) {
      // Too deep, circular or a BigInt: the request, not the provider, is at fault.
      throw internalError(err, 'preparing the request for the provider');
    }
    return this.dispatcher.request({
      origin: this.origin,
      path: this.basePath + path,
      method: 'POST',
      headers: accept ? { ...this.headers, accept } : this.headers,
      body: text,
      // undici follows any object with an 'abort' event and its state (api-request.js), not only an AbortSignal.
      ...(signal ? { signal: signal as AbortSignal } : {}),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  /**
   * POSTs a body already encoded (a multipart upload, or JSON for an answer
   * that is not JSON, such as audio) and returns the answer's bytes and
   * content type; throws an LlmError for a non-2xx answer or a broken socket.
   */
  async postBytes(path: string, body: Buffer | string, contentType: string, signal?: AbortSignal): Promise<{ bytes: Buffer; contentType: string }> {
    try {
      const res = await this.dispatcher.request({
        origin: this.origin,
        path: this.basePath + path,
        method: 'POST',
        headers: { ...this.headers, 'content-type': contentType, accept: '*/*' },
        body,
        ...(signal ? { signal } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode < 200 || res.statusCode >= 300) throw statusError(res.statusCode, res.headers, bytes.toString('utf8'));
      return { bytes, contentType: firstValue(res.headers['content-type']) ?? 'application/octet-stream' };
    } catch (err) {
      throw transportError(err, signal, false);
    }
  }

  /** POSTs a JSON body and returns the parsed JSON answer; throws an LlmError for anything else. */
  async postJson(path: string, body: unknown, signal?: StopSignal): Promise<unknown> {
    return (await this.postJsonText(path, body, signal)).json;
  }

  /** postJson(), with the answer's text as well (what a relay can send on as it came). */
  async postJsonText(path: string, body: unknown, signal?: StopSignal): Promise<{ json: unknown; text: string }> {
    try {
      const res = await this.send(path, body, signal);
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) throw statusError(res.statusCode, res.headers, text);
      return { json: JSON.parse(text) as unknown, text };
    } catch (err) {
      throw transportError(err, signal, false);
    }
  }

  /**
   * POSTs a JSON body and reads the answer as server-sent events, yielding the
   * parsed `data` of the events that arrived together in one socket read (so
   * a backlog costs one hop, not one per event). Ends at `[DONE]` or when the
   * server closes; an `error` object in the stream, a non-2xx status or a
   * broken socket throw an LlmError.
   */
  async *postEvents(path: string, body: unknown, signal?: StopSignal): AsyncGenerator<unknown[]> {
    let streaming = false;
    let res: Dispatcher.ResponseData | undefined;
    try {
      res = await this.send(path, body, signal, 'text/event-stream');
      if (res.statusCode < 200 || res.statusCode >= 300) throw statusError(res.statusCode, res.headers, await res.body.text());
      streaming = true;
      let batch: unknown[] = [];
      let done = false;
      // Held until the events before it in the same read are handed over: what arrived intact is delivered.
      let failure: unknown;
      const parser = createParser({
        onEvent: (event: EventSourceMessage) => {
          if (done || failure !== undefined) return;
          if (event.data === '[DONE]') {
            done = true;
            return;
          }
          try {
            const data = JSON.parse(event.data) as { error?: unknown } | null;
            if (data && typeof data === 'object' && data.error) failure = streamedError(data.error);
            else batch.push(data);
          } catch (err) {
            failure = err;
          }
        },
      });
      // A character split across two reads is held back by the decoder, not garbled.
      const decoder = new TextDecoder();
      for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(bytes, { stream: true }));
        if (batch.length > 0) {
          const out = batch;
          batch = [];
          yield out;
        }
        if (failure !== undefined) throw failure;
        // After [DONE] the loop reads on to the end of the body, so the connection goes back to the pool.
      }
    } catch (err) {
      throw transportError(err, signal, streaming);
    } finally {
      // Stopping early (the consumer returned, or an error) must not leave the socket half read.
      if (res && !res.body.readableEnded && !res.body.destroyed) res.body.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

/** An error the provider sent inside the stream (`data: {"error": {...}}`): no status, so a server failure. */
function streamedError(error: unknown): LlmError {
  const { message = 'unknown error', code } = errorFields(typeof error === 'object' && error !== null ? error : { message: String(error) });
  return new LlmError('server', `The provider failed mid-stream: ${message}`, code ? { code } : {});
}
