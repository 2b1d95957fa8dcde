import type { Message } from '@warbler/protocol';
import { describe, expect, it } from 'vitest';
import { Timeline } from './timeline.ts';

const msg = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: `m${seq}`, app_id: 'a', conversation_id: 'c', seq, sender_id: 'u', client_msg_id: null, type: 'text',
  content: { text: String(seq) }, state: 'complete', created_at: seq, updated_at: seq, edited_at: null, ...extra,
});
const seqs = (ms: Message[]) => ms.map((m) => m.seq);

describe('Timeline', () => {
  it('emits the next message at once and drops what it already holds', () => {
    const t = new Timeline({ c: 0 });
    expect(seqs(t.add(msg(1)))).toEqual([1]);
    expect(seqs(t.add(msg(1)))).toEqual([]);
    expect(seqs(t.add(msg(2)))).toEqual([2]);
    expect(t.cursors()).toEqual({ c: 2 });
  });

  it('holds messages past a gap until it is filled, then emits them in order', () => {
    const t = new Timeline({ c: 1 });
    expect(t.add(msg(4))).toEqual([]);
    expect(t.gapAfter('c')).toBe(1);
    expect(seqs(t.add(msg(3)))).toEqual([]);
    expect(seqs(t.add(msg(2)))).toEqual([2, 3, 4]);
    expect(t.gapAfter('c')).toBeUndefined();
  });

  it('holds messages of a conversation it does not track until tracking begins', () => {
    const t = new Timeline();
    expect(t.add(msg(8))).toEqual([]);
    expect(t.tracked('c')).toBe(false);
    expect(t.firstWaiting('c')).toBe(8);
    expect(seqs(t.begin('c', 7))).toEqual([8]);
    expect(t.begin('c', 0)).toEqual([]); // tracking begins once
  });

  it('skips a gap the server cannot fill', () => {
    const t = new Timeline({ c: 1 });
    t.add(msg(5));
    expect(seqs(t.skipGap('c'))).toEqual([5]);
    expect(t.cursor('c')).toBe(5);
  });

  it('emits each version of an emitted message once', () => {
    const t = new Timeline({ c: 0 });
    t.add(msg(1));
    expect(t.update(msg(1))).toEqual({ added: [] }); // the version already emitted
    const edited = msg(1, { updated_at: 50, content: { text: 'x' } });
    expect(t.update(edited).updated).toBe(edited);
    expect(t.update(edited)).toEqual({ added: [] });
  });

  it('treats an update of a message not reached yet as the newer copy of it', () => {
    const t = new Timeline({ c: 0 });
    expect(t.update(msg(2, { updated_at: 9 }))).toEqual({ added: [] });
    const emitted = t.add(msg(1)).concat(t.add(msg(2)));
    expect(emitted.map((m) => m.updated_at)).toEqual([1, 9]);
    expect(seqs(t.update(msg(1, { updated_at: 1 })).added)).toEqual([]);
  });

  it('remembers the newest event time', () => {
    const t = new Timeline({}, 10);
    t.seen(5);
    t.seen(20);
    t.seen(undefined);
    expect(t.since).toBe(20);
  });

  it('forgets a conversation the user left', () => {
    const t = new Timeline({ c: 3, d: 1 });
    t.forget('c');
    expect(t.cursors()).toEqual({ d: 1 });
  });
});
