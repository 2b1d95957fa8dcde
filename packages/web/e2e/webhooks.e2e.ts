// The console's Webhooks page in Chromium, against its own Warbler that may
// deliver to a receiver on 127.0.0.1 (allowed in warbler.yaml, as an operator would).
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyWebhook } from '@warbler/sdk/webhooks';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, openConsole, screenshot, textOf } from './browser.ts';
import { startWarbler, type RunningWarbler } from './warbler.ts';

let browser: Browser;
let warbler: RunningWarbler;
let receiver: Server;
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
let answers = 0;

beforeAll(async () => {
  // Refuses the first request it gets, then takes everything: the log shows a retry.
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(++answers === 1 ? 500 : 200).end(answers === 1 ? 'busy, try later' : 'ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  const config = path.join(tmpdir(), `warbler-e2e-webhooks-${process.pid}.yaml`);
  await writeFile(config, `outbound:\n  allow_hosts: ["127.0.0.1:${port}"]\n  allow_http_hosts: ["127.0.0.1:${port}"]\n`);
  warbler = await startWarbler({ env: { WARBLER_CONFIG: config, WARBLER_WEBHOOK_RETRY_SCHEDULE_MS: '500,1000', WARBLER_WEBHOOK_POLL_MS: '100' } });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function openWebhooks(locale: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  await openConsole(page, warbler.url, { nav: 'webhooks' });
  return page;
}

describe('the Webhooks page', () => {
  it('creates an endpoint (the secret shown once), sends a test event that is retried and delivered signed, and redelivers it', async () => {
    const page = await openWebhooks('en-US', { width: 1280, height: 800 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/warbler`;
    await page.getByLabel('Endpoint URL').fill(url);
    await page.getByLabel('Description (optional)').fill('CRM sync');
    await page.getByRole('checkbox', { name: 'conversation.handoff' }).check();
    await page.getByRole('checkbox', { name: 'csat.submitted' }).check();
    await page.getByRole('button', { name: 'Create' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    const row = page.locator(`tr[data-endpoint="${url}"]`);
    await textOf(row, 'conversation.handoff, csat.submitted');
    await textOf(row, `${secret.slice(0, 10)}…`);

    await row.getByRole('button', { name: 'Send test event' }).click();
    const log = page.getByRole('region', { name: 'Delivery log' });
    // The first attempt gets a 500; the retry, half a second later, a 200.
    const summary = log.locator('[data-delivery="webhook.test"] summary').first();
    for (let i = 0; i < 50 && !/^delivered/.test((await summary.textContent().catch(() => '')) ?? ''); i++) {
      await page.waitForTimeout(200);
      await log.getByRole('button', { name: 'Refresh' }).click();
    }
    const delivery = log.locator('[data-delivery="webhook.test"]').first();
    await textOf(delivery, /delivered.*200.*2 attempt/);
    await delivery.locator('summary').click();
    await textOf(delivery, 'busy, try later');
    await textOf(delivery, 'the receiver answered 500');
    expect(received).toHaveLength(2);
    for (const r of received) expect((await verifyWebhook({ body: r.body, headers: r.headers as Record<string, string>, secret })).type).toBe('webhook.test');
    await screenshot(page, 'console-webhooks-en-desktop');

    await delivery.getByRole('button', { name: 'Redeliver' }).click();
    for (let i = 0; i < 50 && received.length < 3; i++) await page.waitForTimeout(100);
    expect(received[2]!.headers['warbler-webhook-id']).toBe(received[0]!.headers['warbler-webhook-id']);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('reads in Chinese and fits a phone', async () => {
    for (const [locale, name, viewport] of [
      ['zh-CN', 'zh-phone', { width: 390, height: 844 }],
      ['en-US', 'en-phone', { width: 390, height: 844 }],
      ['zh-CN', 'zh-desktop', { width: 1280, height: 800 }],
    ] as const) {
      const page = await openWebhooks(locale, viewport);
      if (locale === 'zh-CN') await textOf(page.locator('h1'), 'Webhooks'), await textOf(page.locator('form'), '端点 URL');
      await page.locator('tr[data-endpoint] button[aria-expanded]').first().click();
      await page.locator('[data-delivery]').first().waitFor();
      // Nothing wider than the screen: the page scrolls down, never sideways.
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, name).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, `console-webhooks-${name}`);
      await page.context().close();
    }
  });
});
