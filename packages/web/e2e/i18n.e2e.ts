import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, messages, openDirect, screenshot, send, signedIn, textOf, REPLY_TO_ME } from './browser.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('languages, phones and keyboards', () => {
  it('renders Chinese for a zh-CN browser, switches to English, and remembers the choice', async () => {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    await page.goto(url + '/');
    await textOf(page.locator('h1'), '登录 Warbler');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await screenshot(page, 'zh-signin');
    await page.getByLabel('你的名字').fill('李雷');
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await textOf(page.locator('.sidebar h2'), '会话');
    await openDirect(page, 'Warbler Assistant');
    await send(page, '如何安装 Warbler？');
    await textOf(page.locator('[data-testid="message"].mine').last(), '如何安装 Warbler？');
    const reply = page.locator(REPLY_TO_ME).last();
    await expect.poll(() => reply.getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');
    await textOf(page.getByTestId('receipt'), '已发送');
    await screenshot(page, 'zh-chat');

    await page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await textOf(page.locator('.sidebar h2'), 'Chats');
    await page.reload();
    await textOf(page.locator('.sidebar h2'), 'Chats');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await context.close();
  });

  it('keeps a message over the limit in the composer, says why in Chinese, and sends it as a file on request', async () => {
    const mei = await signedIn(browser, url, 'Mei', { locale: 'zh-CN' });
    const other = await signedIn(browser, url, 'Ola');
    const { page } = mei;
    await openDirect(page, 'Ola');
    const long = '长'.repeat(32_001);
    await send(page, long);
    const problem = page.getByTestId('composer-too-long');
    await textOf(problem, '这条消息有 32,001 个字符，一条消息最多 32,000 个');
    expect(await page.getByRole('combobox', { name: '消息' }).inputValue()).toBe(long);
    expect(await page.getByTestId('pending-message').count()).toBe(0);
    await screenshot(page, 'zh-too-long');
    await problem.getByRole('button', { name: '作为文件发送' }).click();
    await expect.poll(() => page.locator('[data-testid="message"][data-type="file"]').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByRole('combobox', { name: '消息' }).inputValue()).toBe('');
    await other.page.locator('.conversation-item', { hasText: 'Mei' }).click();
    await expect.poll(() => other.page.locator('[data-testid="message"][data-type="file"]').count(), { timeout: 15_000 }).toBe(1);
    expect([...mei.errors, ...other.errors]).toEqual([]);
    await mei.context.close();
    await other.context.close();
  });

  it('works on a phone-sized screen, one pane at a time', async () => {
    const hana = await signedIn(browser, url, 'Hana', { viewport: { width: 390, height: 844 } });
    const { page } = hana;
    await openDirect(page, 'Warbler Assistant');
    expect(await page.getByTestId('conversation-list').isVisible()).toBe(false);
    await send(page, 'What is a knowledge base?');
    const reply = page.locator(REPLY_TO_ME).last();
    await expect.poll(() => reply.getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');
    // Nothing sticks out sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'phone-chat');
    await page.getByRole('button', { name: 'Back to chats' }).click();
    await page.getByTestId('conversation-list').waitFor();
    await screenshot(page, 'phone-list');
    expect(hana.errors).toEqual([]);
    await hana.context.close();
  });

  it('is usable from the keyboard: labelled controls, Esc closes dialogs and gives focus back, Enter sends', async () => {
    const ivan = await signedIn(browser, url, 'Ivan');
    const { page } = ivan;
    const newChat = page.getByRole('button', { name: 'New chat' });
    await newChat.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Start a chat' });
    await dialog.waitFor();
    // Focus starts in the search box; Tab walks to the results.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('search');
    await page.keyboard.type('Warbler');
    await dialog.getByRole('button', { name: /^Warbler Assistant · / }).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('New chat');

    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.type('Warbler');
    const result = dialog.getByRole('button', { name: /^Warbler Assistant · / });
    await result.waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const box = page.getByRole('combobox', { name: 'Message' });
    await box.waitFor();
    // The chat opens with its message box focused: typing goes there, not to the New chat button
    // (which would reopen the picker), and no click is needed.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('composer');
    expect(await page.getByRole('dialog').count()).toBe(0);
    await page.keyboard.type('Hello from the keyboard');
    await page.keyboard.press('Enter');
    await textOf(page.locator('[data-testid="message"].mine').last(), 'Hello from the keyboard');
    // Every form control on the page has an accessible name.
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select, button')]
      .filter((el) => !(el as HTMLElement).hidden && (el as HTMLInputElement).type !== 'file')
      .filter((el) => !(el.getAttribute('aria-label') || (el as HTMLInputElement).labels?.length || el.textContent?.trim()))
      .map((el) => el.outerHTML.slice(0, 80)));
    expect(unnamed).toEqual([]);
    expect(ivan.errors).toEqual([]);
    await ivan.context.close();
  });
});
