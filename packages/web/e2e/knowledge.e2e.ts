import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makePdf } from '../../server/test/kb-files.ts';
import { launch, screenshot, textOf } from './browser.ts';
import { adminApi, MASTER_KEY } from './warbler.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function openKnowledge(page: Page, zh: boolean, kbName: string): Promise<void> {
  await page.goto(url + '/console');
  await page.getByLabel(zh ? '主密钥' : 'Master key').fill(MASTER_KEY);
  await page.getByRole('button', { name: zh ? '登录' : 'Sign in', exact: true }).click();
  await page.getByRole('link', { name: zh ? '知识库' : 'Knowledge bases' }).click();
  await page.getByRole('button', { name: new RegExp(kbName) }).click();
}

describe('console: files, uploads and FAQs of a knowledge base', () => {
  it('uploads a PDF and a scan, shows each status (ready; failed with its reason, retry), adds an FAQ; desktop in English', async () => {
    const kb = await adminApi<{ id: string }>(url, 'POST', '/api/knowledge-bases', { name: 'Harbour manual' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openKnowledge(page, false, 'Harbour manual');

    const pdf = makePdf([['Mooring fees', 'A berth costs 40 euros a night, paid at the harbour office.'], ['Fuel', 'The fuel dock opens at six.']], { title: 'Harbour manual' });
    await page.getByTestId('kb-upload').setInputFiles({ name: 'harbour.pdf', mimeType: 'application/pdf', buffer: Buffer.from(pdf) });
    await textOf(page.getByTestId('kb-uploaded'), /Queued harbour\.pdf/);
    await page.locator('tr[data-upload="harbour.pdf"][data-status="ready"]').waitFor({ timeout: 60_000 });
    // Ready: the document is listed, and the search test finds its page.
    await page.locator('tr[data-doc="Harbour manual"]').waitFor();
    await page.getByRole('textbox', { name: 'Test a question' }).fill('berth euros night');
    await page.getByRole('button', { name: 'Search' }).click();
    await textOf(page.getByTestId('kb-search-result'), /Page 1/);

    await page.getByTestId('kb-upload').setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.from(makePdf([[]])) });
    const scan = page.locator('tr[data-upload="scan.pdf"][data-status="failed"]');
    await scan.waitFor({ timeout: 60_000 });
    await textOf(scan, /No text found: this PDF holds only images/);
    await scan.getByRole('button', { name: 'Retry' }).click();
    await page.locator('tr[data-upload="scan.pdf"][data-status="failed"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('kb-uploads').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-knowledge-uploads-en');

    const faq = page.getByTestId('kb-faq-add');
    await faq.getByLabel('Question').fill('How much is a berth?');
    await faq.getByLabel('Answer').fill('40 euros a night, paid at the harbour office.');
    await faq.getByRole('button', { name: 'Add FAQ' }).click();
    await textOf(page.getByTestId('kb-faqs'), /How much is a berth\?/);
    const faqs = await adminApi<{ faqs: Array<{ question: string }> }>(url, 'GET', `/api/knowledge-bases/${kb.id}/faqs`);
    expect(faqs.faqs.map((f) => f.question)).toEqual(['How much is a berth?']);
    await page.getByTestId('kb-faqs').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-knowledge-faqs-en');
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it('fits a phone in Chinese: statuses, settings and FAQs, nothing sideways', async () => {
    await adminApi(url, 'POST', '/api/knowledge-bases', { name: '港口手册' });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
    const page = await context.newPage();
    await openKnowledge(page, true, '港口手册');
    await page.getByTestId('kb-upload').setInputFiles({ name: '扫描件.pdf', mimeType: 'application/pdf', buffer: Buffer.from(makePdf([[]])) });
    await page.locator('tr[data-status="failed"]').waitFor({ timeout: 60_000 });
    await textOf(page.getByTestId('kb-uploads'), /失败/);
    await page.getByText('设置', { exact: true }).click();
    await page.getByTestId('kb-settings').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'console-knowledge-phone-zh');
    await page.getByTestId('kb-uploads').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-knowledge-uploads-phone-zh');
    await page.getByTestId('kb-faqs').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-knowledge-faqs-phone-zh');
    await context.close();
  }, 120_000);

  it('adds a website, shows why its run failed, and removes it; desktop in English and a phone in Chinese', async () => {
    // This server's outbound policy allows no loopback or private address: the run is refused with the policy's reason.
    await adminApi(url, 'POST', '/api/knowledge-bases', { name: 'Marina site' });
    for (const [zh, viewport] of [[false, { width: 1280, height: 800 }], [true, { width: 390, height: 844 }]] as const) {
      const context = await browser.newContext({ viewport, locale: zh ? 'zh-CN' : 'en-US' });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await openKnowledge(page, zh, 'Marina site');
      const form = page.getByTestId('kb-web-add');
      await form.getByLabel(zh ? '网址' : 'Web address').fill('http://169.254.169.254/help/');
      await form.getByLabel(zh ? '链接深度' : 'Links deep').fill('1');
      await form.getByRole('button', { name: zh ? '添加网站' : 'Add website' }).click();
      const row = page.locator('li[data-source="http://169.254.169.254/help/"][data-status="failed"]');
      await row.waitFor({ timeout: 60_000 });
      await textOf(row, /169\.254\.169\.254/);
      await textOf(row, zh ? /失败/ : /Failed/);
      await row.scrollIntoViewIfNeeded();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, zh ? 'console-knowledge-web-phone-zh' : 'console-knowledge-web-en');
      await row.getByRole('button', { name: zh ? '删除' : 'Delete' }).click();
      await row.getByRole('group').getByRole('button', { name: zh ? '删除' : 'Delete' }).click();
      await expect.poll(() => page.locator('li[data-source]').count(), { timeout: 15_000 }).toBe(0);
      expect(errors).toEqual([]);
      await context.close();
    }
  }, 180_000);
});
