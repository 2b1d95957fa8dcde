// Issue 16 in Chromium: an operator adds a provider key in the console, an
// agent answers with it at once (no restart), and the audit page shows the
// change with the key masked. Screens at phone and desktop size, en and zh-CN.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, openConsole, openDirect, screenshot, send, signedIn, textOf } from './browser.ts';
import { adminApi, startWarbler, type RunningWarbler } from './warbler.ts';

const KEY = 'sk-e2e-console-provider-c0ffee42';
const ANSWER = 'This answer came through the provider you just added.';

let browser: Browser;
let warbler: RunningWarbler;
let upstream: UpstreamFixture;

beforeAll(async () => {
  upstream = await startUpstreamFixture({ apiKey: KEY, defaults: { intervalMs: 0 } });
  upstream.script({ model: 'gpt-4o-mini', text: ANSWER, times: Infinity });
  const config = path.join(tmpdir(), `warbler-e2e-providers-${process.pid}.yaml`);
  // The fixture is on loopback over http: the operator allows it, as for agent tools.
  await writeFile(config, 'outbound: { allow_hosts: ["127.0.0.1"], allow_http_hosts: ["127.0.0.1"] }\n');
  warbler = await startWarbler({ env: { WARBLER_CONFIG: config } });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
  await upstream?.close();
});

describe('provider keys and the audit log in the console', () => {
  it('adds a provider key, an agent answers with it at once, and the audit page shows it masked', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openConsole(page, warbler.url, { nav: 'providers' });
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('fixture');
    await page.getByRole('combobox', { name: 'Kind' }).selectOption('openai-compatible');
    await page.getByRole('textbox', { name: 'Base URL' }).fill(upstream.url);
    await page.getByLabel('API key').fill(KEY);
    await page.locator('textarea[name="provider-models"]').fill('fixture-chat, gpt-4o-mini, 0.5, 1.5');
    await page.getByRole('button', { name: 'Add provider' }).click();
    await textOf(page.getByRole('status'), 'Provider fixture saved');
    const row = page.locator('tr[data-provider="fixture"]');
    await textOf(row, '••••ee42');
    expect(await page.content()).not.toContain(KEY);
    await row.getByRole('button', { name: 'Test' }).click();
    await textOf(row.getByRole('status'), /Answered in \d+ ms/);
    await screenshot(page, 'console-providers-desktop-en');

    // At once, no restart: an agent on the new model answers a user in the chat app.
    await adminApi(warbler.url, 'POST', '/api/agents', { id: 'console-model-agent', name: 'Console Model Agent', model: 'fixture-chat', system_prompt: 'Be brief.' });
    const ann = await signedIn(browser, warbler.url, 'Ann');
    await openDirect(ann.page, 'Console Model Agent');
    await send(ann.page, 'Which provider answers me?');
    await textOf(ann.page.locator('[data-testid="message"][data-sender="console-model-agent"]').last(), ANSWER);
    const call = upstream.requests.findLast((r) => r.path === '/v1/chat/completions')!;
    expect(call.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(ann.errors).toEqual([]);
    await ann.context.close();

    // The audit page: the provider's creation, by the operator, with the key masked.
    await page.locator('nav.console-nav a[href="/console/audit"]').click();
    await page.getByLabel('What').selectOption('provider');
    const created = page.locator('tr[data-action="provider.create"]');
    await textOf(created, 'Operator (master key)');
    await created.getByRole('button', { name: 'Changes' }).click();
    await textOf(created.locator('.audit-change'), '"api_key": "••••ee42"');
    expect(await page.content()).not.toContain(KEY);
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await textOf(page.getByRole('status'), /The chain is intact: \d+ entries checked/);
    await screenshot(page, 'console-audit-desktop-en');
    expect(errors).toEqual([]);
    await context.close();
  });

  it("exports and erases a user's data and sets retention with a preview, all in the audit log", async () => {
    await adminApi(warbler.url, 'POST', '/api/users', { id: 'erin-e2e', name: 'Erin' });
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openConsole(page, warbler.url, { nav: 'privacy' });
    await page.locator('input[name="privacy-user-id"]').fill('erin-e2e');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export (zip)' }).click()]);
    expect(download.suggestedFilename()).toBe('warbler-user-erin-e2e.zip');
    await page.getByRole('button', { name: 'Erase', exact: true }).click();
    await page.getByRole('group', { name: 'Erase user erin-e2e? This cannot be undone.' }).getByRole('button', { name: 'Erase' }).click();
    await textOf(page.getByRole('status'), /Erased: 0 messages replaced/);
    await page.locator('input[name="retention-support"]').fill('180');
    await page.getByRole('button', { name: 'Save' }).click();
    await textOf(page.getByTestId('retention-preview'), 'Enforcing now would remove 0 conversations, 0 messages and 0 files.');
    await screenshot(page, 'console-privacy-desktop-en');
    await page.locator('nav.console-nav a[href="/console/audit"]').click();
    await textOf(page.locator('tr[data-action="retention_policy.update"]'), 'Operator (master key)');
    await textOf(page.locator('tr[data-action="user_data.erase"]'), /subject_[0-9a-f]{24}/);
    await textOf(page.locator('tr[data-action="user_data.export"]'), /subject_[0-9a-f]{24}/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('fits a phone and reads in Chinese', async () => {
    for (const [locale, viewport, size] of [
      ['zh-CN', { width: 390, height: 844 }, 'phone'], ['en-US', { width: 390, height: 844 }, 'phone'], ['zh-CN', { width: 1280, height: 800 }, 'desktop'],
    ] as const) {
      const context = await browser.newContext({ locale, viewport });
      const page = await context.newPage();
      const tag = `${size}-${locale === 'zh-CN' ? 'zh' : 'en'}`;
      await openConsole(page, warbler.url, { locale: locale === 'zh-CN' ? 'zh-CN' : 'en', nav: 'providers' });
      await textOf(page.locator('h1'), locale === 'zh-CN' ? '供应商密钥' : 'Provider keys');
      await textOf(page.locator('tr[data-provider="fixture"]'), '••••ee42');
      // Nothing wider than the screen: the table scrolls in its own box.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, `console-providers-${tag}`);
      await page.locator('nav.console-nav a[href="/console/audit"]').click();
      await textOf(page.locator('h1'), locale === 'zh-CN' ? '审计日志' : 'Audit log');
      await textOf(page.locator('tr[data-action="provider.create"]'), locale === 'zh-CN' ? '运维（主密钥）' : 'Operator (master key)');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, `console-audit-${tag}`);
      await page.locator('nav.console-nav a[href="/console/privacy"]').click();
      await textOf(page.locator('h1'), locale === 'zh-CN' ? '数据与保留' : 'Data & retention');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, `console-privacy-${tag}`);
      await context.close();
    }
  });
});
