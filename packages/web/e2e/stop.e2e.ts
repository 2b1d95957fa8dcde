import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, openDirect, screenshot, send, signedIn, textOf } from './browser.ts';
import { adminApi, startWarbler, type RunningWarbler } from './warbler.ts';

let browser: Browser;
let upstream: UpstreamFixture;
let warbler: RunningWarbler;

// A long answer, one word every 120 ms: half a minute of streaming unless someone stops it.
const LONG = Array.from({ length: 250 }, (_, i) => `word${i + 1}`).join(' ');

beforeAll(async () => {
  upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { text: LONG, intervalMs: 120 } });
  warbler = await startWarbler({ env: { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url } });
  await adminApi(warbler.url, 'POST', '/api/agents', { id: 'slow-writer', name: 'Slow Writer', model: 'gpt-4o-mini', system_prompt: 'Write at length.' });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
  await upstream?.close();
});

describe('stopping an AI reply (gpt-4o-mini through the upstream fixture)', () => {
  it('shows the reply streaming with its state, and the stop button stops it for good', async () => {
    const kate = await signedIn(browser, warbler.url, 'Kate');
    const { page } = kate;
    await openDirect(page, 'Slow Writer');
    await send(page, 'Tell me everything.');

    const reply = page.locator('[data-testid="message"][data-sender="slow-writer"]').last();
    await textOf(reply, 'word5', 20_000);
    expect(await reply.getAttribute('data-state')).toBe('streaming');
    await textOf(page.getByTestId('agent-state'), 'Slow Writer: Writing…');
    await screenshot(page, 'agent-streaming');

    await reply.getByTestId('stop').click();
    // Stopped with text: the reply is kept as it was, marked stopped, and grows no more.
    await expect.poll(() => reply.getAttribute('data-state'), { timeout: 10_000 }).toBe('complete');
    await textOf(reply.locator('.meta'), 'Stopped');
    expect(await reply.getByTestId('stop').count()).toBe(0);
    const text = (await reply.locator('.markdown').textContent()) ?? '';
    expect(text).not.toContain('word250');
    await page.waitForTimeout(1_000);
    expect((await reply.locator('.markdown').textContent()) ?? '').toBe(text);
    await expect.poll(() => page.getByTestId('agent-state').count()).toBe(0);
    await screenshot(page, 'agent-stopped');

    // The server agrees: stored as stopped, with the text the reader saw.
    const conv = (await adminApi<{ conversations: Array<{ id: string }> }>(warbler.url, 'GET', '/api/conversations?user_id=~kate')).conversations[0]!;
    const stored = (await adminApi<{ messages: Array<{ sender_id: string; state: string; content: { text: string; stopped?: boolean } }> }>(warbler.url, 'GET', `/api/conversations/${conv.id}/messages`))
      .messages.find((m) => m.sender_id === 'slow-writer')!;
    expect(stored.state).toBe('complete');
    expect(stored.content.stopped).toBe(true);
    expect(stored.content.text.trim()).toBe(text.trim());
    expect(upstream.counts.chat).toBe(1);
    expect(kate.errors).toEqual([]);
    await kate.context.close();
  });
});
