import type { Message } from '@warbler/sdk';
import { describe, expect, it } from 'vitest';
import { notificationReason, type NotifyContext } from './notifications.ts';

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
