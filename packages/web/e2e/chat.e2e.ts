import type { Browser } from 'playwright-core';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, messages, openDirect, screenshot, send, signedIn, textOf } from './browser.ts';
import { adminApi } from './warbler.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

// A 2×2 PNG, so the image path (upload, message, preview) runs on a real image.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');

/** A solid PNG of any size (zlib + CRC32 from Node), for images that take real room in the list. */
function solidPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x5a)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

describe('chat between people', () => {
  it('opens a chat at its newest message even when the last messages are images', async () => {
    const ivy = await signedIn(browser, url, 'Ivy');
    const jon = await signedIn(browser, url, 'Jon');
    await openDirect(ivy.page, 'Jon');
    for (let i = 0; i < 12; i++) await send(ivy.page, `Line ${i} of a long enough chat to scroll`);
    for (const name of ['wide.png', 'tall.png']) {
      await ivy.page.locator('.composer input[type="file"]').setInputFiles({ name, mimeType: 'image/png', buffer: name === 'wide.png' ? solidPng(600, 400) : solidPng(300, 500) });
      await ivy.page.getByRole('button', { name: new RegExp(`Image preview: ${name}`) }).waitFor();
    }
    await jon.page.reload();
    await jon.page.locator('.conversation-item', { hasText: 'Ivy' }).click();
    const list = jon.page.locator('.messages');
    await jon.page.getByRole('button', { name: /Image preview: tall\.png/ }).locator('img').evaluate((img: HTMLImageElement) => img.decode());
    // Give layout a frame after the last image.
    await jon.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const gap = await list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    await screenshot(jon.page, 'images-at-bottom');
    expect(gap).toBeLessThan(4);
    expect([...ivy.errors, ...jon.errors]).toEqual([]);
    await ivy.context.close();
    await jon.context.close();
  });

  it('two people in two browsers see each other\'s messages, typing, unread badges and read receipts live', async () => {
    const bob = await signedIn(browser, url, 'Bob');
    const alice = await signedIn(browser, url, 'Alice');

    await openDirect(alice.page, 'Bob');
    await send(alice.page, 'Hi Bob, lunch at noon?');
    await textOf(messages(alice.page).last(), 'Hi Bob, lunch at noon?');

    // Bob did not open anything: the chat appears in his list, with the last message and an unread badge.
    const fromAlice = bob.page.locator('.conversation-item', { hasText: 'Alice' });
    await textOf(fromAlice, 'Hi Bob, lunch at noon?');
    await textOf(fromAlice.getByTestId('unread'), '1');
    await screenshot(bob.page, 'chat-list-unread');
    // His client has it, not yet read.
    await textOf(alice.page.getByTestId('receipt'), 'Delivered');

    await fromAlice.click();
    await textOf(messages(bob.page).last(), 'Hi Bob, lunch at noon?');
    await expect.poll(() => fromAlice.getByTestId('unread').count()).toBe(0);
    await textOf(alice.page.getByTestId('receipt'), 'Read');

    // Typing shows on the other side while Bob types, and goes once he has sent.
    const bobBox = bob.page.getByRole('combobox', { name: 'Message' });
    await bobBox.pressSequentially('Sure, see you', { delay: 40 });
    await textOf(alice.page.getByTestId('typing'), 'Bob is typing');
    await screenshot(alice.page, 'chat-typing');
    await bobBox.press('Enter');
    await textOf(messages(alice.page).last(), 'Sure, see you');
    await expect.poll(() => alice.page.getByTestId('typing').count()).toBe(0);
    await textOf(bob.page.getByTestId('receipt'), 'Read');

    // Edit and recall reach the other side in place.
    const mine = messages(alice.page).filter({ hasText: 'Hi Bob, lunch at noon?' });
    await mine.getByRole('button', { name: 'Message actions' }).click();
    await mine.getByRole('button', { name: 'Edit' }).click();
    const edit = alice.page.getByRole('textbox', { name: 'Edit' });
    await edit.fill('Hi Bob, lunch at one?');
    await edit.press('Enter');
    const edited = messages(bob.page).filter({ hasText: 'Hi Bob, lunch at one?' });
    await textOf(edited, 'edited');
    await messages(alice.page).filter({ hasText: 'Hi Bob, lunch at one?' }).getByRole('button', { name: 'Message actions' }).click();
    await alice.page.getByRole('button', { name: 'Recall' }).click();
    await expect.poll(() => messages(bob.page).filter({ hasText: 'This message was recalled.' }).count()).toBe(1);
    await expect.poll(() => messages(bob.page).filter({ hasText: 'lunch at one' }).count()).toBe(0);

    // An image with a preview, and a file.
    await alice.page.locator('.composer input[type="file"]').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
    const image = bob.page.getByRole('button', { name: /Image preview: dot\.png/ });
    await image.waitFor();
    await image.click();
    const preview = bob.page.getByRole('dialog', { name: 'dot.png' });
    await preview.waitFor();
    expect(await preview.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(2);
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => bob.page.getByRole('dialog').count()).toBe(0);
    await alice.page.locator('.composer input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('remember the cake') });
    await textOf(bob.page.locator('a.file'), 'notes.txt');
    await screenshot(bob.page, 'chat-conversation');
    // Files load through short-lived links with no session token in them; a text file downloads rather than opens.
    const imageSrc = await bob.page.locator('.image-thumb img').last().getAttribute('src');
    expect(imageSrc).toMatch(/\/api\/files\/[^?]+\?app=[^&]+&exp=\d+&sig=[\w-]+$/);
    const fileHref = await bob.page.locator('a.file').last().getAttribute('href');
    expect(fileHref).toMatch(/sig=/);
    for (const link of [imageSrc, fileHref]) expect(link).not.toMatch(/token=/);
    const download = await bob.page.evaluate(async (href) => {
      const res = await fetch(href);
      return { status: res.status, disposition: res.headers.get('content-disposition'), text: await res.text() };
    }, fileHref!);
    expect(download).toEqual({ status: 200, disposition: "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt", text: 'remember the cake' });
    // After a reload the page asks for fresh links, and the image shows again.
    await bob.page.reload();
    await bob.page.locator('.conversation-item', { hasText: 'Alice' }).click();
    const reloaded = bob.page.locator('.image-thumb img').last();
    await reloaded.waitFor();
    await expect.poll(() => reloaded.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(2);

    expect([...alice.errors, ...bob.errors]).toEqual([]);
    await alice.context.close();
    await bob.context.close();
  });

  it('creates a group, adds members, and completes an @mention of an agent, who answers', async () => {
    await adminApi(url, 'POST', '/api/users', { id: 'carol', name: 'Carol' }).catch(() => undefined);
    const dave = await signedIn(browser, url, 'Dave');
    const erin = await signedIn(browser, url, 'Erin');
    const page = dave.page;

    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Group name').fill('Lunch club');
    await dialog.getByRole('searchbox').fill('Erin');
    await dialog.getByRole('checkbox', { name: /^Erin · / }).check();
    await dialog.getByRole('searchbox').fill('Warbler');
    await dialog.getByRole('checkbox', { name: /^Warbler Assistant · / }).check();
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await textOf(page.locator('.conversation-name'), 'Lunch club');
    await textOf(page.locator('.conversation-head'), 'Members: 3');

    // Erin was added: the group shows up in her list without a reload.
    await erin.page.locator('.conversation-item', { hasText: 'Lunch club' }).waitFor();

    // @ suggests members; Enter picks one.
    const box = page.getByRole('combobox', { name: 'Message' });
    await box.pressSequentially('@Warb');
    const option = page.getByRole('option', { name: /Warbler Assistant/ });
    await option.waitFor();
    await screenshot(page, 'chat-mention');
    await box.press('Enter');
    expect(await box.inputValue()).toBe('@Warbler Assistant ');
    await box.pressSequentially('how do I install Warbler?');
    await box.press('Enter');
    // The agent answers in the group (it only answers there when mentioned).
    const reply = messages(page).and(page.locator('[data-sender="warbler-assistant"]'));
    await reply.first().waitFor({ timeout: 20_000 });
    await expect.poll(() => reply.first().getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');
    await erin.page.locator('.conversation-item', { hasText: 'Lunch club' }).click();
    await messages(erin.page).and(erin.page.locator('[data-sender="warbler-assistant"]')).first().waitFor();

    await page.getByRole('button', { name: 'Add members' }).click();
    await page.getByRole('dialog').getByRole('searchbox').fill('Carol');
    await page.getByRole('dialog').getByRole('checkbox', { name: /^Carol · / }).check();
    await page.getByRole('dialog').getByRole('button', { name: 'Add', exact: true }).click();
    await textOf(page.locator('.conversation-head'), 'Members: 4');

    expect([...dave.errors, ...erin.errors]).toEqual([]);
    await dave.context.close();
    await erin.context.close();
  });

  it('loads older history as you scroll up', async () => {
    await adminApi(url, 'POST', '/api/users', { id: 'historian', name: 'Historian' }).catch(() => undefined);
    const frank = await signedIn(browser, url, 'Frank');
    const conv = await adminApi<{ id: string }>(url, 'POST', '/api/conversations', { kind: 'direct', member_ids: ['~frank', 'historian'] });
    for (let i = 1; i <= 130; i++) {
      await adminApi(url, 'POST', `/api/conversations/${conv.id}/messages`, { sender_id: 'historian', type: 'text', content: { text: `Entry number ${i}` } });
    }
    const page = frank.page;
    await page.locator('.conversation-item', { hasText: 'Historian' }).click();
    await textOf(messages(page).last(), 'Entry number 130');
    const first = async () => Number(await messages(page).first().getAttribute('data-seq'));
    expect(await first()).toBeGreaterThan(1);
    // Scrolling to the top loads the page before, keeping the reader's place, until the beginning.
    await expect.poll(async () => {
      await page.getByTestId('messages').evaluate((el) => el.scrollTo({ top: 0 }));
      return first();
    }, { timeout: 20_000, interval: 300 }).toBe(1);
    await textOf(page.getByTestId('messages'), 'This is the beginning of the conversation.');
    expect(await messages(page).count()).toBe(130);
    expect(frank.errors).toEqual([]);
    await frank.context.close();
  });
  it('reads like a chat app: day separators, grouped runs, a jump-to-latest count, unread in the tab title, mentions of me, code you can copy', async () => {
    await adminApi(url, 'POST', '/api/users', { id: 'chatty', name: 'Chatty' }).catch(() => undefined);
    const gus = await signedIn(browser, url, 'Gus');
    await gus.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    const conv = await adminApi<{ id: string }>(url, 'POST', '/api/conversations', { kind: 'group', title: 'Chatty room', member_ids: ['~gus', 'chatty'] });
    const say = (content: Record<string, unknown>) => adminApi(url, 'POST', `/api/conversations/${conv.id}/messages`, { sender_id: 'chatty', type: 'text', content });
    for (let i = 1; i <= 40; i++) await say({ text: `Line ${i}` });
    await say({ text: 'Run this:\n\n```sh\nnpm ci && npm test\n```' });
    await say({ text: 'Look @Gus', mentions: ['~gus'] });
    const { page } = gus;
    // Unread, while the chat is not open: the tab title counts it (42 here and the assistant's welcome).
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(43) Warbler');
    // Settled: it does not count some messages twice a moment later.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await page.title()).toBe('(43) Warbler');
    await page.locator('.conversation-item', { hasText: 'Chatty room' }).click();
    await textOf(messages(page).last(), 'Look @Gus');
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(1) Warbler');
    expect(await page.getByTestId('day-separator').allTextContents()).toEqual(['Today']);
    // One sender's run reads as one block: the name shows once.
    expect(await page.locator('[data-testid="message"] .sender').count()).toBe(1);
    expect(await messages(page).last().evaluate((el) => el.classList.contains('mentions-me'))).toBe(true);
    const code = messages(page).filter({ hasText: 'npm ci' });
    await code.getByRole('button', { name: 'Copy' }).click();
    await textOf(code.getByRole('button', { name: 'Copied' }), 'Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('npm ci && npm test\n');

    // Reading above: what arrives is counted on the jump button, which brings the newest into view.
    // The first message lands before the list's scroll event is handled (as when both fall in one frame):
    // the scroll event is held back until it has arrived, and it still counts as unseen.
    await page.evaluate(() => {
      const hold = (e: Event) => e.stopPropagation();
      window.addEventListener('scroll', hold, true);
      (window as unknown as { releaseScroll: () => void }).releaseScroll = () => window.removeEventListener('scroll', hold, true);
    });
    await page.getByTestId('messages').evaluate((el) => el.scrollTo({ top: 0 }));
    await say({ text: 'New one' });
    const jump = page.getByTestId('jump-latest');
    await textOf(jump, '1 new');
    await page.evaluate(() => (window as unknown as { releaseScroll: () => void }).releaseScroll());
    await say({ text: 'And another' });
    await textOf(jump, '2 new');
    await screenshot(page, 'chat-jump-latest');
    await jump.click();
    await expect.poll(() => page.getByTestId('messages').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 60)).toBe(true);
    await expect.poll(() => jump.count()).toBe(0);
    expect(gus.errors).toEqual([]);
    await gus.context.close();
  });
  it('answers a message with a quote that both people see and that leads back to it', async () => {
    const hal = await signedIn(browser, url, 'Hal');
    const ida = await signedIn(browser, url, 'Ida', { locale: 'zh-CN' });
    await openDirect(hal.page, 'Ida');
    await send(hal.page, 'Which train do we take on Friday?');
    await send(hal.page, 'And who brings the tickets?');
    await ida.page.locator('.conversation-item', { hasText: 'Hal' }).click();
    const question = messages(ida.page).filter({ hasText: 'Which train' });
    await question.waitFor();
    await question.getByRole('button', { name: '回复', exact: true }).click();
    await textOf(ida.page.getByTestId('replying'), '回复 Hal');
    await textOf(ida.page.getByTestId('replying'), 'Which train do we take on Friday?');
    // The reply button hands the keyboard to the message box.
    await expect.poll(() => ida.page.evaluate(() => document.activeElement?.id)).toBe('composer');
    await ida.page.keyboard.type('The 8:15 from the central station');
    await ida.page.keyboard.press('Enter');
    await expect.poll(() => ida.page.getByTestId('replying').count()).toBe(0);

    const answer = messages(hal.page).filter({ hasText: 'The 8:15' });
    await answer.waitFor();
    await textOf(answer.getByTestId('quote'), 'Which train do we take on Friday?');
    await textOf(messages(ida.page).filter({ hasText: 'The 8:15' }).getByTestId('quote'), 'Hal');
    await answer.getByTestId('quote').click();
    await expect.poll(() => messages(hal.page).filter({ hasText: 'Which train' }).first().evaluate((el) => el.classList.contains('flash'))).toBe(true);
    await screenshot(hal.page, 'chat-reply');
    await screenshot(ida.page, 'chat-reply-zh');
    expect([...hal.errors, ...ida.errors]).toEqual([]);
    await hal.context.close();
    await ida.context.close();
  });
});
