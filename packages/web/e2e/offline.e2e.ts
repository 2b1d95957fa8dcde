import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, messages, openDirect, screenshot, send, signedIn, textOf } from './browser.ts';
import { adminApi, startWarbler, type RunningWarbler } from './warbler.ts';

let browser: Browser;
let warbler: RunningWarbler;

beforeAll(async () => {
  warbler = await startWarbler();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
});

/** The server goes away and comes back on the same port and data, as after a restart or a network cut. */
async function restart(): Promise<void> {
  warbler = await startWarbler({ dataDir: warbler.dataDir, port: warbler.port });
}

async function countOf(text: string): Promise<number> {
  const conv = (await adminApi<{ conversations: Array<{ id: string }> }>(warbler.url, 'GET', '/api/conversations?user_id=~liam')).conversations[0]!;
  const page = await adminApi<{ messages: Array<{ content: { text?: string } }> }>(warbler.url, 'GET', `/api/conversations/${conv.id}/messages?limit=200`);
  return page.messages.filter((m) => m.content.text === text).length;
}

describe('offline', () => {
  it('shows a banner while reconnecting, and sends what was typed offline once the server is back, never twice', async () => {
    const mia = await signedIn(browser, warbler.url, 'Mia');
    const liam = await signedIn(browser, warbler.url, 'Liam');
    await openDirect(liam.page, 'Mia');
    await send(liam.page, 'before the outage');
    await mia.page.locator('.conversation-item', { hasText: 'Liam' }).click();
    await textOf(messages(mia.page).last(), 'before the outage');

    // Down: both see the banner; Liam's message waits in the outbox.
    await warbler.stop();
    await liam.page.getByTestId('reconnecting').waitFor({ timeout: 15_000 });
    await mia.page.getByTestId('reconnecting').waitFor({ timeout: 15_000 });
    await send(liam.page, 'typed while offline');
    await textOf(liam.page.getByTestId('pending-message'), 'typed while offline');
    await textOf(liam.page.getByTestId('reconnecting'), '1 waiting to send');
    await screenshot(liam.page, 'offline-reconnecting');

    // Back: it goes out by itself, and Mia gets it live.
    await restart();
    await liam.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 40_000 });
    await expect.poll(() => liam.page.getByTestId('pending-message').count(), { timeout: 15_000 }).toBe(0);
    await textOf(messages(mia.page).last(), 'typed while offline', 40_000);

    // Down again; this time the tab is closed before the server returns. The outbox is in localStorage.
    await warbler.stop();
    await liam.page.getByTestId('reconnecting').waitFor({ timeout: 15_000 });
    await send(liam.page, 'typed offline, then the tab closed');
    await textOf(liam.page.getByTestId('pending-message'), 'typed offline, then the tab closed');
    await liam.page.close();
    await restart();
    const again = await liam.context.newPage();
    await again.goto(`${warbler.url}/`);
    await again.locator('.conversation-item', { hasText: 'Mia' }).click();
    await textOf(messages(mia.page).last(), 'typed offline, then the tab closed', 40_000);
    await textOf(messages(again).last(), 'typed offline, then the tab closed', 20_000);

    // A reload (the outbox read once more) sends nothing again.
    await again.reload();
    await again.locator('.conversation-item', { hasText: 'Mia' }).click();
    await textOf(messages(again).last(), 'typed offline, then the tab closed');
    await again.waitForTimeout(1_000);
    for (const text of ['before the outage', 'typed while offline', 'typed offline, then the tab closed']) {
      expect(await countOf(text)).toBe(1);
      expect(await messages(again).filter({ hasText: text }).count()).toBe(1);
      expect(await messages(mia.page).filter({ hasText: text }).count()).toBe(1);
    }
    expect([...mia.errors, ...liam.errors]).toEqual([]);
    await mia.context.close();
    await liam.context.close();
    // Two server restarts (each a new process) take most of it; on a loaded 2-core machine that can pass 90 s.
  }, 180_000);

  it('says "offline" the moment the browser knows, keeps a file picked offline and sends it when the network is back', async () => {
    const nia = await signedIn(browser, warbler.url, 'Nia');
    const oto = await signedIn(browser, warbler.url, 'Oto');
    await openDirect(nia.page, 'Oto');
    await send(nia.page, 'hello before going offline');
    await oto.page.locator('.conversation-item', { hasText: 'Nia' }).click();
    await textOf(messages(oto.page).last(), 'hello before going offline');

    await nia.context.setOffline(true);
    const started = Date.now();
    await textOf(nia.page.getByTestId('reconnecting'), 'You are offline', 3_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    await nia.page.locator('.composer input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('picked while offline') });
    await textOf(nia.page.getByTestId('queued-upload'), 'notes.txt will be sent when the network is back');
    await textOf(nia.page.getByTestId('reconnecting'), '1 waiting to send');
    await screenshot(nia.page, 'offline-upload-queued');

    await nia.context.setOffline(false);
    await nia.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 20_000 });
    await expect.poll(() => nia.page.getByTestId('queued-upload').count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => oto.page.locator('[data-testid="message"][data-type="file"]').count(), { timeout: 20_000 }).toBe(1);
    // No stale error from the outage is left on screen.
    expect(await nia.page.locator('.banner.error').count()).toBe(0);
    expect([...nia.errors, ...oto.errors]).toEqual([]);
    await nia.context.close();
    await oto.context.close();
  });
  it('reloads without network into the app and the chats it last showed, and catches up when the network is back', async () => {
    const pia = await signedIn(browser, warbler.url, 'Pia');
    const quin = await signedIn(browser, warbler.url, 'Quin');
    await openDirect(pia.page, 'Quin');
    await send(pia.page, 'cached before the reload');
    await textOf(messages(pia.page).last(), 'cached before the reload');
    // The service worker holds the app shell once it controls the page.
    await expect.poll(() => pia.page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state), { timeout: 15_000 }).toBe('activated');
    await pia.page.reload();
    await expect.poll(() => pia.page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 15_000 }).toBe(true);
    await textOf(messages(pia.page).last(), 'cached before the reload');
    // Let the cache be written (a second after the last change).
    await pia.page.waitForTimeout(1_500);

    await pia.context.setOffline(true);
    await pia.page.reload();
    await textOf(pia.page.getByTestId('reconnecting'), 'You are offline', 10_000);
    await textOf(pia.page.locator('.conversation-item', { hasText: 'Quin' }), 'cached before the reload');
    await textOf(messages(pia.page).last(), 'cached before the reload');
    expect(await pia.page.locator('.banner.error').count()).toBe(0);
    await screenshot(pia.page, 'offline-reload');

    // Meanwhile Quin answers; back online, it arrives without another reload.
    await quin.page.locator('.conversation-item', { hasText: 'Pia' }).click();
    await send(quin.page, 'written while Pia was offline');
    await pia.context.setOffline(false);
    await pia.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 20_000 });
    await textOf(messages(pia.page).last(), 'written while Pia was offline', 20_000);
    expect([...pia.errors, ...quin.errors]).toEqual([]);
    await pia.context.close();
    await quin.context.close();
  });
});
