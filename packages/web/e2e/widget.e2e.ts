import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, screenshot, textOf } from './browser.ts';
import { adminApi, freePort, MASTER_KEY } from './warbler.ts';

const url = inject('warblerUrl');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
// A 24×24 PNG, red: what a visitor might attach (a screenshot of their problem).
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAYCAIAAABvFaqvAAAAJElEQVR4nGP8z0AZYKJQ/6gBowaMGjBqwKgBowaMGjBqwFAxAAC8sQEvz2DdWwAAAABJRU5ErkJggg==',
  'base64',
);

let browser: Browser;
let site: Server;
let siteOrigin: string;

/**
 * The company's site: another origin (another port on 127.0.0.1), with a
 * strict CSP that allows scripts, connections and images from Warbler only
 * and no inline script or style at all.
 */
async function startSite(): Promise<void> {
  const port = await freePort();
  siteOrigin = `http://127.0.0.1:${port}`;
  const ws = url.replace(/^http/, 'ws');
  const csp = [`default-src 'none'`, `script-src ${url}`, `connect-src ${url} ${ws}`, `img-src ${url} data:`, `style-src 'none'`, `base-uri 'none'`, `form-action 'none'`].join('; ');
  site = createServer((req, res) => {
    const zh = req.url === '/' || req.url === '/zh';
    const page = `<!doctype html><html lang="${zh ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${zh ? '示例商店' : 'Example shop'}</title></head>
<body><h1>${zh ? '示例商店' : 'Example shop'}</h1><p>${zh ? '欢迎光临。' : 'Welcome.'}</p>
<script src="${url}/widget/v1/widget.js" data-app="default" data-title="${zh ? '示例商店客服' : 'Example shop support'}" data-color="#0f766e" data-position="right" async></script>
</body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
    res.end(page);
  });
  await new Promise<void>((resolve) => site.listen(port, '127.0.0.1', resolve));
}

interface Visitor {
  context: BrowserContext;
  page: Page;
  /** Script errors and CSP refusals: the test fails on any. */
  problems: string[];
}

async function visit(path: string, locale: string, viewport: { width: number; height: number }, context?: BrowserContext): Promise<Visitor> {
  const ctx = context ?? (await browser.newContext({ locale, viewport }));
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Failed requests are judged below, by their URL.
    if (/^Failed to load resource/.test(m.text())) return;
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    // Without the support room the widget asks for a person in words; the route's 404 is that case, not a fault.
    if (r.status() >= 400 && !(r.status() === 404 && r.url().endsWith('/handoff'))) problems.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(siteOrigin + path);
  await page.getByTestId('widget-bubble').waitFor();
  return { context: ctx, page, problems };
}

const aiAnswers = (page: Page) => page.locator('[data-testid="widget-message"][data-kind="ai"][data-state="complete"]');

beforeAll(async () => {
  browser = await launch();
  await startSite();
  await adminApi(url, 'PUT', '/api/widget/settings', { allowed_origins: [siteOrigin] });
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve));
});

describe('the website widget on another origin with a strict CSP', () => {
  it('answers a Chinese question streamed with citations, keeps the history across a reload, uploads an image and calls a person', async () => {
    const v = await visit('/', 'zh-CN', DESKTOP);
    const { page } = v;
    await page.getByTestId('widget-bubble').click();
    await page.getByTestId('widget-panel').waitFor();
    await textOf(page.getByTestId('agent-state'), 'AI 助手');
    await textOf(page.getByTestId('widget-panel'), '示例商店客服');
    const before = await aiAnswers(page).count();

    await page.getByTestId('widget-input').fill('如何安装并启动 Warbler？');
    await page.getByTestId('widget-input').press('Enter');
    await textOf(page.locator('[data-testid="widget-message"][data-mine="true"]'), '如何安装并启动 Warbler？');
    await expect.poll(() => aiAnswers(page).count(), { timeout: 30_000 }).toBeGreaterThan(before);
    const answer = aiAnswers(page).last();
    // Streamed: the reply grew by deltas before it completed.
    expect(Number(await answer.getAttribute('data-deltas'))).toBeGreaterThan(0);
    expect(await answer.getByTestId('citation').count()).toBeGreaterThan(0);
    await textOf(answer.locator('.sources'), '参考来源');
    const answerText = (await answer.locator('.body').textContent()) ?? '';
    expect(answerText.length).toBeGreaterThan(20);
    await screenshot(page, 'widget-desktop-zh-answer');

    // An image: uploaded across origins, shown from a link on Warbler's origin (img-src allows it).
    await page.getByTestId('widget-file').setInputFiles({ name: 'problem.png', mimeType: 'image/png', buffer: PNG });
    const image = page.getByTestId('widget-image').last();
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 15_000 }).toBe(24);

    // A reload: the same visitor, the same conversation, the history back.
    await page.reload();
    await page.getByTestId('widget-bubble').click();
    await textOf(page.locator('[data-testid="widget-message"][data-mine="true"]'), '如何安装并启动 Warbler？');
    await expect.poll(() => page.locator('[data-testid="widget-message"][data-kind="ai"] .body').allTextContents(), { timeout: 15_000 }).toContain(answerText);
    await expect.poll(() => page.getByTestId('widget-image').count()).toBeGreaterThan(0);

    // Talk to a person: the state says a person is being called, and the button cannot be pressed twice.
    await page.getByTestId('talk-to-person').click();
    await expect.poll(() => page.getByTestId('agent-state').getAttribute('data-state')).toBe('pending_human');
    await textOf(page.getByTestId('agent-state'), '正在为您转接人工');
    expect(await page.getByTestId('talk-to-person').isDisabled()).toBe(true);
    // Told in words too: the support room's notice in the conversation, or the widget's own line without it.
    await textOf(page.getByTestId('widget-panel'), /正在为您转接人工客服|已为您呼叫人工客服/);
    await screenshot(page, 'widget-desktop-zh-handoff');

    expect(v.problems).toEqual([]);
    await v.context.close();
  });

  it('shows a person taking over, their reply, and asks the visitor to rate once it is resolved', async () => {
    const staffId = `e2e-staff-${Date.now()}`;
    await adminApi(url, 'POST', '/api/users', { id: staffId, name: 'Ann Support' });
    await adminApi(url, 'PUT', `/api/support/staff/${staffId}`);
    const { token } = await adminApi<{ token: string }>(url, 'POST', `/api/users/${staffId}/tokens`, {});
    const asStaff = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(url + p, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>;
    };

    const v = await visit('/en', 'en-US', DESKTOP);
    const { page } = v;
    await page.getByTestId('widget-bubble').click();
    await page.getByTestId('widget-input').fill('My order has not arrived');
    await page.getByTestId('widget-input').press('Enter');
    await expect.poll(() => aiAnswers(page).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByTestId('talk-to-person').click();
    await expect.poll(() => page.getByTestId('agent-state').getAttribute('data-state')).toBe('pending_human');
    const conversationId = await page.evaluate(() => (JSON.parse(localStorage.getItem('warbler.widget.default.session')!) as { conversation_id: string }).conversation_id);

    // A support user takes it and answers: the visitor sees a person, and their words.
    await asStaff('POST', `/api/support/conversations/${conversationId}/claim`);
    await expect.poll(() => page.getByTestId('agent-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('human');
    await textOf(page.getByTestId('agent-state'), 'A person is here');
    await asStaff('POST', `/api/conversations/${conversationId}/messages`, { type: 'text', content: { text: 'Hi, I am Ann. Let me check your order.' } });
    await textOf(page.locator('[data-testid="widget-message"][data-kind="person"]'), 'Hi, I am Ann. Let me check your order.');
    await screenshot(page, 'widget-desktop-en-person');

    // Resolved: the visitor is asked to rate, rates 4, and is thanked; the rating is stored.
    await asStaff('POST', `/api/support/conversations/${conversationId}/resolve`, {});
    await expect.poll(() => page.getByTestId('agent-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('resolved');
    await screenshot(page, 'widget-desktop-en-resolved');
    await page.locator('[data-rating="4"]').click();
    await textOf(page.getByTestId('widget-panel'), 'Thanks for your rating!');
    await screenshot(page, 'widget-desktop-en-rated');
    const state = await asStaff('GET', `/api/support/conversations/${conversationId}`);
    expect(state).toMatchObject({ status: 'resolved', outcome: 'resolved_by_human', csat: { rating: 4 } });
    expect(v.problems).toEqual([]);
    await v.context.close();

    // The operator's report counts it: resolved by a person, rated, with its cost from the ledger.
    const report = await adminApi<{ total: { resolved_by_human: number; csat_count: number } }>(url, 'GET', '/api/support/report?group_by=agent');
    expect(report.total.resolved_by_human).toBeGreaterThanOrEqual(1);
    const operator = await browser.newContext({ locale: 'zh-CN', viewport: DESKTOP });
    const op = await operator.newPage();
    await op.goto(url + '/console');
    await op.locator('input[type="password"]').fill(MASTER_KEY);
    await op.locator('form button[type="submit"]').click();
    await op.getByRole('link', { name: '客服成效' }).click();
    const table = op.getByTestId('support-report');
    await table.waitFor();
    const totals = table.locator('tfoot tr');
    await textOf(totals, `${report.total.resolved_by_human}`);
    // Ratings: the total row averages every rated conversation, this one (4) included.
    await textOf(totals, '/ 5');
    await screenshot(op, 'console-support-zh');
    await operator.close();
  });

  it('fits a phone and speaks the page\'s language, zh-CN and en', async () => {
    for (const [path, locale, title, placeholder] of [['/', 'zh-CN', '示例商店客服', '输入您的问题…'], ['/en', 'en-US', 'Example shop support', 'Type your question…']] as const) {
      for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
        const v = await visit(path, locale, viewport);
        await screenshot(v.page, `widget-${size}-${locale}-closed`);
        await v.page.getByTestId('widget-bubble').click();
        await textOf(v.page.getByTestId('widget-panel'), title);
        expect(await v.page.getByTestId('widget-input').getAttribute('placeholder')).toBe(placeholder);
        const box = (await v.page.getByTestId('widget-panel').boundingBox())!;
        // Inside the screen; on a phone it takes the whole screen.
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(viewport.width + 1);
        if (size === 'phone') expect(box.width).toBeGreaterThanOrEqual(viewport.width - 1);
        await v.page.getByTestId('widget-input').fill(locale === 'en-US' ? 'How do I start Warbler?' : '怎么启动？');
        await v.page.getByTestId('widget-input').press('Enter');
        await expect.poll(() => aiAnswers(v.page).count(), { timeout: 30_000 }).toBeGreaterThan(0);
        await screenshot(v.page, `widget-${size}-${locale}-open`);
        expect(v.problems).toEqual([]);
        await v.context.close();
      }
    }
  });

  it('is refused on a site the operator did not allow', async () => {
    await adminApi(url, 'PUT', '/api/widget/settings', { allowed_origins: ['https://somewhere-else.example'] });
    try {
      const v = await visit('/en', 'en-US', DESKTOP);
      await v.page.getByTestId('widget-bubble').click();
      await textOf(v.page.getByTestId('widget-hint'), /origin .* may not use this app's widget|Failed to fetch/);
      await v.context.close();
    } finally {
      await adminApi(url, 'PUT', '/api/widget/settings', { allowed_origins: [siteOrigin] });
    }
  });
});
