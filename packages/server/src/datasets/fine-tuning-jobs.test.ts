import { describe, expect, it } from 'vitest';
import type { DatasetStore } from './dataset-store.ts';
import { FineTuningJobs } from './fine-tuning-jobs.ts';

describe('fine-tuning pass-through without OpenAI', () => {
  const jobs = new FineTuningJobs({ store: {} as DatasetStore, upstream: () => undefined, now: Date.now });

  it('answers every call with an OpenAI-shaped 400 that says how to turn it on, and not to retry', async () => {
    for (const call of [() => jobs.create('app', null, { model: 'gpt-4o-mini', training_file: 'file-1' }), () => jobs.retrieve('app', 'ftjob-1')]) {
      const err = await call().then(() => undefined, (e: unknown) => e as { status: number; toJSON(): unknown; headers?: Record<string, string> });
      expect(err?.status).toBe(400);
      expect(err?.headers).toMatchObject({ 'x-should-retry': 'false' });
      expect(err?.toJSON()).toMatchObject({ error: { type: 'invalid_request_error', code: 'fine_tuning_not_supported', message: expect.stringContaining('OPENAI_API_KEY') } });
    }
  });

  it('refuses a body without the model or the training file before calling anyone', async () => {
    await expect(jobs.create('app', null, { training_file: 'file-1' })).rejects.toMatchObject({ status: 400, param: 'model' });
    await expect(jobs.create('app', null, { model: 'gpt-4o-mini' })).rejects.toMatchObject({ status: 400, param: 'training_file' });
  });
});
