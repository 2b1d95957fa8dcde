import type { Message } from '@warbler/sdk';
import { describe, expect, it } from 'vitest';
import { applyDelta, continuesBlock, insertMention, mentionAt, mentionedIds, mentionsMe, mergeMessages, preview, receiptOf, startsNewDay, tabTitle } from './logic.ts';

const msg = (seq: number, over: Partial<Message> = {}): Message => ({
  id: `m${seq}`, app_id: 'a', conversation_id: 'c', seq, sender_id: 'u', client_msg_id: null, type: 'text',
  content: { text: `t${seq}` }, state: 'complete', created_at: seq, updated_at: seq, edited_at: null, ...over,
});

describe('streaming deltas', () => {
  it('puts each delta at its offset, rewrites an overlap, and reports a gap', () => {
    expect(applyDelta('', 0, 'Hello')).toBe('Hello');
    expect(applyDelta('Hello', 5, ' world')).toBe('Hello world');
    expect(applyDelta('Hello wor', 6, 'world')).toBe('Hello world');
    expect(applyDelta('Hello', 9, '!')).toBeUndefined();
  });
});

describe('merging messages', () => {
  it('keeps one copy per seq, the newest version, in seq order', () => {
    const list = mergeMessages([msg(2), msg(3)], [msg(1), msg(3, { updated_at: 9, content: { text: 'edited' } }), msg(2, { updated_at: 0, content: { text: 'stale' } })]);
    expect(list.map((m) => [m.seq, m.content.text])).toEqual([[1, 't1'], [2, 't2'], [3, 'edited']]);
  });

  it('does not let a lagging stored copy of a streaming reply shorten the text already streamed', () => {
    const live = msg(1, { state: 'streaming', content: { text: 'Hello world' } });
    const stored = msg(1, { state: 'streaming', updated_at: 5, content: { text: 'Hello' } });
    expect(mergeMessages([live], [stored])[0]!.content.text).toBe('Hello world');
    const done = msg(1, { state: 'complete', updated_at: 6, content: { text: 'Hello world!' } });
    expect(mergeMessages([live], [done])[0]!.content.text).toBe('Hello world!');
  });
});

describe('@mentions', () => {
  it('finds the @word at the caret and replaces it with the picked name', () => {
    expect(mentionAt('hi @War', 7)).toEqual({ start: 3, query: 'War' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail a@b', 8)).toBeUndefined();
    expect(mentionAt('hi @War and', 11)).toBeUndefined();
    expect(insertMention('hi @War', 3, 7, 'Warbler Assistant')).toEqual({ text: 'hi @Warbler Assistant ', caret: 22 });
  });

  it('sends the ids of picked people whose @Name is still in the text', () => {
    const picked = new Map([['warbler-assistant', 'Warbler Assistant'], ['bob', 'Bob']]);
    expect(mentionedIds('@warbler assistant help', picked)).toEqual(['warbler-assistant']);
  });
});

describe('receipts and previews', () => {
  it('says read when everyone else has read, delivered when someone has it', () => {
    expect(receiptOf(5, [{ read_seq: 5, delivered_seq: 5 }])).toEqual({ state: 'read', readBy: 1 });
    expect(receiptOf(5, [{ read_seq: 4, delivered_seq: 5 }])).toEqual({ state: 'delivered', readBy: 0 });
    expect(receiptOf(5, [{ read_seq: 4, delivered_seq: 4 }])).toEqual({ state: 'sent', readBy: 0 });
    expect(receiptOf(5, [{ read_seq: 5, delivered_seq: 5 }, { read_seq: 1, delivered_seq: 1 }])).toEqual({ state: 'read', readBy: 1 });
  });

  it('previews text on one line, and names images, files and recalls', () => {
    const labels = { image: 'Image', file: 'File', recalled: 'Recalled' };
    expect(preview(msg(1, { content: { text: 'a\n\nb' } }), labels)).toBe('a b');
    expect(preview(msg(1, { type: 'image', content: { file_id: 'f' } }), labels)).toBe('[Image]');
    expect(preview(msg(1, { type: 'file', content: { file_id: 'f', name: 'x.pdf' } }), labels)).toBe('[File] x.pdf');
    expect(preview(msg(1, { state: 'recalled', content: {} }), labels)).toBe('Recalled');
  });
});

describe('reading a thread', () => {
  const at = (iso: string) => new Date(iso).getTime();
  it('puts a day separator before the first message and where the local day changes', () => {
    expect(startsNewDay(undefined, { created_at: at('2026-12-04T10:00:00') })).toBe(true);
    expect(startsNewDay({ created_at: at('2026-12-04T10:00:00') }, { created_at: at('2026-12-04T23:59:00') })).toBe(false);
    expect(startsNewDay({ created_at: at('2026-12-04T23:59:00') }, { created_at: at('2026-12-05T00:01:00') })).toBe(true);
  });

  it('groups one sender\'s messages within five minutes on the same day, never across senders or system lines', () => {
    const m = (sender_id: string, iso: string, type = 'text') => ({ sender_id, created_at: at(iso), type });
    expect(continuesBlock(m('a', '2026-12-04T10:00:00'), m('a', '2026-12-04T10:04:59'))).toBe(true);
    expect(continuesBlock(m('a', '2026-12-04T10:00:00'), m('a', '2026-12-04T10:05:00'))).toBe(false);
    expect(continuesBlock(m('a', '2026-12-04T10:00:00'), m('b', '2026-12-04T10:01:00'))).toBe(false);
    expect(continuesBlock(m('a', '2026-12-04T10:00:00', 'system'), m('a', '2026-12-04T10:01:00'))).toBe(false);
    expect(continuesBlock(m('a', '2026-12-04T23:58:00'), m('a', '2026-12-05T00:01:00'))).toBe(false);
    expect(continuesBlock(undefined, m('a', '2026-12-04T10:00:00'))).toBe(false);
  });

  it('shows the unread count in the tab title, capped like the badges', () => {
    expect(tabTitle('Warbler', 0)).toBe('Warbler');
    expect(tabTitle('Warbler', 3)).toBe('(3) Warbler');
    expect(tabTitle('Warbler', 250)).toBe('(99+) Warbler');
  });

  it('knows a message that mentions me', () => {
    expect(mentionsMe({ text: 'hi @Ann', mentions: ['ann', 'bo'] }, 'ann')).toBe(true);
    expect(mentionsMe({ text: 'hi @Ann' }, 'ann')).toBe(false);
    expect(mentionsMe({ text: 'x', mentions: 'ann' }, 'ann')).toBe(false);
  });
});
