import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeFindings, launch, openDirect, screenshot, send, signedIn, textOf } from './browser.ts';
import { adminApi, freePort } from './warbler.ts';

const url = inject('warblerUrl');
const AGENT = 'Citation Guide';

// A passage with a code block and a literal "[1]" of its own: the dialog must show both as written.
const LANTERN = [
  '# Lantern wicks',
  '',
  'Trim the lantern wick before lighting it. Footnote [1] in the maker\'s manual is about the old model.',
  '',
  '```sh',
  'lantern trim --length 3mm',
  'lantern light --slow',
  '```',
  '',
  '## 灯芯更换',
  '',
  '更换灯芯前先让灯罩冷却十分钟，再拧下灯头。',
].join('\n');

let browser: Browser;
let agentId: string;

beforeAll(async () => {
  browser = await launch();
  const kb = await adminApi(url, 'POST', '/api/knowledge-bases', { name: 'Citations e2e' });
  await adminApi(url, 'POST', `/api/knowledge-bases/${kb.id}/documents`, { title: 'Lantern care', source: 'lantern-care.md', text: LANTERN });
  agentId = (await adminApi(url, 'POST', '/api/agents', { name: AGENT, model: 'local/kb-answer', knowledge_base_ids: [kb.id], top_k: 3 })).id;
});
afterAll(async () => {
  await browser?.close();
});

const CASES = [
  { locale: 'en-US', tag: 'en', question: 'How do I trim the lantern wick?', viewDocument: 'View the whole document', where: null },
  { locale: 'zh-CN', tag: 'zh', question: '灯芯更换前要做什么？', viewDocument: '查看完整文档', where: '灯芯更换' },
] as const;
const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 860 } },
  { name: 'phone', viewport: { width: 390, height: 844 } },
] as const;

describe('a citation opens the cited passage in a dialog', () => {
  for (const c of CASES) {
    for (const v of VIEWPORTS) {
      it(`shows the passage whole, where it is, and the document (${c.tag}, ${v.name})`, async () => {
        const person = await signedIn(browser, url, `Reader ${c.tag} ${v.name}`, { locale: c.locale, viewport: v.viewport });
        const { page } = person;
        await openDirect(page, AGENT);
        await send(page, c.question);
        const reply = page.locator(`[data-testid="message"][data-sender="${agentId}"]`).last();
        await expect.poll(() => reply.getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');

        // The marker in the text is a link; the literal "[1]" quoted from the manual is not.
        const markers = reply.locator('.markdown a.cite');
        expect(await markers.count()).toBeGreaterThan(0);
        if (c.tag === 'en') {
          const quote = reply.locator('.markdown blockquote').filter({ hasText: 'Footnote [1]' });
          await textOf(quote, 'Footnote [1] in the maker');
          expect(await quote.locator('a.cite').count()).toBe(0);
        }

        await markers.first().click();
        const dialog = page.getByRole('dialog', { name: /^\[\d\] Lantern care$/ });
        await dialog.waitFor();
        // Modal: focus is inside it.
        expect(await dialog.evaluate((d) => d.contains(document.activeElement) && (d as HTMLDialogElement).open)).toBe(true);
        const passage = dialog.getByTestId('citation-passage');
        if (c.tag === 'en') {
          // Rendered Markdown, the code block whole, the passage's own "[1]" as text.
          await textOf(passage.locator('pre code'), 'lantern trim --length 3mm\nlantern light --slow');
          await textOf(passage, 'Footnote [1] in the maker');
          expect(await passage.locator('a').count()).toBe(0);
        } else {
          await textOf(passage, '更换灯芯前先让灯罩冷却十分钟');
          await textOf(dialog.getByTestId('citation-where'), c.where!);
        }
        await textOf(dialog, 'lantern-care.md');
        await screenshot(page, `citations-dialog-${c.tag}-${v.name}`);
        expect(await axeFindings(page, ['.citation-dialog']), `dialog (${c.tag}, ${v.name})`).toEqual([]);

        // The whole document, fetched for this member.
        await dialog.getByTestId('citation-view-document').click();
        const doc = dialog.getByTestId('citation-document');
        await textOf(doc, '更换灯芯前先让灯罩冷却十分钟');
        await textOf(doc, 'Trim the lantern wick');
        // Tab stays inside the modal dialog.
        for (let i = 0; i < 4; i++) {
          await page.keyboard.press('Tab');
          expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
        }
        await screenshot(page, `citations-document-${c.tag}-${v.name}`);

        // Esc closes it and focus goes back to the marker that opened it.
        await page.keyboard.press('Escape');
        await expect.poll(() => dialog.count()).toBe(0);
        expect(await markers.first().evaluate((a) => a === document.activeElement)).toBe(true);

        // The sources list opens the same dialog.
        await reply.getByTestId('citation').first().click();
        await dialog.waitFor();
        await dialog.getByRole('button', { name: c.tag === 'en' ? 'Close' : '关闭' }).click();
        await expect.poll(() => dialog.count()).toBe(0);
        expect(person.errors).toEqual([]);
        await person.context.close();
      });
    }
  }
});

describe('the website widget opens a cited passage over the conversation', () => {
  let site: Server | undefined;
  let before: unknown;

  afterAll(async () => {
    if (before) await adminApi(url, 'PUT', '/api/widget/settings', before);
    await new Promise((resolve) => (site ? site.close(resolve) : resolve(undefined)));
  });

  it('shows the passage, where it is, and closes on Esc back to the source (zh-CN, phone)', async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>示例</title></head><body><h1>示例</h1><script src="${url}/widget/v1/widget.js" data-app="default" data-title="示例客服" async></script></body></html>`);
    });
    await new Promise<void>((resolve) => site!.listen(port, '127.0.0.1', resolve));
    // The widget answers with the app's widget agent (the demo assistant); this origin is allowed for the test only.
    const settings = await adminApi<{ allowed_origins: string[]; agent_id: string | null; captcha_url: string | null; identified_only: boolean }>(url, 'GET', '/api/widget/settings');
    before = { allowed_origins: settings.allowed_origins, agent_id: settings.agent_id, captcha_url: settings.captcha_url, identified_only: settings.identified_only };
    await adminApi(url, 'PUT', '/api/widget/settings', { ...(before as object), allowed_origins: [...settings.allowed_origins, origin] });

    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(origin + '/');
    await page.getByTestId('widget-bubble').click();
    await page.getByTestId('widget-input').fill('如何安装并启动 Warbler？');
    await page.getByTestId('widget-input').press('Enter');
    const answer = page.locator('[data-testid="widget-message"][data-kind="ai"][data-state="complete"]').last();
    await expect.poll(() => answer.getByTestId('citation').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const source = answer.getByTestId('citation').first().getByRole('button');
    await source.click();
    const overlay = page.getByRole('dialog', { name: /^\[\d+\] / });
    await overlay.waitFor();
    expect(await overlay.getAttribute('aria-modal')).toBe('true');
    expect(((await overlay.locator('.cite-passage').textContent()) ?? '').length).toBeGreaterThan(20);
    await screenshot(page, 'citations-widget-zh-phone');
    expect(await axeFindings(page, [['[data-warbler-widget]', '.cite-overlay']]), 'widget passage').toEqual([]);
    // Tab stays in the passage; Esc closes it and the source has focus again.
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      expect(await overlay.evaluate((o) => o.contains((o.getRootNode() as ShadowRoot).activeElement))).toBe(true);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => overlay.count()).toBe(0);
    expect(await source.evaluate((b) => (b.getRootNode() as ShadowRoot).activeElement === b)).toBe(true);
    await context.close();
  });
});
