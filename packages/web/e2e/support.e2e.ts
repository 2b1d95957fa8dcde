// Issue 11, end to end: a visitor on a company's site (another origin) asks
// the widget in Chinese and gets a streamed answer with a citation from a
// knowledge base (gpt-4o-mini through the upstream fixture); asks for a
// person; a support user in another browser takes it in the web app's
// inbox, answers (the AI stays silent), leaves an internal note the visitor
// never sees, and resolves it; the visitor rates it 4; the console's
// Support outcomes shows it resolved by a person with its cost; and a
// webhook receiver got every event exactly once, signed, across a restart.
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyWebhook } from '@warbler/sdk/webhooks';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeFindings, launch, screenshot, textOf, type Person } from './browser.ts';
import { adminApi, freePort, MASTER_KEY, startWarbler, type RunningWarbler } from './warbler.ts';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ANSWER = '收货后 30 天内，您可以在“我的订单”页面申请退货，退货运费由我们承担 [1]。';
const NOTE = 'Customer is a repeat buyer; refund approved by Li, ticket RT-7781.';
const REPLY = '您好，我是客服 Ann。已为您登记退货，快递员明天上门取件。';

let browser: Browser;
let upstream: UpstreamFixture;
let warbler: RunningWarbler;
let site: Server;
let siteOrigin: string;
let receiver: Server;
let receiverPort: number;
let secret: string;
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

/** The company's site on another origin, with a strict CSP (as in widget.e2e.ts). */
async function startSite(url: string): Promise<void> {
  const port = await freePort();
  siteOrigin = `http://127.0.0.1:${port}`;
  const csp = [`default-src 'none'`, `script-src ${url}`, `connect-src ${url} ${url.replace(/^http/, 'ws')}`, `img-src ${url} data:`, `style-src 'none'`].join('; ');
  site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
    res.end(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>示例商店</title></head>
<body><h1>示例商店</h1><script src="${url}/widget/v1/widget.js" data-app="default" data-title="示例商店客服" async></script></body></html>`);
  });
  await new Promise<void>((resolve) => site.listen(port, '127.0.0.1', resolve));
}

/** The company's webhook receiver: records every request it gets, answers 200. */
function listenReceiver(): Promise<void> {
  return new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));
}
function closeReceiver(): Promise<void> {
  return new Promise<void>((resolve) => {
    receiver.close(() => resolve());
    receiver.closeAllConnections();
  });
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  receiverPort = await freePort();
  await listenReceiver();
  const config = path.join(tmpdir(), `warbler-e2e-support-${process.pid}.yaml`);
  await writeFile(config, `outbound:\n  allow_hosts: ["127.0.0.1:${receiverPort}"]\n  allow_http_hosts: ["127.0.0.1:${receiverPort}"]\n`);
  upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { text: ANSWER, intervalMs: 40 } });
  warbler = await startWarbler({
    env: {
      OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: config,
      WARBLER_WEBHOOK_RETRY_SCHEDULE_MS: '300,600,1000,1000,1000,1000,1000,1000', WARBLER_WEBHOOK_POLL_MS: '100',
    },
  });
  const url = warbler.url;
  const kb = await adminApi<{ id: string }>(url, 'POST', '/api/knowledge-bases', { name: '售后政策' });
  await adminApi(url, 'POST', `/api/knowledge-bases/${kb.id}/documents`, {
    title: '退货政策', format: 'markdown',
    text: '# 退货政策\n\n## 如何退货\n\n收货后 30 天内，可以在“我的订单”页面申请退货。退货运费由我们承担，快递员上门取件。\n\n## 退款\n\n仓库收到退货后 3 个工作日内退款到原支付方式。',
  });
  await adminApi(url, 'POST', '/api/agents', {
    // query_rewrite off: scripted replies here are the answers themselves (citations.e2e and kb-citations.test cover rewriting).
    id: 'shop-desk', name: 'Shop Desk', model: 'gpt-4o-mini', system_prompt: '你是示例商店的客服，根据知识库回答，并用 [n] 标注来源。', knowledge_base_ids: [kb.id], query_rewrite: false,
  });
  await startSite(url);
  await adminApi(url, 'PUT', '/api/widget/settings', { allowed_origins: [siteOrigin], agent_id: 'shop-desk' });
  secret = (await adminApi<{ secret: string }>(url, 'POST', '/api/webhooks/endpoints', { url: `http://127.0.0.1:${receiverPort}/hooks`, description: 'CRM' })).secret;
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
  await upstream?.close();
  await new Promise((resolve) => site?.close(resolve));
  if (receiver?.listening) await closeReceiver();
});

const aiAnswers = (page: Page) => page.locator('[data-testid="widget-message"][data-kind="ai"][data-state="complete"]');

/**
 * A support user in the chat app, in their own browser context: signed in by
 * name, given the role by the app, back with the inbox open.
 */
async function supportUser(name: string, locale: string, viewport: { width: number; height: number }, scheme: 'light' | 'dark' = 'light'): Promise<Person> {
  const context = await browser.newContext({ locale, viewport, colorScheme: scheme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(warbler.url + '/');
  await page.locator('input[name="name"]').fill(name);
  await page.locator('form button[type="submit"]').click();
  await page.getByTestId('conversation-list').waitFor();
  const userId = await page.evaluate(() => (JSON.parse(localStorage.getItem('warbler.session')!) as { userId: string }).userId);
  await adminApi(warbler.url, 'PUT', `/api/support/staff/${encodeURIComponent(userId)}`);
  await page.reload();
  await page.getByTestId('inbox-toggle').click();
  await page.getByTestId('support-queue').waitFor();
  return { context, page, errors };
}

describe('AI customer service end to end (issue 11)', () => {
  let conversationId: string;

  it('a visitor\'s Chinese question is answered, handed to a person who claims, answers, notes and resolves it, and the visitor rates it', async () => {
    // The support user is at their desk before anything happens.
    const ann = await supportUser('Ann Support', 'en-US', DESKTOP);
    const desk = ann.page;

    const visitor = await browser.newContext({ locale: 'zh-CN', viewport: DESKTOP });
    const page = await visitor.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(siteOrigin + '/');
    await page.getByTestId('widget-bubble').click();
    await page.getByTestId('widget-input').fill('请问怎么退货？');
    await page.getByTestId('widget-input').press('Enter');
    await expect.poll(() => aiAnswers(page).count(), { timeout: 60_000 }).toBeGreaterThan(0);
    const answer = aiAnswers(page).last();
    expect(Number(await answer.getAttribute('data-deltas'))).toBeGreaterThan(0);
    await textOf(answer.locator('.body'), '退货运费由我们承担');
    expect(await answer.getByTestId('citation').count()).toBe(1);
    await textOf(answer.getByTestId('citation'), '退货政策');
    // The model was asked with the knowledge base's passage in its context.
    expect(JSON.stringify(upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)?.body ?? {})).toContain('30 天内');
    conversationId = await page.evaluate(() => (JSON.parse(localStorage.getItem('warbler.widget.default.session')!) as { conversation_id: string }).conversation_id);

    // The receiver goes away and the visitor asks for a person: the handoff event waits in the outbox.
    await closeReceiver();
    await page.getByTestId('talk-to-person').click();
    await expect.poll(() => page.getByTestId('agent-state').getAttribute('data-state')).toBe('pending_human');
    const item = desk.locator(`[data-support-conversation="${conversationId}"]`);
    await expect.poll(() => item.getAttribute('data-status'), { timeout: 15_000 }).toBe('pending_human');
    expect(await desk.locator('[data-section="waiting"]').locator(`[data-support-conversation="${conversationId}"]`).count()).toBe(1);
    await textOf(desk.locator('#support-section-waiting'), 'Waiting for a person (1)');

    // Warbler restarts (same data, same port); the receiver comes back; both browsers reconnect by themselves.
    await warbler.restart();
    await listenReceiver();
    await expect.poll(() => received.some((r) => JSON.parse(r.body).type === 'conversation.handoff'), { timeout: 30_000 }).toBe(true);

    await item.click();
    const detail = desk.getByTestId('support-detail');
    await textOf(detail.locator('[data-author="customer"]'), '请问怎么退货？', 30_000);
    await textOf(detail.locator('[data-author="ai"]').first(), '退货运费由我们承担');
    await textOf(detail.getByTestId('support-citation'), '退货政策');
    await textOf(detail.locator('.support-facts'), 'Pressed "talk to a person"');
    await screenshot(desk, 'support-inbox-desktop-en-pending');

    const chatCalls = upstream.counts.chat;
    await detail.getByRole('button', { name: 'Claim' }).click();
    await expect.poll(() => detail.locator('header [data-testid="support-status"]').getAttribute('data-status'), { timeout: 15_000 }).toBe('human');
    await expect.poll(() => page.getByTestId('agent-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('human');

    const box = detail.getByRole('textbox', { name: 'Reply to the visitor' });
    await box.fill(REPLY);
    await detail.getByRole('button', { name: 'Send' }).click();
    await textOf(page.locator('[data-testid="widget-message"][data-kind="person"]'), REPLY, 30_000);
    await textOf(detail.locator('[data-author="person"]'), REPLY);

    // The visitor answers; the person sees it live, and the AI says nothing.
    await page.getByTestId('widget-input').fill('好的，谢谢！');
    await page.getByTestId('widget-input').press('Enter');
    await textOf(detail.locator('[data-author="customer"]').last(), '好的，谢谢！', 15_000);

    await detail.getByRole('radio', { name: 'Internal note' }).check();
    await detail.getByRole('textbox', { name: 'Internal note (only support sees it)' }).fill(NOTE);
    await detail.getByRole('button', { name: 'Add note' }).click();
    await textOf(detail.getByTestId('support-note'), NOTE);
    await textOf(detail.getByTestId('support-note'), 'the visitor never sees it');
    await screenshot(desk, 'support-inbox-desktop-en-claimed');

    await detail.getByRole('button', { name: 'Resolve' }).click();
    await expect.poll(() => page.getByTestId('agent-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('resolved');
    await page.locator('[data-rating="4"]').click();
    await textOf(page.getByTestId('widget-panel'), '感谢');
    await expect.poll(() => detail.locator('header [data-testid="support-status"]').getAttribute('data-status')).toBe('resolved');
    await textOf(detail.getByTestId('support-csat'), 'Rated 4 / 5', 15_000);

    // Silent while a person held it: no model call after the claim, no AI words after the person's.
    expect(upstream.counts.chat).toBe(chatCalls);
    const widgetKinds = await page.locator('[data-testid="widget-message"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    expect(widgetKinds.slice(widgetKinds.indexOf('person')).filter((k) => k === 'ai')).toEqual([]);
    // The note is nowhere the visitor can look: not on the page, not in their history.
    expect(await page.getByTestId('widget-panel').textContent()).not.toContain('RT-7781');
    const history = await adminApi<{ messages: Array<{ content: unknown }> }>(warbler.url, 'GET', `/api/conversations/${conversationId}/messages?limit=200`);
    expect(JSON.stringify(history.messages)).not.toContain('RT-7781');
    await screenshot(page, 'support-widget-zh-rated');
    expect(problems).toEqual([]);
    expect(ann.errors).toEqual([]);
    await visitor.close();
    await ann.context.close();
  });

  it('the console\'s Support outcomes shows it resolved by a person, rated, with its cost', async () => {
    const report = await adminApi<{ total: { resolved_by_human: number; csat_average: number; cost: Record<string, string> } }>(warbler.url, 'GET', '/api/support/report?group_by=agent');
    expect(report.total).toMatchObject({ resolved_by_human: 1, csat_average: 4 });
    expect(Number(report.total.cost.USD)).toBeGreaterThan(0);
    const context = await browser.newContext({ locale: 'en-US', viewport: DESKTOP });
    const op = await context.newPage();
    await op.goto(warbler.url + '/console');
    await op.locator('input[type="password"]').fill(MASTER_KEY);
    await op.locator('form button[type="submit"]').click();
    await op.getByRole('link', { name: 'Support outcomes' }).click();
    const totals = op.getByTestId('support-report').locator('tfoot tr');
    await totals.waitFor();
    const cells = await totals.locator('th, td').allTextContents();
    // Total, conversations, by AI, by a person, handed off, rating, …, cost, cost per resolved.
    expect(cells[3]).toBe('1');
    expect(cells[5]).toContain('4.0 / 5');
    expect(cells.at(-2)).toMatch(/\$0\.0\d*[1-9]/);
    expect(cells.at(-1)).toBe(cells.at(-2));
    await screenshot(op, 'support-console-outcomes-en');
    await context.close();
  });

  it('the webhook receiver got every event once, each with a valid signature, across the restart', async () => {
    await expect.poll(() => received.map((r) => JSON.parse(r.body).type as string), { timeout: 30_000 }).toContain('csat.submitted');
    const events = await Promise.all(received.map(async (r) => ({ id: r.headers['warbler-webhook-id'], event: await verifyWebhook({ body: r.body, headers: r.headers as Record<string, string>, secret }) })));
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const types = new Set(events.map((e) => e.event.type));
    for (const type of ['conversation.created', 'message.created', 'conversation.handoff', 'conversation.assigned', 'conversation.resolved', 'csat.submitted']) expect(types, type).toContain(type);
    const ofConversation = (type: string) => events.filter((e) => e.event.type === type && (e.event.data as { conversation_id?: string }).conversation_id === conversationId);
    for (const type of ['conversation.created', 'conversation.handoff', 'conversation.resolved', 'csat.submitted']) expect(ofConversation(type), type).toHaveLength(1);
    expect(ofConversation('csat.submitted')[0]!.event.data).toMatchObject({ rating: 4, outcome: 'resolved_by_human' });
    // Notes are never sent anywhere.
    expect(received.some((r) => r.body.includes('RT-7781'))).toBe(false);
  });

  it('a person who claims while the AI is still writing stops it, and the AI does not start again', async () => {
    upstream.script({ text: Array.from({ length: 200 }, (_, i) => `词${i + 1}`).join(' '), intervalMs: 150 });
    const ann = await supportUser('Ann Support', 'en-US', DESKTOP);
    const visitor = await browser.newContext({ locale: 'zh-CN', viewport: DESKTOP });
    const page = await visitor.newPage();
    await page.goto(siteOrigin + '/');
    await page.getByTestId('widget-bubble').click();
    await page.getByTestId('widget-input').fill('请详细介绍一下会员计划');
    await page.getByTestId('widget-input').press('Enter');
    const reply = page.locator('[data-testid="widget-message"][data-kind="ai"]').last();
    await textOf(reply, '词5', 30_000);
    expect(await reply.getAttribute('data-state')).toBe('streaming');
    const id = await page.evaluate(() => (JSON.parse(localStorage.getItem('warbler.widget.default.session')!) as { conversation_id: string }).conversation_id);

    // Still with the AI: a support user takes it from there.
    const item = ann.page.locator(`[data-section="bot"] [data-support-conversation="${id}"]`);
    await item.click({ timeout: 15_000 });
    const detail = ann.page.getByTestId('support-detail');
    await detail.getByRole('button', { name: 'Claim' }).click();
    await expect.poll(() => detail.locator('header [data-testid="support-status"]').getAttribute('data-status'), { timeout: 15_000 }).toBe('human');
    await expect.poll(() => reply.getAttribute('data-state'), { timeout: 15_000 }).toBe('complete');
    const kept = (await reply.locator('.body').textContent()) ?? '';
    expect(kept).not.toContain('词200');
    await textOf(detail.locator('[data-author="ai"]').last(), 'Stopped when a person took over.', 15_000);
    await textOf(detail.locator('.support-facts'), 'Taken by support');
    expect(upstream.counts.chat).toBeGreaterThan(0);
    const calls = upstream.counts.chat;
    await page.getByTestId('widget-input').fill('还在吗？');
    await page.getByTestId('widget-input').press('Enter');
    await textOf(detail.locator('[data-author="customer"]').last(), '还在吗？', 15_000);
    expect(upstream.counts.chat).toBe(calls);
    expect((await reply.locator('.body').textContent()) ?? '').toBe(kept);
    await screenshot(ann.page, 'support-inbox-desktop-en-stopped');
    expect(ann.errors).toEqual([]);
    await visitor.close();
    await ann.context.close();
  });

  it('chimes for a new waiting conversation, inserts a canned reply and the copilot\'s draft, and transfers it to a colleague', async () => {
    await adminApi(warbler.url, 'POST', '/api/support/canned-replies', { title: 'Pickup tomorrow', text: '快递员明天上门取件，请保持电话畅通。' });
    const bo = await supportUser('Bo Support', 'zh-CN', DESKTOP);
    const cy = await supportUser('Cy Support', 'en-US', DESKTOP);
    const desk = cy.page;
    // A headless browser has no speakers: the inbox counts its chimes for this test.
    const chimes = () => desk.evaluate(() => Number(document.querySelector('[data-testid="support-queue"]')?.getAttribute('data-chimes') ?? 0));
    const before = await chimes();

    upstream.script({ text: ANSWER, intervalMs: 5 });
    const visitor = await browser.newContext({ locale: 'zh-CN', viewport: DESKTOP });
    const page = await visitor.newPage();
    await page.goto(siteOrigin + '/');
    await page.getByTestId('widget-bubble').click();
    await page.getByTestId('widget-input').fill('退货要多久才能取件？');
    await page.getByTestId('widget-input').press('Enter');
    await expect.poll(() => aiAnswers(page).count(), { timeout: 60_000 }).toBeGreaterThan(0);
    const id = await page.evaluate(() => (JSON.parse(localStorage.getItem('warbler.widget.default.session')!) as { conversation_id: string }).conversation_id);
    await page.getByTestId('talk-to-person').click();
    const item = desk.locator(`[data-section="waiting"] [data-support-conversation="${id}"]`);
    await item.waitFor({ timeout: 15_000 });
    await expect.poll(chimes, { timeout: 10_000 }).toBe(before + 1);

    await item.click();
    const detail = desk.getByTestId('support-detail');
    await detail.getByRole('button', { name: 'Claim' }).click();
    await expect.poll(() => detail.locator('header [data-testid="support-status"]').getAttribute('data-status'), { timeout: 15_000 }).toBe('human');
    const box = detail.getByRole('textbox', { name: 'Reply to the visitor' });
    // The copilot drafts from the agent's knowledge base; the person edits before sending.
    upstream.script({ text: '您好，退货在收货后 30 天内都可以申请 [1]。', intervalMs: 0 });
    await detail.getByTestId('support-suggest').click();
    await expect.poll(() => box.inputValue(), { timeout: 30_000 }).toContain('30 天内');
    await detail.getByTestId('support-canned').selectOption({ label: 'Pickup tomorrow' });
    expect(await box.inputValue()).toMatch(/30 天内[\s\S]*\n快递员明天上门取件，请保持电话畅通。$/);
    await detail.getByRole('button', { name: 'Send' }).click();
    await textOf(page.locator('[data-testid="widget-message"][data-kind="person"]').last(), '快递员明天上门取件', 30_000);

    // Off to a colleague: Cy leaves it, Bo holds it and sees it under Mine.
    await detail.getByTestId('support-assign').selectOption({ label: 'Bo Support' });
    await detail.getByRole('button', { name: 'Transfer' }).click();
    await textOf(detail.locator('.support-facts'), 'Bo Support holds it', 15_000);
    await bo.page.locator(`[data-section="mine"] [data-support-conversation="${id}"]`).waitFor({ timeout: 15_000 });
    await screenshot(desk, 'support-inbox-desktop-en-transferred');
    expect([...bo.errors, ...cy.errors]).toEqual([]);
    await visitor.close();
    await bo.context.close();
    await cy.context.close();
  });

  it('the inbox reads in English and Chinese, on a desktop and a phone, with no serious axe findings', async () => {
    for (const [locale, viewport, size, scheme] of [
      ['en-US', DESKTOP, 'desktop', 'light'], ['zh-CN', DESKTOP, 'desktop', 'dark'], ['en-US', PHONE, 'phone', 'light'], ['zh-CN', PHONE, 'phone', 'light'],
    ] as const) {
      const person = await supportUser(`Desk ${locale} ${size}`, locale, viewport, scheme);
      const { page } = person;
      const zh = locale === 'zh-CN';
      await textOf(page.getByTestId('support-queue'), zh ? '已解决' : 'Resolved');
      expect(await axeFindings(page), `${locale} ${size} queue`).toEqual([]);
      await screenshot(page, `support-inbox-${size}-${locale}-queue`);
      await page.locator(`[data-support-conversation="${conversationId}"]`).click();
      const detail = page.getByTestId('support-detail');
      await textOf(detail.getByTestId('support-note'), NOTE);
      await textOf(detail.getByTestId('support-note'), zh ? '访客不可见' : 'the visitor never sees it');
      expect(await axeFindings(page), `${locale} ${size} conversation`).toEqual([]);
      // Nothing wider than the screen.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, `support-inbox-${size}-${locale}-conversation`);
      expect(person.errors).toEqual([]);
      await person.context.close();
    }
  });
});
