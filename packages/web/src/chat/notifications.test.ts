import type { Message } from '@warbler/sdk';
import { describe, expect, it } from 'vitest';
import { notificationReason, Notifier, OPEN_FROM_NOTIFICATION, type NotifyContext } from './notifications.ts';

const message = (over: Partial<Message> = {}): Message => ({
  id: 'm1', app_id: 'a', conversation_id: 'c', seq: 1, sender_id: 'bob', client_msg_id: null, type: 'text',
  content: { text: 'hi' }, state: 'complete', created_at: 1_000, updated_at: 1_000, edited_at: null, ...over,
});
const ctx = (over: Partial<NotifyContext> = {}): NotifyContext => ({ message: message(), me: 'me', kind: 'direct', muted: false, hidden: true, now: 2_000, ...over });

describe('which messages notify', () => {
  it('notifies a direct message and a mention in a group while the tab is hidden', () => {
    expect(notificationReason(ctx())).toBe('direct');
    expect(notificationReason(ctx({ kind: 'group', message: message({ content: { text: '@Me look', mentions: ['me'] } }) }))).toBe('mention');
  });

  it('never for a plain group message, a muted conversation, my own message, a visible tab or an old message caught up', () => {
    expect(notificationReason(ctx({ kind: 'group' }))).toBeUndefined();
    expect(notificationReason(ctx({ muted: true }))).toBeUndefined();
    expect(notificationReason(ctx({ kind: 'group', muted: true, message: message({ content: { text: 'x', mentions: ['me'] } }) }))).toBeUndefined();
    expect(notificationReason(ctx({ message: message({ sender_id: 'me' }) }))).toBeUndefined();
    expect(notificationReason(ctx({ hidden: false }))).toBeUndefined();
    expect(notificationReason(ctx({ now: 1_000 + 6 * 60_000 }))).toBeUndefined();
  });
});

describe('notifications where the page may not construct them (Android Chrome)', () => {
  const granted = () => {
    const shown: { title: string; options: unknown }[] = [];
    const NotificationStub = function () {
      throw new TypeError("Failed to construct 'Notification': Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead.");
    } as unknown as typeof Notification;
    Object.assign(NotificationStub, { permission: 'granted' });
    return { shown, NotificationStub };
  };

  it("shows it through the app's service worker, carrying the conversation to open", async () => {
    const { shown, NotificationStub } = granted();
    const saved = globalThis.Notification;
    globalThis.Notification = NotificationStub;
    try {
      const storage = new Map<string, string>([['warbler.notifications', 'on']]);
      const notifier = new Notifier(
        { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v), removeItem: (k) => void storage.delete(k) },
        async () => ({ showNotification: async (title, options) => void shown.push({ title, options }) }),
      );
      expect(notifier.enabled).toBe(true);
      notifier.show('Bob', 'lunch?', 'm1', 'c1', () => undefined);
      await new Promise((r) => setTimeout(r, 0));
      expect(shown).toEqual([{ title: 'Bob', options: { body: 'lunch?', tag: 'm1', data: { conversation_id: 'c1' } } }]);
    } finally {
      globalThis.Notification = saved;
    }
  });

  it("opens the conversation the worker names when its notification is clicked, and nothing else", () => {
    const target = new EventTarget();
    const opened: string[] = [];
    const stop = new Notifier(undefined, async () => undefined).onWorkerClick((id) => opened.push(id), target);
    target.dispatchEvent(new MessageEvent('message', { data: { type: OPEN_FROM_NOTIFICATION, conversation_id: 'c9' } }));
    target.dispatchEvent(new MessageEvent('message', { data: { type: 'other', conversation_id: 'c8' } }));
    target.dispatchEvent(new MessageEvent('message', { data: null }));
    stop();
    target.dispatchEvent(new MessageEvent('message', { data: { type: OPEN_FROM_NOTIFICATION, conversation_id: 'c7' } }));
    expect(opened).toEqual(['c9']);
  });
});
