import type { Message } from '@warbler/protocol';
import { describe, expect, it } from 'vitest';
import { WarblerError } from './errors.ts';
import { Outbox, type QueuedSend, webStorage, type WarblerStorage } from './outbox.ts';

const send = (id: string, conversation = 'c'): QueuedSend => ({ client_msg_id: id, conversation_id: conversation, msg_type: 'text', content: { text: id }, queued_at: 0 });
const stored = (id: string, conversation = 'c', seq = 1): Message => ({
  id: `m-${id}`, app_id: 'a', conversation_id: conversation, seq, sender_id: 'u', client_msg_id: id, type: 'text',
  content: { text: id }, state: 'complete', created_at: 0, updated_at: 0, edited_at: null,
});
const memory = () => {
  const map = new Map<string, string>();
  const storage: WarblerStorage = { get: (k) => map.get(k), set: (k, v) => void map.set(k, v) };
  return { map, storage };
};

describe('Outbox', () => {
  it('hands out one send per conversation at a time, in order', () => {
    const box = new Outbox(undefined, () => {});
    void box.enqueue(send('a1'));
    void box.enqueue(send('a2'));
    void box.enqueue(send('b1', 'b'));
    expect(box.take().map((s) => s.client_msg_id)).toEqual(['a1', 'b1']);
    expect(box.take()).toEqual([]);
    box.stored(stored('a1'));
    expect(box.take().map((s) => s.client_msg_id)).toEqual(['a2']);
  });

  it('resolves once on the stored message, and ignores a duplicate', async () => {
    const box = new Outbox(undefined, () => {});
    const p = box.enqueue(send('a1'));
    expect(box.stored(stored('a1'))).toBe(true);
    expect(box.stored(stored('a1'))).toBe(false);
    expect((await p).client_msg_id).toBe('a1');
    expect(box.size).toBe(0);
  });

  it('rejects on refusal and moves on', async () => {
    const box = new Outbox(undefined, () => {});
    const p = box.enqueue(send('a1'));
    void box.enqueue(send('a2'));
    box.take();
    box.refused('a1', new WarblerError('bad_request', 'no'));
    await expect(p).rejects.toMatchObject({ code: 'bad_request' });
    expect(box.take().map((s) => s.client_msg_id)).toEqual(['a2']);
  });

  it('puts released sends back in line', () => {
    const box = new Outbox(undefined, () => {});
    void box.enqueue(send('a1'));
    box.take();
    box.releaseAll();
    expect(box.take().map((s) => s.client_msg_id)).toEqual(['a1']);
  });

  it('persists only after loading, with stored sends first', async () => {
    const { map, storage } = memory();
    map.set('k', JSON.stringify([send('old')]));
    const box = new Outbox(storage, () => {});
    void box.enqueue(send('new'));
    expect(JSON.parse(map.get('k') as string)).toHaveLength(1); // not overwritten before load
    await box.load('k');
    await box.flushed();
    expect(box.list().map((s) => s.client_msg_id)).toEqual(['old', 'new']);
    expect(JSON.parse(map.get('k') as string).map((s: QueuedSend) => s.client_msg_id)).toEqual(['old', 'new']);
    box.stored(stored('old'));
    await box.flushed();
    expect(JSON.parse(map.get('k') as string).map((s: QueuedSend) => s.client_msg_id)).toEqual(['new']);
  });

  it('reports unreadable storage and carries on', async () => {
    const errors: unknown[] = [];
    const box = new Outbox({ get: () => 'not json', set: () => {} }, (e) => errors.push(e));
    await box.load('k');
    expect(errors).toHaveLength(1);
    expect(box.size).toBe(0);
  });

  it('adapts localStorage-like storage', () => {
    const map = new Map<string, string>();
    const storage = webStorage({ getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) });
    storage.set('x', '1');
    expect(storage.get('x')).toBe('1');
  });
});
