import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { MASTER_KEY, ROOT } from './warbler.ts';


/** Debian's Chromium (apt-get install chromium), never a downloaded browser. */
export const CHROMIUM = process.env.WARBLER_E2E_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

let axeSource: string | undefined;

/**
 * axe-core's WCAG 2.1 A/AA serious and critical findings on the page as it is
 * now: the whole document, or only `include` (a selector, or a path of
 * selectors into shadow roots: host, then the element inside). axe is
 * evaluated through the debugger protocol, so the app's CSP stays on.
 */
export async function axeFindings(page: Page, include?: Array<string | string[]>): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async (include) => {
    type V = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] };
    const axe = (window as unknown as { axe: { run: (ctx: object, opts: object) => Promise<{ violations: V[] }> } }).axe;
    const context = include ? { include: include.map((i) => (Array.isArray(i) ? i : [i])) } : document;
    return (await axe.run(context, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })).violations;
  }, include);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Script errors on the page; a test fails on any it did not expect. */
  errors: string[];
}

/** A person in their own browser context (own storage, own socket), signed in by name. */
export async function signedIn(browser: Browser, url: string, name: string, options: {
  locale?: string; viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark';
  /** Browser permissions granted up front (e.g. notifications). */
  permissions?: string[];
  /** Runs in every page before the app's own scripts (hooks a test observes through). */
  initScript?: string | (() => void);
} = {}): Promise<Person> {
  const context = await browser.newContext({
    locale: options.locale ?? 'en-US', viewport: options.viewport ?? { width: 1200, height: 800 }, acceptDownloads: true,
    ...(options.colorScheme && { colorScheme: options.colorScheme }), ...(options.permissions && { permissions: options.permissions }),
  });
  if (options.initScript) await context.addInitScript(options.initScript);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url + '/');
  await page.locator('input[name="name"]').fill(name);
  await page.locator('form button[type="submit"]').click();
  await page.getByTestId('conversation-list').waitFor();
  return { context, page, errors };
}

/**
 * The operator signed in to the console with the master key; with `nav`, that
 * page opened from the console's menu (`'encryption'` is /console/encryption).
 * `locale` is a language picked in the app (kept in localStorage), set before
 * the page loads; without it the browser's language decides.
 */
export async function openConsole(page: Page, url: string, options: { locale?: string; nav?: string } = {}): Promise<void> {
  if (options.locale) await page.addInitScript((l) => localStorage.setItem('warbler.locale', l), options.locale);
  await page.goto(url + '/console');
  await page.locator('input[name="master-key"]').fill(MASTER_KEY);
  await page.locator('form button[type="submit"]').click();
  await page.locator('nav.console-nav').waitFor();
  if (options.nav) await page.locator(`nav.console-nav a[href="/console/${options.nav}"]`).click();
}

/** Opens (or creates) the direct chat with someone through the New chat dialog. */
export async function openDirect(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: /^(New chat|新聊天)$/ }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('searchbox').fill(name);
  await dialog.getByRole('button', { name: new RegExp(`^${escape(name)} · `) }).click();
  await textOf(page.locator('.conversation-name'), name);
}

export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('combobox', { name: /^(Message|消息)$/ });
  await box.fill(text);
  await box.press('Enter');
}

/**
 * The demo assistant's replies to something I sent: its messages after one of
 * mine (a newcomer's chat with it opens with its welcome, which is not a reply).
 */
export const REPLY_TO_ME = '[data-testid="message"].mine ~ [data-testid="message"][data-sender="warbler-assistant"]';

export function messages(page: Page) {
  return page.getByTestId('message');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Waits until the locator's text contains (or, with a RegExp, matches) what is wanted. */
export async function textOf(locator: Locator, wanted: string | RegExp, timeout = 15_000): Promise<void> {
  await expect.poll(async () => (await locator.count()) > 0 ? (await locator.first().textContent()) ?? '' : '', { timeout, interval: 100 })
    .toMatch(typeof wanted === 'string' ? new RegExp(escape(wanted)) : wanted);
}
