import { describe, expect, it } from 'vitest';
import { sortConversations, unreadForTitle } from './conversation-order.ts';

const c = (id: string, last_activity: number, over: { pinned?: boolean; muted?: boolean; unread?: number } = {}) => ({ id, last_activity, unread: 0, ...over });

describe('the conversation list order', () => {
  it('puts pinned conversations first, each group newest activity first', () => {
    const list = [c('old-pinned', 1, { pinned: true }), c('new', 9), c('mid', 5), c('new-pinned', 3, { pinned: true })];
    expect(sortConversations(list).map((x) => x.id)).toEqual(['new-pinned', 'old-pinned', 'new', 'mid']);
  });

  it('reads a conversation cached before pins existed as not pinned', () => {
    expect(sortConversations([c('a', 1), c('b', 2, { pinned: false })]).map((x) => x.id)).toEqual(['b', 'a']);
  });
});

describe('the tab title count', () => {
  it('leaves muted conversations out', () => {
    expect(unreadForTitle([c('a', 1, { unread: 3 }), c('b', 2, { unread: 5, muted: true }), c('c', 3, { unread: 1 })])).toBe(4);
  });
});
