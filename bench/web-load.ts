// The web app on a slow connection, and how fast a message reaches the other
// person: Debian's Chromium (playwright-core) against a real Warbler serving
// packages/web/dist (run `npm run build:web` first).
//
//   load      cold loads of / at 9 Mbps down and up with 60 ms of latency
//             (Chrome DevTools' network emulation), in a fresh context each
//             (nothing cached): first contentful paint, when the sign-in form
//             is usable (the app has run), and the bytes on the wire.
//             Two ways in the same run: as served now (brotli, precompressed
//             at build) and with `Accept-Encoding: identity`, which is how
//             every asset went out before compression was added (the floor
//             of the same work without it).
//   enter     Enter pressed in one browser to the text shown in the other's
//             open chat, over loopback with no throttling: the messaging
//             path end to end (composer, SDK, WebSocket, store, fan-out,
//             the other tab's render).
//
// WEB_LOADS (5 per variant), WEB_SENDS (30). Progress goes to stderr; the last
// stdout line is one JSON object.

import { chromium, type Browser, type Page } from 'playwright-core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lib/proc.ts';
import { envNumber, log, round } from './lib/util.ts';
import { startWarbler } from './lib/warbler.ts';

const LOADS = envNumber('WEB_LOADS', 5);
const SENDS = envNumber('WEB_SENDS', 30);
const CHROMIUM = process.env.WARBLER_E2E_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SLOW = { offline: false, latency: 60, downloadThroughput: 9_000_000 / 8, uploadThroughput: 9_000_000 / 8 };

interface Load {
  fcp_ms: number;
  usable_ms: number;
  bytes: number;
}

async function coldLoad(browser: Browser, url: string, identity: boolean): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', SLOW);
  if (identity) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': 'identity' } });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => { bytes += e.encodedDataLength; });
  await page.goto(url + '/', { waitUntil: 'commit' });
  await page.locator('input[name="name"], input[type="password"]').first().waitFor({ state: 'visible', timeout: 60_000 });
  const usable = await page.evaluate<number>('performance.now()');
  await page.waitForLoadState('load');
  const fcp = await page.evaluate<number>("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN");
  await context.close();
  return { fcp_ms: fcp, usable_ms: usable, bytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}
function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)] ?? NaN;
}
const summary = (loads: Load[]) => ({
  fcp_ms: round(median(loads.map((l) => l.fcp_ms))),
  usable_ms: round(median(loads.map((l) => l.usable_ms))),
  kb_on_wire: round(median(loads.map((l) => l.bytes)) / 1024, 1),
});

async function signIn(browser: Browser, url: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url + '/');
  await page.locator('input[name="name"]').fill(name);
  await page.locator('form button[type="submit"]').click();
  await page.getByTestId('conversation-list').waitFor();
  return page;
}

async function enterToSeen(browser: Browser, url: string): Promise<number[]> {
  const ann = await signIn(browser, url, 'Bench Ann');
  const bo = await signIn(browser, url, 'Bench Bo');
  await ann.getByRole('button', { name: 'New chat' }).click();
  await ann.getByRole('dialog').getByRole('searchbox').fill('Bench Bo');
  await ann.getByRole('dialog').getByRole('button', { name: /^Bench Bo · / }).click();
  const box = ann.getByRole('combobox', { name: 'Message' });
  await box.fill('hello');
  await box.press('Enter');
  await bo.locator('.conversation-item', { hasText: 'Bench Ann' }).click();
  await bo.locator('[data-testid="message"]', { hasText: 'hello' }).waitFor();
  const times: number[] = [];
  for (let i = 0; i < SENDS; i++) {
    const text = `ping ${i} ${Math.random().toString(36).slice(2)}`;
    // Bo's tab notes when the text appears; Ann's when Enter went down. Same machine, same clock.
    // A string, not a function: tsx's helpers (__name) do not exist in the page.
    const seen = bo.evaluate<number>(`new Promise((resolve) => {
      const wanted = ${JSON.stringify(text)};
      const list = document.querySelector('[data-testid="messages"]');
      let observer;
      const check = () => {
        if ([...list.querySelectorAll('[data-testid="message"]')].some((m) => m.textContent.includes(wanted))) {
          observer?.disconnect();
          resolve(Date.now());
          return true;
        }
        return false;
      };
      if (!check()) {
        observer = new MutationObserver(check);
        observer.observe(list, { childList: true, subtree: true, characterData: true });
      }
    })`);
    await box.fill(text);
    const sent = await ann.evaluate<number>('Date.now()');
    await box.press('Enter');
    times.push((await seen) - sent);
  }
  return times;
}

async function main(): Promise<void> {
  if (!existsSync(join(repoRoot, 'packages/web/dist/index.html'))) throw new Error('No built web app: run `npm run build:web` first.');
  const server = await startWarbler();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const brotli: Load[] = [];
    const identity: Load[] = [];
    for (let i = 0; i < LOADS; i++) {
      // Interleaved, so a noisy moment of the machine hits both alike.
      brotli.push(await coldLoad(browser, server.url, false));
      identity.push(await coldLoad(browser, server.url, true));
      log(`load ${i + 1}/${LOADS}: brotli ${JSON.stringify(brotli.at(-1))} identity ${JSON.stringify(identity.at(-1))}`);
    }
    const enter = await enterToSeen(browser, server.url);
    log(`enter-to-seen: ${enter.join(', ')} ms`);
    const now = summary(brotli);
    const before = summary(identity);
    console.log(JSON.stringify({
      bench: 'web-load',
      network: '9 Mbps down/up, 60 ms latency (DevTools emulation), cold cache',
      loads_per_variant: LOADS,
      served_now: now,
      uncompressed: before,
      ratio_usable: round(now.usable_ms / before.usable_ms, 2),
      ratio_bytes: round(now.kb_on_wire / before.kb_on_wire, 2),
      enter_to_seen_ms: { sends: SENDS, p50: round(median(enter)), p95: round(p95(enter)), max: Math.max(...enter) },
    }));
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main();
