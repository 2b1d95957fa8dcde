import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, messages, openDirect, screenshot, send, signedIn, textOf, REPLY_TO_ME } from './browser.ts';
import { adminApi } from './warbler.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('the demo agent (Warbler Assistant on local/kb-answer, offline)', () => {
  it('streams an answer with its state shown, cites the docs, and keeps a thumbs-up', async () => {
    const grace = await signedIn(browser, url, 'Grace');
    const { page } = grace;
    // A newcomer's list is not empty: the assistant has said hello.
    await textOf(page.getByTestId('conversation-list'), 'Warbler Assistant');
    await textOf(page.getByTestId('conversation-list'), "Hi! I'm Warbler Assistant");
    await screenshot(page, 'welcome');
    await openDirect(page, 'Warbler Assistant');
    // Every agent state the page shows, however briefly.
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { __agentStates: string[] }).__agentStates = []);
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid="agent-state"]')) {
          const state = el.getAttribute('data-state');
          if (state && seen.at(-1) !== state) seen.push(state);
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });

    await send(page, 'How do I install Warbler and start it?');
    const reply = page.locator(REPLY_TO_ME).last();
    await expect.poll(() => reply.getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');
    // It came as a streaming message grown by deltas, not as one finished message.
    expect(Number(await reply.getAttribute('data-deltas'))).toBeGreaterThan(0);
    const states = await page.evaluate(() => (window as unknown as { __agentStates: string[] }).__agentStates);
    expect(states).toContain('searching');
    expect(states).toContain('generating');
    await expect.poll(() => page.getByTestId('agent-state').count()).toBe(0);

    // Citations: [n] in the text and a list of sources, each opening the passage.
    expect(await reply.locator('.markdown a.cite').count()).toBeGreaterThan(0);
    const source = reply.getByTestId('citation').first();
    await source.click();
    const popover = reply.getByTestId('citation-popover');
    await popover.waitFor();
    expect(((await popover.locator('blockquote').textContent()) ?? '').length).toBeGreaterThan(20);
    await screenshot(page, 'agent-answer-citation');
    await popover.press('Escape');
    await expect.poll(() => popover.count()).toBe(0);

    // Thumbs up is stored with the message (content.feedback) and survives a reload.
    await reply.getByTestId('thumbs-up').click();
    await expect.poll(() => reply.getByTestId('thumbs-up').getAttribute('aria-pressed')).toBe('true');
    const id = await reply.getAttribute('data-id');
    const conv = (await adminApi<{ conversations: Array<{ id: string; kind: string }> }>(url, 'GET', '/api/conversations?user_id=~grace')).conversations[0]!;
    const history = await adminApi<{ messages: Array<{ id: string; content: { feedback?: Record<string, string> } }> }>(url, 'GET', `/api/conversations/${conv.id}/messages?limit=50`);
    expect(history.messages.find((m) => m.id === id)?.content.feedback).toEqual({ '~grace': 'up' });
    await page.reload();
    const again = page.locator(`[data-id="${id}"]`);
    await expect.poll(() => again.getByTestId('thumbs-up').getAttribute('aria-pressed'), { timeout: 15_000 }).toBe('true');
    await again.getByTestId('thumbs-down').click();
    await expect.poll(() => again.getByTestId('thumbs-down').getAttribute('aria-pressed')).toBe('true');
    expect(await again.getByTestId('thumbs-up').getAttribute('aria-pressed')).toBe('false');

    expect(grace.errors).toEqual([]);
    await grace.context.close();
  });
});
