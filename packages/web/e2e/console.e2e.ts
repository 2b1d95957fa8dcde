import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, messages, openDirect, screenshot, send, signedIn, textOf, REPLY_TO_ME } from './browser.ts';
import { adminApi, MASTER_KEY } from './warbler.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

// A document whose facts are in no other: an answer citing it can only have come from the upload.
const HANDBOOK = [
  '# Lighthouse handbook',
  '',
  '## The Zephyrine bell',
  '',
  'The keeper of the Zephyrine lighthouse rings the brass bell at seven o\'clock every evening,',
  'three long strokes, so that the fishing boats know the lamp is about to be lit.',
  '',
  '## Lamp oil',
  '',
  'Lamp oil for the Zephyrine lamp is delivered on the first Monday of each month by the supply boat Petrel.',
  '',
  // Enough text that the upload takes more than one progress event.
  ...Array.from({ length: 400 }, (_, i) => `Log entry ${i + 1}: the sea was calm and the light burned steadily through the night.`),
].join('\n');

async function consoleSignIn(page: Page): Promise<void> {
  await page.goto(url + '/console');
  await page.getByLabel('Master key').fill(MASTER_KEY);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Warbler console' }).waitFor();
}

describe('the operator console', () => {
  it('uploads a document with progress, shows its passages and a test query, attaches it to the agent, which then cites it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await consoleSignIn(page);

    await page.getByRole('link', { name: 'Knowledge bases' }).click();
    await page.getByLabel('Name').fill('Lighthouse handbook');
    await page.getByRole('button', { name: 'Create' }).click();
    await textOf(page.locator('.split-main h2'), 'Lighthouse handbook');
    // Every progress value the bar shows on the way.
    await page.evaluate(() => {
      const seen: number[] = ((window as unknown as { __progress: number[] }).__progress = []);
      new MutationObserver(() => {
        const bar = document.querySelector('progress');
        if (bar && seen.at(-1) !== bar.value) seen.push(bar.value);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByTestId('kb-upload').setInputFiles({ name: 'lighthouse.md', mimeType: 'text/markdown', buffer: Buffer.from(HANDBOOK) });
    await textOf(page.getByTestId('kb-uploaded'), /Uploaded Lighthouse handbook: \d+ passages/);
    const progress = await page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(1);
    await page.locator('tr[data-doc="Lighthouse handbook"]').getByRole('button', { name: 'Show passages' }).click();
    await textOf(page.getByRole('list', { name: 'Passages' }), 'rings the brass bell at seven o\'clock');

    await page.getByRole('textbox', { name: 'Test a question' }).fill('When is the Zephyrine bell rung?');
    await page.getByRole('button', { name: 'Search' }).click();
    const result = page.getByTestId('kb-search-result');
    await textOf(result, '[1] Lighthouse handbook');
    await textOf(result, 'seven o\'clock');
    await screenshot(page, 'console-knowledge');

    // Attach it to the demo agent.
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.locator('[data-agent="warbler-assistant"] button').click();
    await page.getByRole('checkbox', { name: /Lighthouse handbook/ }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await textOf(page.getByRole('status'), 'Saved.');
    await screenshot(page, 'console-agent');

    // Try it in the side panel.
    await page.getByRole('button', { name: 'Try it' }).click();
    const panel = page.getByRole('complementary', { name: 'Try Warbler Assistant' });
    const box = panel.getByRole('combobox', { name: 'Message' });
    await box.waitFor();
    await box.fill('When does the Zephyrine keeper ring the bell?');
    await box.press('Enter');
    const tried = panel.locator('[data-testid="message"][data-sender="warbler-assistant"]').last();
    await expect.poll(() => tried.getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');
    await textOf(tried.getByTestId('citation'), 'Lighthouse handbook');
    await screenshot(page, 'console-try-agent');
    expect(errors).toEqual([]);
    await context.close();

    // And a person in the chat app gets the same citation.
    const jane = await signedIn(browser, url, 'Jane');
    await openDirect(jane.page, 'Warbler Assistant');
    await send(jane.page, 'When is lamp oil for the Zephyrine lamp delivered?');
    const reply = jane.page.locator(REPLY_TO_ME).last();
    await expect.poll(() => reply.getAttribute('data-state'), { timeout: 20_000 }).toBe('complete');
    await textOf(reply.getByTestId('citation'), 'Lighthouse handbook');
    await reply.getByTestId('citation').filter({ hasText: 'Lighthouse handbook' }).first().click();
    await textOf(reply.getByTestId('citation-popover'), 'Petrel');
    expect(jane.errors).toEqual([]);
    await jane.context.close();

    // The document, then the knowledge base, can be deleted from the console, each after a question.
    const again = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const op = await again.newPage();
    await consoleSignIn(op);
    await op.getByRole('link', { name: 'Knowledge bases' }).click();
    await op.locator('.pick-list button', { hasText: 'Lighthouse handbook' }).click();
    const docRow = op.locator('tr[data-doc="Lighthouse handbook"]');
    await docRow.getByRole('button', { name: 'Delete' }).click();
    await docRow.getByRole('group', { name: 'Delete the document Lighthouse handbook?' }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => docRow.count()).toBe(0);
    await op.locator('.split-main .form-head').getByRole('button', { name: 'Delete' }).click();
    await screenshot(op, 'console-delete-kb');
    await op.getByRole('group', { name: /Delete the knowledge base Lighthouse handbook/ }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => op.locator('.pick-list', { hasText: 'Lighthouse handbook' }).count()).toBe(0);
    const left = await adminApi<{ knowledge_bases: Array<{ name: string }> }>(url, 'GET', '/api/knowledge-bases');
    expect(left.knowledge_bases.map((k) => k.name)).not.toContain('Lighthouse handbook');
    await again.close();
  });

  it('creates an agent, checks a model, charts usage and exports it as CSV, and creates (shown once) and revokes a gateway key', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await consoleSignIn(page);

    // A new agent, every field from the form.
    await page.getByRole('button', { name: 'New agent' }).click();
    const form = page.getByRole('form', { name: 'New agent' });
    await form.getByLabel('Name').fill('Tea Sommelier');
    await form.getByLabel('Model').selectOption('local/kb-answer');
    await form.getByLabel('System prompt').fill('You recommend teas.');
    await form.getByLabel('Temperature').fill('0.7');
    await form.getByLabel('Passages retrieved per question').fill('3');
    await form.getByLabel('In groups, answer').selectOption('all');
    await form.getByLabel('Monthly budget (USD, empty for none)').fill('2.5');
    await form.getByRole('checkbox', { name: /Warbler docs/ }).check();
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('.pick-list', { hasText: 'Tea Sommelier' }).waitFor();
    const created = (await adminApi<{ agents: Array<Record<string, unknown>> }>(url, 'GET', '/api/agents')).agents.find((a) => a.name === 'Tea Sommelier');
    expect(created).toMatchObject({
      model: 'local/kb-answer', system_prompt: 'You recommend teas.', temperature: 0.7, top_k: 3, trigger: { group: 'all' },
      monthly_budget_usd: 2.5, knowledge_base_ids: ['warbler-docs'], tools: [],
    });
    // Right after Create the form is the saved agent: it used to show blank defaults, which Save then wrote back.
    const edit = page.getByRole('form', { name: 'Edit Tea Sommelier' });
    await edit.waitFor();
    await textOf(edit.getByRole('status'), 'Saved');
    expect(await edit.getByLabel('Name').inputValue()).toBe('Tea Sommelier');
    expect(await edit.getByLabel('System prompt').inputValue()).toBe('You recommend teas.');
    expect(await edit.getByRole('checkbox', { name: /Warbler docs/ }).isChecked()).toBe(true);
    await edit.getByRole('button', { name: 'Save' }).click();
    await textOf(edit.getByRole('status'), 'Saved');
    const resaved = (await adminApi<{ agents: Array<Record<string, unknown>> }>(url, 'GET', '/api/agents')).agents.find((a) => a.id === created!.id);
    expect(resaved).toMatchObject({ name: 'Tea Sommelier', system_prompt: 'You recommend teas.', model: 'local/kb-answer', knowledge_base_ids: ['warbler-docs'], monthly_budget_usd: 2.5 });
    // And it can be deleted, after saying what that means.
    await edit.getByRole('button', { name: 'Delete' }).click();
    await edit.getByRole('group', { name: /Delete the agent Tea Sommelier\?/ }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.locator('.pick-list', { hasText: 'Tea Sommelier' }).count()).toBe(0);
    expect((await adminApi<{ agents: Array<{ id: string }> }>(url, 'GET', '/api/agents')).agents.some((a) => a.id === created!.id)).toBe(false);

    await page.getByRole('link', { name: 'Providers & models' }).click();
    const row = page.locator('tr[data-model="local/kb-answer"]');
    await row.getByRole('button', { name: 'Check' }).click();
    await textOf(row.getByRole('status'), /answers \(\d+ ms\)/);
    await screenshot(page, 'console-models');

    // Agent calls so far (other tests' and this one's check) are in the ledger.
    await page.getByRole('link', { name: 'Usage & cost' }).click();
    const table = page.getByTestId('usage-table');
    await table.waitFor();
    await expect.poll(async () => Number(await table.locator('tfoot td').first().textContent()), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.getByLabel('Group by').selectOption('agent');
    // Agents by name, not by id.
    await textOf(table, 'Warbler Assistant');
    await page.getByLabel('Group by').selectOption('model');
    await textOf(table, 'local/kb-answer');
    // Money reads as money: one amount per row, no trailing zeros of a fixed six digits.
    expect((await table.locator('tfoot').textContent()) ?? '').not.toMatch(/USD|\$\d+\.\d{6}\b/);
    await page.getByRole('radio', { name: 'Average latency (ms)' }).check();
    await page.locator('figure.chart svg rect').first().waitFor();
    await screenshot(page, 'console-usage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('model,calls,failed,prompt_tokens,cached_tokens,completion_tokens,reasoning_tokens,cost_usd,cost_by_currency,avg_latency_ms');
    expect(csv).toContain('local/kb-answer,');

    await page.getByRole('link', { name: 'Gateway keys' }).click();
    await page.getByLabel('Name').fill('Reporting script');
    await page.getByLabel('Requests per minute').fill('60');
    await page.getByLabel('Monthly budget (USD)').fill('5');
    await page.getByRole('button', { name: 'Create' }).click();
    const secret = (await page.getByTestId('new-key-secret').textContent()) ?? '';
    expect(secret).toMatch(/^wk-/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await textOf(page.getByRole('status').filter({ hasText: 'Copied' }), 'Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const keyRow = page.locator('tr', { hasText: 'Reporting script' });
    await textOf(keyRow, 'active');
    await textOf(keyRow, '60');
    expect((await keyRow.textContent()) ?? '').not.toContain(secret);
    await screenshot(page, 'console-keys');
    expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    // Revoking asks first; Cancel changes nothing.
    await keyRow.getByRole('button', { name: 'Revoke' }).click();
    const ask = keyRow.getByRole('group', { name: 'Revoke the key Reporting script? It stops working at once.' });
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await textOf(keyRow, 'active');
    expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    await keyRow.getByRole('button', { name: 'Revoke' }).click();
    await ask.getByRole('button', { name: 'Revoke' }).click();
    await textOf(keyRow, 'revoked');
    expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    // Shown once: a reload lists the key without its secret.
    await page.reload();
    await textOf(page.locator('tr', { hasText: 'Reporting script' }), 'revoked');
    expect(await page.getByTestId('new-key-secret').count()).toBe(0);

    expect(errors).toEqual([]);
    await context.close();
  });

  it('fits a phone: nothing sticks out sideways and Sign out is on screen, on every page', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
    const page = await context.newPage();
    await page.goto(url + '/console');
    await page.getByLabel('主密钥').fill(MASTER_KEY);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    for (const link of ['模型与供应商', '智能体', '知识库', '用量与费用', '网关密钥']) {
      await page.getByRole('link', { name: link }).click();
      await page.locator('main h1').waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth), link).toBeLessThanOrEqual(390);
      const signOut = await page.getByRole('button', { name: '退出登录' }).boundingBox();
      expect(signOut, link).not.toBeNull();
      expect(signOut!.x + signOut!.width, link).toBeLessThanOrEqual(390);
    }
    await screenshot(page, 'console-phone-zh');
    await context.close();
  });
});
