// OpenAI's fine-tuning jobs wire format, in memory: create (validating_files),
// list (newest first, `after` cursor), retrieve, cancel and events. A job
// never trains; it waits until cancelled, which is all a pass-through needs.
import { errorBody } from './wire.ts';

interface Job {
  object: 'fine_tuning.job';
  id: string;
  model: string;
  created_at: number;
  finished_at: number | null;
  fine_tuned_model: string | null;
  organization_id: string;
  result_files: string[];
  status: 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  validation_file: string | null;
  training_file: string;
  hyperparameters: { n_epochs: string | number; batch_size: string | number; learning_rate_multiplier: string | number };
  trained_tokens: number | null;
  error: null;
  user_provided_suffix: string | null;
  seed: number;
  estimated_finish: number | null;
  integrations: unknown[];
  metadata: Record<string, string> | null;
  method: unknown;
}

interface Event {
  object: 'fine_tuning.job.event';
  id: string;
  created_at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  data: Record<string, unknown>;
  type: 'message' | 'metrics';
}

export interface Answer {
  status: number;
  body: unknown;
}

export class FineTuningJobs {
  private readonly jobs: Job[] = [];
  private readonly events = new Map<string, Event[]>();
  private seq = 0;

  /** Answers a request under /v1/fine_tuning/jobs; undefined for any other path. */
  handle(method: string, path: string, query: URLSearchParams, body: any): Answer | undefined {
    const m = path.match(/^\/v1\/fine_tuning\/jobs(?:\/([^/]+)(?:\/(cancel|events))?)?$/);
    if (!m) return undefined;
    const [, id, action] = m;
    if (!id && method === 'POST') return this.create(body);
    if (!id && method === 'GET') return this.page(this.jobs.slice().reverse(), query);
    const job = this.jobs.find((j) => j.id === id);
    if (!job) return { status: 404, body: errorBody(`No such fine-tuning job: ${id}`, 'invalid_request_error', 'fine_tune_not_found') };
    if (!action && method === 'GET') return { status: 200, body: job };
    if (action === 'cancel' && method === 'POST') return this.cancel(job);
    if (action === 'events' && method === 'GET') return this.page((this.events.get(job.id) ?? []).slice().reverse(), query, 'fine_tuning.job.event');
    return undefined;
  }

  reset(): void {
    this.jobs.length = 0;
    this.events.clear();
  }

  private create(body: any): Answer {
    if (typeof body?.model !== 'string') return { status: 400, body: errorBody('Missing required parameter: \'model\'.', 'invalid_request_error', 'missing_required_parameter', 'model') };
    if (typeof body?.training_file !== 'string') {
      return { status: 400, body: errorBody('Missing required parameter: \'training_file\'.', 'invalid_request_error', 'missing_required_parameter', 'training_file') };
    }
    const now = Math.floor(Date.now() / 1000);
    const job: Job = {
      object: 'fine_tuning.job', id: `ftjob-${(++this.seq).toString().padStart(6, '0')}${Date.now().toString(36)}`, model: body.model, created_at: now,
      finished_at: null, fine_tuned_model: null, organization_id: 'org-fixture', result_files: [], status: 'validating_files',
      validation_file: typeof body.validation_file === 'string' ? body.validation_file : null, training_file: body.training_file,
      hyperparameters: { n_epochs: 'auto', batch_size: 'auto', learning_rate_multiplier: 'auto', ...(body.hyperparameters ?? {}) },
      trained_tokens: null, error: null, user_provided_suffix: typeof body.suffix === 'string' ? body.suffix : null, seed: Number(body.seed ?? 42),
      estimated_finish: null, integrations: [], metadata: body.metadata ?? null,
      method: body.method ?? { type: 'supervised', supervised: { hyperparameters: { n_epochs: 'auto', batch_size: 'auto', learning_rate_multiplier: 'auto' } } },
    };
    this.jobs.push(job);
    this.event(job, `Created fine-tuning job: ${job.id}`);
    this.event(job, `Validating training file: ${job.training_file}`);
    return { status: 200, body: job };
  }

  private cancel(job: Job): Answer {
    if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled') {
      return { status: 400, body: errorBody(`Job ${job.id} has already completed.`, 'invalid_request_error', 'invalid_state') };
    }
    job.status = 'cancelled';
    job.finished_at = Math.floor(Date.now() / 1000);
    this.event(job, 'Fine-tuning job cancelled');
    return { status: 200, body: job };
  }

  private event(job: Job, message: string): void {
    const list = this.events.get(job.id) ?? [];
    list.push({ object: 'fine_tuning.job.event', id: `ftevent-${(++this.seq).toString().padStart(8, '0')}`, created_at: Math.floor(Date.now() / 1000), level: 'info', message, data: {}, type: 'message' });
    this.events.set(job.id, list);
  }

  /** OpenAI's cursor page: newest first, items after the `after` id, `limit` (default 20). */
  private page<T extends { id: string }>(newestFirst: T[], query: URLSearchParams, _kind?: string): Answer {
    const after = query.get('after');
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 20) || 20, 1), 100);
    const start = after ? newestFirst.findIndex((x) => x.id === after) + 1 : 0;
    const data = newestFirst.slice(start, start + limit);
    return { status: 200, body: { object: 'list', data, has_more: start + limit < newestFirst.length } };
  }
}
