// Pin, mute and browser notifications in the web app, as a person uses them: a pin sorts the chat first and
// shows in their other tab at once; a muted chat keeps its (grey) badge but leaves the tab title and never
// notifies; notifications are asked for only when switched on, come for direct messages and mentions while
// the tab is hidden, never for muted chats or my own messages, and a click opens the chat.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeFindings, launch, screenshot, signedIn, textOf, type Person } from './browser.ts';
import { adminApi } from './warbler.ts';

const url = inject('warblerUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/**
 * Runs before the app: counts permission prompts and every `Notification` constructed (keeping each, so the
 * test can click it), and lets the test hide the tab (headless Chromium's pages are always visible).
 */
const HOOKS = () => {
  const w = window as unknown as { __asked: number; __answered: number; __notes: Array<Notification & { seenTitle: string }>; __hidden: boolean };
  w.__asked = 0;
  w.__answered = 0;
  w.__notes = [];
  w.__hidden = false;
  const Real = window.Notification;
  class Counted extends Real {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      w.__notes.push(Object.assign(this, { seenTitle: title }));
    }
  }
  Object.defineProperty(Counted, 'requestPermission', {
    value: (...args: Parameters<typeof Notification.requestPermission>) => {
      w.__asked++;
      // A person takes a moment to answer the prompt: the switch must answer the click before the browser does.
      return new Promise((resolve) => setTimeout(resolve, 400)).then(() => Real.requestPermission(...args)).then((answer) => {
        w.__answered++;
        return answer;
      });
    },
  });
  window.Notification = Counted as typeof Notification;
  Object.defineProperty(document, 'visibilityState', { get: () => (w.__hidden ? 'hidden' : 'visible') });
  Object.defineProperty(document, 'hidden', { get: () => w.__hidden });
};

/**
 * As Chrome on Android: the page may not construct a `Notification` (only a service worker may show one);
 * the permission is there, and the test hides the tab as above.
 */
const WORKER_ONLY_HOOKS = () => {
  const w = window as unknown as { __hidden: boolean };
  w.__hidden = false;
  const Real = window.Notification;
  const Refused = function () {
    throw new TypeError("Failed to construct 'Notification': Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead.");
  } as unknown as typeof Notification;
  Object.defineProperty(Refused, 'permission', { get: () => Real.permission });
  Object.defineProperty(Refused, 'requestPermission', { value: (...args: Parameters<typeof Notification.requestPermission>) => Real.requestPermission(...args) });
  window.Notification = Refused;
  Object.defineProperty(document, 'visibilityState', { get: () => (w.__hidden ? 'hidden' : 'visible') });
  Object.defineProperty(document, 'hidden', { get: () => w.__hidden });
};

/** Signed in by name in a context that allows notifications, with the hooks above. */
async function withNotifications(name: string, options: { locale?: string; viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {}): Promise<Person> {
  return signedIn(browser, url, name, { ...options, permissions: ['notifications'], initScript: HOOKS });
}

const idOf = (name: string) => `~${name.toLowerCase()}`;
const say = (conversationId: string, from: string, content: Record<string, unknown>) =>
  adminApi(url, 'POST', `/api/conversations/${conversationId}/messages`, { sender_id: idOf(from), type: 'text', content });
const direct = async (a: string, b: string) => (await adminApi<{ id: string }>(url, 'POST', '/api/conversations', { kind: 'direct', member_ids: [idOf(a), idOf(b)], created_by: idOf(a) })).id;
const titles = (page: Page) => page.locator('.conversation-item .conversation-title').allTextContents();
const item = (page: Page, name: string) => page.locator('.conversation-item', { hasText: name });
const setHidden = (page: Page, hidden: boolean) => page.evaluate((h) => {
  (window as unknown as { __hidden: boolean }).__hidden = h;
  document.dispatchEvent(new Event('visibilitychange'));
}, hidden);
const notes = (page: Page) => page.evaluate(() => (window as unknown as { __notes: Array<{ seenTitle: string; body: string }> }).__notes.map((n) => ({ title: n.seenTitle, body: n.body })));
const asked = (page: Page) => page.evaluate(() => (window as unknown as { __asked: number }).__asked);
/** Prompts the person (here, the browser after a pause) has answered. */
const answered = (page: Page) => page.evaluate(() => (window as unknown as { __answered: number }).__answered);

describe('pin, mute and notifications', () => {
  it('pins a chat to the top (seen in a second tab), mutes one out of the title, and notifies only what it should (en, desktop)', async () => {
    // Everyone signs in first (the sign-in makes the user); Quinn's chats then get their first messages.
    const quinn = await withNotifications('Quinn');
    const pia = await signedIn(browser, url, 'Pia');
    const rex = await signedIn(browser, url, 'Rex');
    const withPia = await direct('Pia', 'Quinn');
    const withRex = await direct('Rex', 'Quinn');
    await say(withPia, 'Pia', { text: 'Lunch tomorrow?' });
    await say(withRex, 'Rex', { text: 'Build is red again' });
    const { page } = quinn;
    // Newest activity first, under the assistant's welcome: Rex, then Pia.
    await expect.poll(() => titles(page), { timeout: 15_000 }).toEqual(['Rex', 'Pia', 'Warbler Assistant']);

    const tab2 = await quinn.context.newPage();
    await tab2.goto(url + '/');
    await expect.poll(() => titles(tab2), { timeout: 15_000 }).toEqual(['Rex', 'Pia', 'Warbler Assistant']);

    // Pin Pia's chat: first here, and in the other tab without a reload.
    await item(page, 'Pia').click();
    await page.getByTestId('pin-toggle').click();
    await expect.poll(() => titles(page)).toEqual(['Pia', 'Rex', 'Warbler Assistant']);
    expect(await page.getByTestId('pin-toggle').getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => titles(tab2), { timeout: 15_000 }).toEqual(['Pia', 'Rex', 'Warbler Assistant']);
    await item(tab2, 'Pia').getByTestId('pinned-flag').waitFor();
    // Newer activity elsewhere does not push a pinned chat down.
    await say(withRex, 'Rex', { text: 'Now it is green' });
    await textOf(item(page, 'Rex'), 'Now it is green');
    expect(await titles(page)).toEqual(['Pia', 'Rex', 'Warbler Assistant']);
    await screenshot(tab2, 'pin-mute-pinned-second-tab');
    await tab2.close();

    // Mute Rex; read everything, then hide the tab.
    await item(page, 'Warbler Assistant').click();
    await item(page, 'Rex').click();
    await page.getByTestId('mute-toggle').click();
    await item(page, 'Rex').getByTestId('muted-flag').waitFor();
    await expect.poll(() => page.title()).toBe('Warbler');

    // Notifications: off until switched on; switching on asks the browser once.
    expect(await asked(page)).toBe(0);
    await page.getByTestId('notify-switch').check();
    await expect.poll(() => page.getByTestId('notify-switch').isChecked()).toBe(true);
    expect(await asked(page)).toBe(1);
    // Notifications start once the browser has said yes, and the switch stays on after it.
    await expect.poll(() => answered(page)).toBe(1);
    expect(await page.getByTestId('notify-switch').isChecked()).toBe(true);

    await setHidden(page, true);
    await say(withRex, 'Rex', { text: 'muted one' });
    await say(withRex, 'Rex', { text: 'muted two' });
    await say(withPia, 'Pia', { text: 'Are you there?' });
    // Pia's counts in the title, Rex's two do not (muted): his badge shows them, in grey.
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(1) Warbler');
    await textOf(item(page, 'Rex').getByTestId('unread'), '2');
    expect(await item(page, 'Rex').getByTestId('unread').evaluate((el) => el.classList.contains('badge-muted'))).toBe(true);
    expect(await item(page, 'Pia').getByTestId('unread').evaluate((el) => el.classList.contains('badge-muted'))).toBe(false);
    // One notification: Pia's direct message. None for the muted chat.
    await expect.poll(() => notes(page), { timeout: 15_000 }).toEqual([{ title: 'Pia', body: 'Are you there?' }]);

    // A mention in a group notifies; a plain group message and my own message (from my phone) do not.
    const group = (await adminApi<{ id: string }>(url, 'POST', '/api/conversations', { kind: 'group', title: 'Release crew', member_ids: [idOf('Quinn'), idOf('Pia'), idOf('Rex')], created_by: idOf('Pia') })).id;
    await say(group, 'Pia', { text: 'Release at five' });
    await say(group, 'Quinn', { text: 'I will be late' });
    await say(group, 'Rex', { text: '@Quinn can you sign it off?', mentions: [idOf('Quinn')] });
    await expect.poll(() => notes(page), { timeout: 15_000 }).toEqual([
      { title: 'Pia', body: 'Are you there?' },
      { title: 'Rex in Release crew', body: '@Quinn can you sign it off?' },
    ]);
    await screenshot(page, 'pin-mute-muted-grey-badge');
    expect(await axeFindings(page)).toEqual([]);

    // A click on the notification brings the tab forward and opens that chat.
    await setHidden(page, false);
    await page.evaluate(() => (window as unknown as { __notes: Notification[] }).__notes[0]!.onclick?.(new Event('click')));
    await textOf(page.locator('.conversation-name'), 'Pia');
    await expect.poll(() => page.title(), { timeout: 15_000 }).toMatch(/^(\(\d+\) )?Warbler$/);

    // Remembered in this browser: after a reload the switch is still on, and nothing asks again.
    await page.reload();
    await page.getByTestId('conversation-list').waitFor();
    expect(await page.getByTestId('notify-switch').isChecked()).toBe(true);
    expect(await asked(page)).toBe(0);

    expect([...quinn.errors, ...pia.errors, ...rex.errors]).toEqual([]);
    for (const p of [quinn, pia, rex]) await p.context.close();
  });

  it('works in Chinese on a phone in dark mode: pin, mute out of the title, and the opt-in', async () => {
    const lan = await withNotifications('Lan', { locale: 'zh-CN', viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    await signedIn(browser, url, 'Bo', { locale: 'zh-CN' }).then((p) => p.context.close());
    await signedIn(browser, url, 'Wen', { locale: 'zh-CN' }).then((p) => p.context.close());
    const withBo = await direct('Bo', 'Lan');
    const withWen = await direct('Wen', 'Lan');
    await say(withBo, 'Bo', { text: '明天见' });
    await say(withWen, 'Wen', { text: '群公告' });
    const { page } = lan;
    await expect.poll(() => titles(page), { timeout: 15_000 }).toEqual(['Wen', 'Bo', 'Warbler Assistant']);
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(3) Warbler');

    // Pin Bo (the phone shows one pane at a time: open, pin, back).
    await item(page, 'Bo').click();
    await page.getByRole('button', { name: '置顶会话' }).click();
    await page.getByRole('button', { name: '返回会话列表' }).click();
    await expect.poll(() => titles(page)).toEqual(['Bo', 'Wen', 'Warbler Assistant']);
    await item(page, 'Bo').getByRole('img', { name: '已置顶' }).waitFor();

    // Mute Wen: their unread leaves the title at once.
    await item(page, 'Wen').click();
    await page.getByRole('button', { name: '消息免打扰' }).click();
    await page.getByRole('button', { name: '返回会话列表' }).click();
    await item(page, 'Wen').getByRole('img', { name: '已免打扰' }).waitFor();
    await say(withWen, 'Wen', { text: '第二条' });
    await textOf(item(page, 'Wen').getByTestId('unread'), '1');
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(1) Warbler');

    // The switch reads 通知 and asks the browser only when turned on.
    expect(await asked(page)).toBe(0);
    await page.getByRole('checkbox', { name: '通知' }).check();
    await expect.poll(() => asked(page)).toBe(1);
    await expect.poll(() => answered(page)).toBe(1);
    await setHidden(page, true);
    await say(withWen, 'Wen', { text: '免打扰中' });
    await say(withBo, 'Bo', { text: '在吗？' });
    await expect.poll(() => notes(page), { timeout: 15_000 }).toEqual([{ title: 'Bo', body: '在吗？' }]);
    await setHidden(page, false);
    await screenshot(page, 'pin-mute-zh-phone');
    expect(await axeFindings(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(lan.errors).toEqual([]);
    await lan.context.close();
  });

  it("on a phone whose browser shows notifications only from a service worker: shown by the app's worker, a click opens the chat", async () => {
    const mia = await signedIn(browser, url, 'Mia', { viewport: { width: 390, height: 844 }, permissions: ['notifications'], initScript: WORKER_ONLY_HOOKS });
    await signedIn(browser, url, 'Ota').then((p) => p.context.close());
    const withOta = await direct('Ota', 'Mia');
    const { page, context } = mia;
    await expect.poll(() => page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state), { timeout: 15_000 }).toBe('activated');
    await page.getByTestId('notify-switch').check();
    await expect.poll(() => page.getByTestId('notify-switch').isChecked()).toBe(true);
    await setHidden(page, true);
    await say(withOta, 'Ota', { text: 'Lunch at noon?' });
    const shown = () => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, data: n.data })));
    await expect.poll(shown, { timeout: 15_000 }).toEqual([{ title: 'Ota', body: 'Lunch at noon?', data: { conversation_id: withOta } }]);
    // The list is showing (a phone shows one pane); the person taps the notification.
    await setHidden(page, false);
    expect(await page.locator('.conversation-name').count()).toBe(0);
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    await worker.evaluate(async () => {
      // What the system does when the notification is tapped (a headless browser has no notification to tap).
      const sw = self as unknown as {
        registration: ServiceWorkerRegistration; dispatchEvent(e: Event): boolean;
        NotificationEvent: new (type: string, init: { notification: Notification }) => Event;
      };
      const [note] = await sw.registration.getNotifications();
      sw.dispatchEvent(new sw.NotificationEvent('notificationclick', { notification: note! }));
    });
    await textOf(page.locator('.conversation-name'), 'Ota');
    await expect.poll(shown).toEqual([]);
    expect(mia.errors).toEqual([]);
    await context.close();
  });
});
