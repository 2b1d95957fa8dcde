import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT, startWarbler } from './warbler.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    warblerUrl: string;
  }
}

/** One offline Warbler (local/kb-answer only) for every file that needs no special server. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(path.join(ROOT, 'packages/web/dist/index.html'))) {
    throw new Error('The web app is not built: run `npm run build:web` (npm run test:e2e does it first).');
  }
  const warbler = await startWarbler();
  project.provide('warblerUrl', warbler.url);
  return () => warbler.dispose();
}
