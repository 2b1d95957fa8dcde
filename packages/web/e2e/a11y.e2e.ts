import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeFindings, launch, openDirect, screenshot, send, signedIn, textOf, REPLY_TO_ME } from './browser.ts';
import { adminApi, MASTER_KEY } from './warbler.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
  // Pages as an operator sees them after some use: an active and a revoked gateway key (a revoked row once dimmed below 4.5:1).
  const active = (await adminApi<{ key: { id: string } }>(inject('warblerUrl'), 'POST', '/api/gateway/keys', { name: 'axe active key' })).key;
  const revoked = (await adminApi<{ key: { id: string } }>(inject('warblerUrl'), 'POST', '/api/gateway/keys', { name: 'axe revoked key' })).key;
  await adminApi(inject('warblerUrl'), 'POST', `/api/gateway/keys/${revoked.id}/revoke`);
  expect(active.id).not.toBe(revoked.id);
});
afterAll(async () => {
  await browser?.close();
});

describe('accessibility', () => {
  for (const [locale, scheme] of [['en-US', 'light'], ['zh-CN', 'dark']] as const) {
    it(`has no serious or critical axe findings on sign-in, chat and console (${locale}, ${scheme})`, async () => {
      // The app's own CSP stays on: axe is evaluated through the debugger protocol, not injected as a script.
      const context = await browser.newContext({ locale, colorScheme: scheme, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(url + '/');
      await page.locator('input[name="name"]').waitFor();
      expect(await axeFindings(page), 'sign-in').toEqual([]);

      await page.locator('input[name="name"]').fill(`Axe ${locale}`);
      await page.locator('form button[type="submit"]').click();
      await page.getByTestId('conversation-list').waitFor();
      await openDirect(page, 'Warbler Assistant');
      await send(page, locale === 'zh-CN' ? '你能做什么？' : 'What can you do?');
      const reply = page.locator(REPLY_TO_ME).last();
      await expect.poll(() => reply.getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');
      expect(await axeFindings(page), 'chat').toEqual([]);
      await screenshot(page, `a11y-chat-${locale}-${scheme}`);

      // The same person with the support role: the inbox (support.e2e.ts scans it with conversations in it).
      const userId = await page.evaluate(() => (JSON.parse(localStorage.getItem('warbler.session')!) as { userId: string }).userId);
      await adminApi(url, 'PUT', `/api/support/staff/${encodeURIComponent(userId)}`);
      await page.reload();
      await page.getByTestId('inbox-toggle').click();
      await page.getByTestId('support-queue').waitFor();
      expect(await axeFindings(page), 'support inbox').toEqual([]);

      // The console's pages, in the same language and scheme (its navigation links are the page names).
      await page.goto(url + '/console');
      await page.locator('input[type="password"]').fill(MASTER_KEY);
      await page.locator('form button[type="submit"]').click();
      const nav = page.locator('nav').first();
      await nav.waitFor();
      expect(await axeFindings(page), 'console').toEqual([]);
      const links = await nav.getByRole('link').all();
      for (const link of links) {
        const name = (await link.textContent())?.trim() ?? '';
        await link.click();
        await page.waitForLoadState('networkidle');
        expect(await axeFindings(page), `console: ${name}`).toEqual([]);
      }
      await context.close();
    });
  }

  it('lets a keyboard user skip to the message box, and gives phone users 44 px targets', async () => {
    const desk = await signedIn(browser, url, 'Skipper');
    // The first Tab on a fresh page reaches the skip link, shown when focused.
    await desk.page.keyboard.press('Tab');
    const toList = desk.page.getByRole('link', { name: 'Skip to your chats' });
    expect(await toList.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await toList.isVisible()).toBe(true);
    await desk.page.keyboard.press('Enter');
    await expect.poll(() => desk.page.evaluate(() => document.activeElement?.id)).toBe('conversation-list');
    // With a chat open it leads to the message box.
    await openDirect(desk.page, 'Warbler Assistant');
    const toBox = desk.page.getByRole('link', { name: 'Skip to the message box' });
    await toBox.focus();
    await desk.page.keyboard.press('Enter');
    await expect.poll(() => desk.page.evaluate(() => document.activeElement?.id)).toBe('composer');
    await desk.context.close();

    const phone = await signedIn(browser, url, 'Thumb', { locale: 'zh-CN', viewport: { width: 390, height: 844 } });
    await openDirect(phone.page, 'Warbler Assistant');
    await textOf(phone.page.locator('.conversation-name'), 'Warbler Assistant');
    const small = await phone.page.evaluate(() => [...document.querySelectorAll('button, select, a[href]')]
      .filter((el) => (el as HTMLElement).offsetParent !== null && !el.classList.contains('skip-link'))
      .map((el) => ({ el: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 30), h: el.getBoundingClientRect().height, w: el.getBoundingClientRect().width }))
      .filter((box) => box.h < 44 || box.w < 44));
    expect(small).toEqual([]);
    await screenshot(phone.page, 'a11y-phone-zh');
    await phone.context.close();
  });
});
