// /v1/fine_tuning/jobs passed through to OpenAI, the provider with
// fine-tuning behind an OpenAI-compatible API, with the OpenAI preset's base
// URL and key. Each job created here is recorded with the app that made it:
// every app shares the one upstream account, so an app lists, reads and
// cancels only its own jobs. Without an OpenAI provider every call gets an
// OpenAI-shaped 400 that says so.
import { OpenAiError, invalidRequest } from '../gateway/index.ts';
import type { DatasetStore } from './dataset-store.ts';

export interface FineTuningUpstream {
  baseURL: string;
  apiKey: string;
  headers?: Record<string, string>;
}

export interface FineTuningDeps {
  store: DatasetStore;
  /** The OpenAI preset's options; undefined when no OpenAI provider is configured. */
  upstream: () => FineTuningUpstream | undefined;
  now: () => number;
  timeoutMs?: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class FineTuningJobs {
  constructor(private readonly deps: FineTuningDeps) {}

  async create(appId: string, keyId: string | null, body: unknown): Promise<Json> {
    if (!isObject(body)) throw invalidRequest('The body must be a JSON object with "model" and "training_file".');
    if (typeof body.model !== 'string' || body.model.length === 0) throw invalidRequest('model is required: the base model to fine-tune, e.g. "gpt-4o-mini-2024-07-18".', 'model');
    if (typeof body.training_file !== 'string' || body.training_file.length === 0) {
      throw invalidRequest('training_file is required: the id of a file uploaded to OpenAI with purpose "fine-tune" (export one from a dataset: GET /api/datasets/{id}/export).', 'training_file');
    }
    const job = await this.call('POST', '/fine_tuning/jobs', body);
    if (typeof job.id !== 'string') throw upstreamBroken('the created job has no id');
    await this.deps.store.addFineTuningJob(appId, job.id, keyId, this.deps.now());
    return job;
  }

  async list(appId: string, page: { after?: string; limit: number }): Promise<Json> {
    const ids = await this.deps.store.fineTuningJobs(appId, { ...(page.after && { after: page.after }), limit: page.limit + 1 });
    const data = await Promise.all(ids.slice(0, page.limit).map((id) => this.call('GET', `/fine_tuning/jobs/${id}`)));
    return { object: 'list', data, has_more: ids.length > page.limit };
  }

  async retrieve(appId: string, id: string): Promise<Json> {
    await this.own(appId, id);
    return this.call('GET', `/fine_tuning/jobs/${id}`);
  }

  async cancel(appId: string, id: string): Promise<Json> {
    await this.own(appId, id);
    return this.call('POST', `/fine_tuning/jobs/${id}/cancel`, {});
  }

  async events(appId: string, id: string, page: { after?: string; limit: number }): Promise<Json> {
    await this.own(appId, id);
    const query = new URLSearchParams({ limit: String(page.limit), ...(page.after && { after: page.after }) });
    return this.call('GET', `/fine_tuning/jobs/${id}/events?${query}`);
  }

  private async own(appId: string, id: string): Promise<void> {
    this.upstream();
    if (!JOB_ID.test(id) || !(await this.deps.store.ownsFineTuningJob(appId, id))) {
      throw new OpenAiError(404, `No fine-tuning job ${id.slice(0, 128)} was created with this app's keys.`, 'invalid_request_error', 'fine_tuning_job_not_found', 'fine_tuning_job_id');
    }
  }

  private upstream(): FineTuningUpstream {
    const upstream = this.deps.upstream();
    if (!upstream) {
      throw new OpenAiError(400,
        'Fine-tuning is not available on this server: it is passed through to OpenAI, and no OpenAI provider is configured ' +
          '(set OPENAI_API_KEY, or add a provider with preset: openai to warbler.yaml). DeepSeek, Qwen, Doubao, Ollama and the ' +
          'local models offer no OpenAI fine-tuning API.',
        'invalid_request_error', 'fine_tuning_not_supported', null, { 'x-should-retry': 'false' });
    }
    return upstream;
  }

  /** One upstream call; OpenAI's own errors come back as they are (status, message, code). */
  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Json> {
    const upstream = this.upstream();
    let res: Response;
    try {
      res = await fetch(`${upstream.baseURL.replace(/\/+$/, '')}${path}`, {
        method,
        headers: { ...upstream.headers, authorization: `Bearer ${upstream.apiKey}`, accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.deps.timeoutMs ?? 60_000),
      });
    } catch (err) {
      throw new OpenAiError(502, `OpenAI could not be reached for fine-tuning: ${(err as Error).message}. Try again in a moment.`, 'api_error', 'upstream_unreachable');
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw upstreamBroken(`HTTP ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = isObject(parsed) && isObject(parsed.error) ? parsed.error : {};
      const str = (v: unknown) => (typeof v === 'string' ? v : null);
      throw new OpenAiError(res.status, str(e.message) ?? `OpenAI answered HTTP ${res.status}.`, str(e.type) ?? 'api_error', str(e.code), str(e.param));
    }
    if (!isObject(parsed)) throw upstreamBroken('the answer is not a JSON object');
    return parsed;
  }
}

const upstreamBroken = (what: string) => new OpenAiError(502, `OpenAI's fine-tuning answer could not be read: ${what}.`, 'api_error', 'upstream_malformed');
