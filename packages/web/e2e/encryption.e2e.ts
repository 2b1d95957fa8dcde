// Encryption at rest in the console: the operator sees where the master secret
// comes from (with the backup warning for a key file), each app's data key
// versions, rotates one with a confirmation and watches the re-encryption run
// to the end; then the audit log has the rotation. Screens at desktop and
// phone size, en and zh-CN.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, openConsole, screenshot, textOf } from './browser.ts';
import { adminApi, startWarbler, type RunningWarbler } from './warbler.ts';

let browser: Browser;
let warbler: RunningWarbler;

beforeAll(async () => {
  warbler = await startWarbler();
  browser = await launch();
  // Rows for the job to re-encrypt: a conversation with a few hundred messages (more than one batch of 200).
  for (const id of ['enc-ann', 'enc-ben']) await adminApi(warbler.url, 'POST', '/api/users', { id, name: id });
  const conv = await adminApi<{ id: string }>(warbler.url, 'POST', '/api/conversations', { kind: 'group', member_ids: ['enc-ann', 'enc-ben'], created_by: 'enc-ann', title: 'Sealed' });
  for (let i = 0; i < 250; i++) await adminApi(warbler.url, 'POST', `/api/conversations/${conv.id}/messages`, { sender_id: 'enc-ann', content: { text: `sealed message ${i}` } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await warbler?.dispose();
});

describe('encryption at rest in the console', () => {
  it('shows the key source and versions, rotates a data key after a confirmation, and follows the re-encryption to the end', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openConsole(page, warbler.url, { nav: 'encryption' });
    await textOf(page.getByTestId('encryption-state'), 'On');
    // The e2e server keeps its key in the data dir: the page says to back it up.
    await textOf(page.getByRole('note'), 'Back it up now');
    const row = page.locator('tr[data-app="default"]');
    await textOf(row, 'Version 1');
    await textOf(row.getByTestId('encryption-remaining'), '0');

    await row.getByRole('button', { name: 'Rotate data key' }).click();
    const confirm = row.getByRole('group', { name: 'Make data key version 2 for default and re-encrypt its rows in the background?' });
    await confirm.getByRole('button', { name: 'Rotate data key' }).click();
    await textOf(row, 'Version 2');
    // The page asks again while the job runs, and shows it finish with nothing left under version 1.
    await textOf(row.getByTestId('encryption-job'), /Done: all rows under version 2 \(\d+ re-encrypted\)/, 120_000);
    await textOf(row.getByTestId('encryption-remaining'), '0');
    const resealed = Number(/\((\d+) re-encrypted\)/.exec((await row.getByTestId('encryption-job').textContent()) ?? '')?.[1]);
    expect(resealed).toBeGreaterThanOrEqual(250);
    await screenshot(page, 'console-encryption-desktop-en');

    // The rotation is in the audit log.
    const trail = await adminApi<{ entries: Array<{ action: string }> }>(warbler.url, 'GET', '/api/audit?limit=200');
    expect(trail.entries.map((e) => e.action)).toContain('encryption.rotate');
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it('fits a phone and reads in Chinese', async () => {
    for (const [locale, viewport, size] of [
      ['zh-CN', { width: 390, height: 844 }, 'phone'], ['en-US', { width: 390, height: 844 }, 'phone'], ['zh-CN', { width: 1280, height: 800 }, 'desktop'],
    ] as const) {
      const context = await browser.newContext({ locale, viewport });
      const page = await context.newPage();
      await openConsole(page, warbler.url, { nav: 'encryption' });
      await textOf(page.getByRole('heading', { level: 1 }), locale === 'zh-CN' ? '静态加密' : 'Encryption at rest');
      await textOf(page.locator('tr[data-app="default"]'), locale === 'zh-CN' ? '版本 2' : 'Version 2');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, 'no sideways scrolling').toBeLessThanOrEqual(0);
      await screenshot(page, `console-encryption-${size}-${locale === 'zh-CN' ? 'zh' : 'en'}`);
      await context.close();
    }
  }, 120_000);
});
