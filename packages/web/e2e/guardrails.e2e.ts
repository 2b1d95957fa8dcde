// Issue 17 in Chromium: a /v1 call refused by a sensitive-word list, one with
// personal data masked and one flagged show on the console's Guardrails page
// with the rule, the key and a masked excerpt; filtered by action and rule.
// Screens at desktop and phone size, en and zh-CN.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, openConsole, screenshot, textOf } from './browser.ts';
import { adminApi, startWarbler, type RunningWarbler } from './warbler.ts';

const UPSTREAM_KEY = 'sk-e2e-guardrails-fixture';
const CONFIG = [
  'guardrails:',
  '  lists:',
  '    illegal: { action: block, words: [赌博, money laundering] }',
  '    watch: { action: flag, words: [competitor] }',
  '  pii: { mask: [mobile, email], restore_in_reply: true }',
  '',
].join('\n');

let browser: Browser;
let warbler: RunningWarbler;
let upstream: UpstreamFixture;
let key: { id: string; secret: string };

beforeAll(async () => {
  upstream = await startUpstreamFixture({ apiKey: UPSTREAM_KEY, defaults: { intervalMs: 0 } });
  const config = path.join(tmpdir(), `warbler-e2e-guardrails-${process.pid}.yaml`);
  await writeFile(config, CONFIG);
  warbler = await startWarbler({ env: { WARBLER_CONFIG: config, OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: upstream.url } });
  const created = await adminApi<{ key: { id: string }; secret: string }>(warbler.url, 'POST', '/api/gateway/keys', { name: 'Storefront bot' });
  key = { id: created.key.id, secret: created.secret };
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
  await upstream?.close();
});

/** A /v1 chat completion with the key, as any OpenAI client sends it. */
async function complete(content: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${warbler.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  return { status: res.status, body: await res.json() };
}

describe('guardrail interventions in the console', () => {
  it('shows a call refused on /v1 with its rule, key and a masked excerpt, and filters by action and rule', async () => {
    const blocked = await complete('How do I start money laundering? Call me on 13800138000.');
    expect(blocked.status).toBe(400);
    expect(blocked.body.error.code).toBe('content_policy_violation');
    expect((await complete('Mail the invoice to ann@example.com please')).status).toBe(200);
    expect((await complete('Is the competitor cheaper?')).status).toBe(200);

    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openConsole(page, warbler.url, { nav: 'guardrails' });
    await textOf(page.locator('h1'), 'Guardrail interventions');
    const row = page.locator('tr[data-action="block"]');
    await textOf(row, 'words:illegal');
    await textOf(row, 'Blocked');
    await textOf(row, 'Key: Storefront bot');
    await textOf(row, '/v1 API');
    await textOf(row, 'word: money laundering');
    // Where, never what: the excerpt masks the word and the number.
    await textOf(row.locator('q'), 'How do I start ***');
    await expect.poll(() => row.locator('q').textContent()).not.toMatch(/13800138000|laundering/);
    await textOf(page.locator('tr[data-rule="pii:email"]'), '[EMAIL_1]');
    expect(await page.locator('table[data-testid="guardrail-interventions"]').textContent()).not.toContain('ann@example.com');
    await screenshot(page, 'console-guardrails-desktop-en');

    await page.getByLabel('Action').selectOption('block');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await textOf(page.locator('tbody tr'), 'words:illegal');
    await page.getByLabel('Action').selectOption('');
    await page.getByLabel('Rule').selectOption('words:watch');
    await expect.poll(() => page.locator('tbody tr').getAttribute('data-action')).toBe('flag');
    await textOf(page.locator('tbody tr'), 'Flagged');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('fits a phone and reads in Chinese', async () => {
    for (const [locale, viewport, size] of [
      ['zh-CN', { width: 390, height: 844 }, 'phone'], ['en-US', { width: 390, height: 844 }, 'phone'], ['zh-CN', { width: 1280, height: 800 }, 'desktop'],
    ] as const) {
      const context = await browser.newContext({ locale, viewport });
      const page = await context.newPage();
      await openConsole(page, warbler.url, { locale: locale === 'zh-CN' ? 'zh-CN' : 'en', nav: 'guardrails' });
      await textOf(page.locator('h1'), locale === 'zh-CN' ? '内容安全拦截记录' : 'Guardrail interventions');
      await textOf(page.locator('tr[data-action="block"]'), locale === 'zh-CN' ? '已拦截' : 'Blocked');
      // Nothing wider than the screen: the table scrolls in its own box.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, `console-guardrails-${size}-${locale === 'zh-CN' ? 'zh' : 'en'}`);
      await context.close();
    }
  });
});
