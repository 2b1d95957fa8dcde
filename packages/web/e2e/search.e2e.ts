// Message search and reactions in the browser: a search finds a message
// (English and Chinese) and opens its conversation at it, even when it is
// older than the first page of history; two people see a reaction come and go.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeFindings, launch, messages, openDirect, screenshot, send, signedIn, textOf } from './browser.ts';
import { adminApi } from './warbler.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function sessionOf(page: Page): Promise<{ userId: string; token: string }> {
  return page.evaluate(() => JSON.parse(localStorage.getItem('warbler.session') ?? '{}'));
}

async function openConversationId(page: Page): Promise<string> {
  await expect.poll(() => new URL(page.url()).searchParams.get('c'), { timeout: 10_000 }).toBeTruthy();
  return new URL(page.url()).searchParams.get('c')!;
}

/** Messages sent through the API as `senderId`, so a long history exists without typing it. */
async function fill(conversationId: string, senderId: string, texts: string[]): Promise<void> {
  for (const text of texts) await adminApi(url, 'POST', `/api/conversations/${conversationId}/messages`, { sender_id: senderId, type: 'text', content: { text } });
}


/** Whether the message is inside the visible part of the message list. */
async function inView(page: Page, messageId: string): Promise<boolean> {
  return page.evaluate((id) => {
    const list = document.querySelector('.messages')!.getBoundingClientRect();
    const el = document.querySelector(`[data-testid="message"][data-id="${id}"]`)?.getBoundingClientRect();
    return !!el && el.top >= list.top - 1 && el.bottom <= list.bottom + 1;
  }, messageId);
}

describe('message search', () => {
  it('finds an English message older than the first page and opens the chat at it, highlighted (desktop and phone)', async () => {
    const ana = await signedIn(browser, url, 'Ana Search');
    const ben = await signedIn(browser, url, 'Ben Search');
    await openDirect(ben.page, 'Ana Search');
    const conversationId = await openConversationId(ben.page);
    const benId = (await sessionOf(ben.page)).userId;
    const word = `zephyr${Date.now().toString(36)}`;
    await send(ben.page, `The door code for Friday is 4471, ask for the ${word.toUpperCase()} room.`);
    await textOf(messages(ben.page).last(), '4471');
    const target = await messages(ben.page).last().getAttribute('data-id');
    // 60 more: the message is no longer on the first page (40) of history.
    await fill(conversationId, benId, Array.from({ length: 60 }, (_, i) => `Filler line ${i + 1} about nothing in particular`));

    await ana.page.reload();
    await ana.page.getByTestId('conversation-list').waitFor();
    await ana.page.getByRole('searchbox', { name: 'Search messages' }).fill(word);
    const hit = ana.page.getByTestId('search-hit').first();
    await textOf(hit, '4471');
    await textOf(hit.locator('mark'), word.toUpperCase());
    await textOf(hit, 'Ben Search');
    await screenshot(ana.page, 'search-results-en');
    await hit.click();
    const found = ana.page.locator(`[data-testid="message"][data-id="${target}"]`);
    await expect.poll(() => found.getAttribute('data-flash'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => inView(ana.page, target!), { timeout: 10_000 }).toBe(true);
    await screenshot(ana.page, 'search-jump-en-desktop');

    // On a phone: the list and the chat take turns; the result opens the chat at the message too.
    await ana.page.setViewportSize({ width: 390, height: 844 });
    await ana.page.getByRole('button', { name: 'Back to chats' }).click();
    const box = ana.page.getByRole('searchbox', { name: 'Search messages' });
    await box.fill('');
    await box.fill(word);
    await ana.page.getByTestId('search-hit').first().click();
    await expect.poll(() => found.getAttribute('data-flash'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => inView(ana.page, target!), { timeout: 10_000 }).toBe(true);
    await screenshot(ana.page, 'search-jump-en-phone');
    expect([...ana.errors, ...ben.errors]).toEqual([]);
    await ana.context.close();
    await ben.context.close();
  });

  it('finds Chinese by characters in a zh-CN browser, and says when nothing matches', async () => {
    const li = await signedIn(browser, url, '李搜索', { locale: 'zh-CN' });
    const wang = await signedIn(browser, url, '王搜索', { locale: 'zh-CN' });
    await openDirect(wang.page, '李搜索');
    await send(wang.page, '明天下午三点在三号会议室开项目评审会');
    await textOf(messages(wang.page).last(), '会议室');
    const target = await messages(wang.page).last().getAttribute('data-id');
    await send(wang.page, '好的');

    await li.page.emulateMedia({ colorScheme: 'dark' });
    await li.page.reload();
    const box = li.page.getByRole('searchbox', { name: '搜索消息' });
    await box.fill('三号会议室');
    const hit = li.page.getByTestId('search-hit').first();
    await textOf(hit.locator('mark'), '三号会议室');
    await screenshot(li.page, 'search-results-zh');
    expect(await axeFindings(li.page, ['.search-box', '.search-results']), 'search results (zh-CN, dark)').toEqual([]);
    await hit.click();
    await expect.poll(() => li.page.locator(`[data-testid="message"][data-id="${target}"]`).getAttribute('data-flash'), { timeout: 15_000 }).toBe('true');
    await screenshot(li.page, 'search-jump-zh-desktop');

    await box.fill('不存在的词语');
    await textOf(li.page.getByTestId('search-results'), '没有包含“不存在的词语”的消息');
    await box.press('Escape');
    await expect.poll(() => li.page.getByTestId('conversation-list').isVisible()).toBe(true);
    expect([...li.errors, ...wang.errors]).toEqual([]);
    await li.context.close();
    await wang.context.close();
  });
});

describe('reactions', () => {
  it('two people see a reaction appear and disappear live, with who reacted', async () => {
    const kim = await signedIn(browser, url, 'Kim React');
    const lou = await signedIn(browser, url, 'Lou React', { viewport: { width: 390, height: 844 } });
    await openDirect(kim.page, 'Lou React');
    await send(kim.page, 'Pizza tonight?');
    await textOf(messages(kim.page).last(), 'Pizza tonight?');
    await lou.page.locator('.conversation-item', { hasText: 'Kim React' }).click();
    const louMessage = messages(lou.page).filter({ hasText: 'Pizza tonight?' });
    await louMessage.waitFor();

    // Lou (a phone) reacts through the ☺ button's quick bar.
    await louMessage.getByRole('button', { name: 'Add a reaction' }).click();
    await lou.page.getByRole('toolbar', { name: 'Reactions' }).getByRole('button', { name: 'React with 🎉' }).click();
    const louChip = louMessage.getByTestId('reaction-chip');
    await expect.poll(() => louChip.getAttribute('aria-pressed')).toBe('true');

    const kimChip = messages(kim.page).filter({ hasText: 'Pizza tonight?' }).getByTestId('reaction-chip');
    await expect.poll(() => kimChip.getAttribute('aria-label'), { timeout: 15_000 }).toMatch(/🎉 1: Lou React/);
    expect(await kimChip.getAttribute('aria-pressed')).toBe('false');
    await screenshot(kim.page, 'reaction-desktop');
    expect(await axeFindings(kim.page, ['.reactions']), 'reaction chips').toEqual([]);
    await messages(kim.page).filter({ hasText: 'Pizza tonight?' }).getByRole('button', { name: 'Add a reaction' }).click();
    expect(await axeFindings(kim.page, ['.reaction-bar']), 'reaction bar').toEqual([]);
    await kim.page.keyboard.press('Escape');
    await expect.poll(() => kim.page.getByTestId('reaction-bar').count()).toBe(0);
    await screenshot(lou.page, 'reaction-phone');

    // Kim adds the same one: 2, both names; Lou takes theirs back: 1; Kim takes theirs back: gone for both.
    await kimChip.click();
    await expect.poll(() => louChip.getAttribute('aria-label'), { timeout: 15_000 }).toMatch(/🎉 2: Lou React|🎉 2: You/);
    await louChip.click();
    await expect.poll(() => kimChip.getAttribute('aria-label'), { timeout: 15_000 }).toMatch(/🎉 1: You/);
    await kimChip.click();
    await expect.poll(() => louChip.count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => kimChip.count(), { timeout: 15_000 }).toBe(0);
    expect([...kim.errors, ...lou.errors]).toEqual([]);
    await kim.context.close();
    await lou.context.close();
  });
});
