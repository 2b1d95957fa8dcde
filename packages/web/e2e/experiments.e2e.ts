// The console's Experiments page in Chromium: the operator starts a shadow run
// of a support agent against a cheaper model, customers' traffic flows, and
// the switching report shows the comparison and the recommendation.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, openConsole, screenshot, textOf } from './browser.ts';
import { adminApi, startWarbler, type RunningWarbler } from './warbler.ts';

const GOOD = 'Refunds are paid within 14 days to the original card [1].';

let browser: Browser;
let warbler: RunningWarbler;
let upstream: UpstreamFixture;
let agentId = '';

beforeAll(async () => {
  upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 0 } });
  upstream.script(
    { model: 'gpt-4o-mini', text: GOOD, times: Infinity },
    { model: 'qwen-turbo', text: GOOD, times: Infinity },
    { model: 'judge-mini', promptContains: 'Passages:', text: 'SUPPORTED', times: Infinity },
    { model: 'judge-mini', text: 'TIE', times: Infinity },
  );
  const config = path.join(tmpdir(), `warbler-e2e-experiments-${process.pid}.yaml`);
  await writeFile(config, [
    'routes:',
    '  qwen-turbo: { deployments: [openai/qwen-turbo] }',
    '  judge-mini: { deployments: [openai/judge-mini] }',
    'prices:',
    '  - { model: judge-mini, currency: USD, effective_from: "2024-01-01", per_million: { input: "0.10", output: "0.40" } }',
    'currency_rates: { CNY: 0.14 }',
    '',
  ].join('\n'));
  warbler = await startWarbler({ env: { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: config } });
  const kb = await adminApi(warbler.url, 'POST', '/api/knowledge-bases', { name: 'Help centre' });
  await adminApi(warbler.url, 'POST', `/api/knowledge-bases/${kb.id}/documents`, { title: 'Refunds', text: '# Refunds\n\nRefunds are paid within 14 days to the original card.' });
  agentId = (await adminApi(warbler.url, 'POST', '/api/agents', { name: 'Support Bot', model: 'gpt-4o-mini', knowledge_base_ids: [kb.id] })).id;
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
  await upstream?.close();
});

async function openExperiments(locale: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  await openConsole(page, warbler.url, { nav: 'experiments' });
  await page.locator('section.experiments').waitFor();
  return page;
}

/** Customers ask the agent: `rounds` questions each from ten of them, waiting for the shadow replays to keep up. */
async function traffic(customers: Array<{ conversationId: string; userId: string }>, rounds: number, experimentId: string) {
  for (let r = 0; r < rounds; r++) {
    const before = (await adminApi(warbler.url, 'GET', `/api/experiments/${experimentId}`)).counters.replayed as number;
    await Promise.all(customers.map((c) => adminApi(warbler.url, 'POST', `/api/conversations/${c.conversationId}/messages`, { sender_id: c.userId, content: { text: 'How long do refunds take?' } })));
    for (let i = 0; i < 150; i++) {
      const x = await adminApi(warbler.url, 'GET', `/api/experiments/${experimentId}`);
      if (x.counters.replayed >= before + customers.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('the Experiments page', () => {
  it('starts a shadow run from the console, and the report goes from "not enough data" to a recommendation as traffic flows', async () => {
    const page = await openExperiments('en-US', { width: 1280, height: 800 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.getByRole('combobox', { name: /^Agent/ }).selectOption(agentId);
    await page.getByLabel('Name', { exact: true }).fill('Cheaper model');
    await page.getByLabel('Candidate models').fill('qwen-turbo');
    await page.getByLabel('Share of turns replayed (0–1)').fill('1');
    await page.getByLabel('Judge model (optional)').fill('judge-mini');
    await page.getByLabel('Smallest change to detect (0.01–0.5)').fill('0.1');
    await page.getByLabel('Most replays a minute').fill('1000');
    await page.getByRole('button', { name: 'Start' }).click();
    const row = page.locator('tr[data-experiment="Cheaper model"]');
    await textOf(row, 'Running');
    const { experiments } = await adminApi(warbler.url, 'GET', '/api/experiments');
    const id = experiments[0].id as string;
    expect(experiments[0]).toMatchObject({ mode: 'shadow', sample_rate: 1, judge_model: 'judge-mini', candidates: [{ model: 'qwen-turbo' }] });

    const customers = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const user = await adminApi(warbler.url, 'POST', '/api/users', { name: `Customer ${i}` });
      const conv = await adminApi(warbler.url, 'POST', '/api/conversations', { kind: 'direct', member_ids: [user.id, agentId], created_by: user.id });
      return { userId: user.id as string, conversationId: conv.conversation?.id ?? conv.id };
    }));
    await traffic(customers, 1, id);
    const report = page.getByRole('region', { name: 'Report' });
    // The report of a new experiment is open already.
    await expect.poll(() => row.getByRole('button', { name: 'Report' }).getAttribute('aria-expanded')).toBe('true');
    await report.getByRole('button', { name: 'Refresh' }).click();
    const card = report.locator('[data-candidate="qwen-turbo"]');
    await textOf(card, /Not enough data yet: \d+ more turns needed/);
    await screenshot(page, 'experiments-not-enough-en-desktop');

    await traffic(customers, 7, id);
    await report.getByRole('button', { name: 'Refresh' }).click();
    await textOf(card.getByTestId('recommendation'), /^Switching Support Bot to qwen-turbo would cut cost \d+% \(±\d+%\) with no significant change in/);
    await textOf(card, 'Recommended');
    await textOf(card, 'Cost per turn');
    await textOf(card, /Per 1,000 turns: \$[\d.]+ now, ¥[\d.]+ \(≈ \$[\d.]+\) with the candidate\./);
    await textOf(card, /Projected monthly bill/);
    await screenshot(page, 'experiments-report-en-desktop');
    expect(errors).toEqual([]);

    // The same report in Chinese, and on a phone.
    for (const [locale, viewport, name] of [
      ['zh-CN', { width: 1280, height: 800 }, 'zh-CN-desktop'],
      ['zh-CN', { width: 390, height: 844 }, 'zh-CN-phone'],
      ['en-US', { width: 390, height: 844 }, 'en-phone'],
    ] as const) {
      const p = await openExperiments(locale, viewport);
      await p.locator('tr[data-experiment="Cheaper model"] button[aria-expanded]').click();
      await textOf(p.locator('[data-candidate="qwen-turbo"]'), locale === 'zh-CN' ? '建议切换' : 'Recommended');
      await p.locator('[data-candidate="qwen-turbo"]').scrollIntoViewIfNeeded();
      const width = await p.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${name} fits the screen`).toBeLessThanOrEqual(viewport.width);
      await screenshot(p, `experiments-report-${name}`);
      await p.context().close();
    }
  }, 240_000);
});
