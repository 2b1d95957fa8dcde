import type { Browser } from 'playwright-core';
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

const ATTACK = [
  '**Hello** there <script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'img\'">',
  '<a href="javascript:window.__pwned=\'link\'">click me</a> and [also me](javascript:window.__pwned=1)',
  '<svg onload="window.__pwned=\'svg\'"></svg><iframe src="javascript:parent.__pwned=\'iframe\'"></iframe>',
  '<p style="position:fixed;inset:0" onclick="window.__pwned=\'click\'">overlay</p>',
  'and <div>a div</div> typed as text',
  '',
  '```js',
  '<script>alert(1)</script>',
  '```',
].join('\n');

describe('Markdown from others is rendered inert', () => {
  it('runs no script from a message (script tag, img onerror, javascript: links, svg, iframe)', async () => {
    const victor = await signedIn(browser, url, 'Victor');
    const mallory = await signedIn(browser, url, 'Mallory');
    await openDirect(mallory.page, 'Victor');
    await send(mallory.page, ATTACK);
    // The same text straight through the API as well, in case a client ever rewrote it.
    const conv = (await adminApi<{ conversations: Array<{ id: string }> }>(url, 'GET', '/api/conversations?user_id=~mallory')).conversations[0]!;
    await adminApi(url, 'POST', `/api/conversations/${conv.id}/messages`, { sender_id: '~mallory', type: 'text', content: { text: ATTACK } });

    await victor.page.locator('.conversation-item', { hasText: 'Mallory' }).click();
    await expect.poll(() => messages(victor.page).count()).toBe(2);
    await textOf(messages(victor.page).last(), 'Hello');

    for (const { page } of [victor, mallory]) {
      // Give any handler (onerror fires once the image fails) a moment to run.
      await page.waitForTimeout(500);
      await messages(page).last().locator('a', { hasText: 'click me' }).click().catch(() => undefined);
      await messages(page).last().locator('p', { hasText: 'overlay' }).click().catch(() => undefined);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
      const html = await messages(page).last().locator('.markdown').innerHTML();
      // No element that could run or restyle anything; the attack is shown as the text it is.
      const live = await messages(page).last().locator('.markdown').evaluate((root) =>
        [...root.querySelectorAll('*')].filter((el) => /^(script|img|svg|iframe)$/i.test(el.tagName)
          || [...el.attributes].some((a) => /^on|^style$/i.test(a.name) || /javascript:/i.test(a.value))).length);
      expect(live).toBe(0);
      const shown = (await messages(page).last().locator('.markdown').textContent()) ?? '';
      expect(shown).toContain('<img src="x" onerror=');
      expect(shown).toContain('<div>a div</div>');
      // The Markdown itself still renders: bold, and the code block shows the tag as text.
      expect(html).toContain('<strong>Hello</strong>');
      expect(await messages(page).last().locator('pre code').textContent()).toContain('<script>alert(1)</script>');
    }
    await screenshot(victor.page, 'markdown-sanitised');
    expect([...victor.errors, ...mallory.errors]).toEqual([]);
    await victor.context.close();
    await mallory.context.close();
  });
});
