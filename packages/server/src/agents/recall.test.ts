import type { Message } from '@warbler/protocol';
import { describe, expect, it } from 'vitest';
import { recalledBlock, recallEarlier } from './recall.ts';

let seq = 0;
const say = (text: string, sender = 'alice'): Message => ({
  id: `m${++seq}`, app_id: 'app', conversation_id: 'c', seq, sender_id: sender, client_msg_id: null, type: 'text',
  content: { text }, state: 'complete', created_at: seq, updated_at: seq, edited_at: null,
});

const earlier = [
  say('Hi, I ordered a kettle last week and it still has not shipped.'),
  say('Sorry about the wait! Let me look into your order.', 'bot'),
  say('My order number is WB-58213-K, placed on the 3rd.'),
  say('Thanks, I can see the order. It ships from the Hangzhou warehouse.', 'bot'),
  say('我的快递单号是 SF1402938475，麻烦帮我查一下。'),
  say('好的，我来帮您查一下物流。', 'bot'),
  say('Also, can the order come with a gift wrap?'),
  say('Yes, gift wrap is available for this order.', 'bot'),
  say('发票抬头写：杭州青禾科技有限公司。'),
  say('收到，发票会随货寄出。', 'bot'),
  ...Array.from({ length: 20 }, (_, i) => say(`Small talk ${i}: the weather in Portland is rainy again today.`)),
];

describe('recallEarlier', () => {
  it('finds the turn a question refers back to, in English and in Chinese', () => {
    expect(recallEarlier('Which order number was it again? I need it for the refund form.', earlier).map((m) => m.seq)).toContain(earlier[2]!.seq);
    expect(recallEarlier('你还记得我的快递单号吗？', earlier).map((m) => m.seq)).toEqual([earlier[4]!.seq]);
    expect(recallEarlier('发票抬头是什么来着？', earlier).map((m) => m.seq)).toEqual([earlier[8]!.seq]);
  });

  it('recalls nothing for a message about something new, or that shares only one common word', () => {
    expect(recallEarlier('Do you sell umbrellas?', earlier)).toEqual([]);
    expect(recallEarlier('thanks!', earlier)).toEqual([]);
    expect(recallEarlier('rainy', earlier)).toEqual([]);
  });

  it('quotes at most three messages, oldest first, trimmed', () => {
    const found = recallEarlier('order order number gift wrap kettle shipped', earlier);
    expect(found.length).toBeLessThanOrEqual(3);
    expect(found.map((m) => m.seq)).toEqual([...found.map((m) => m.seq)].sort((a, b) => a - b));
    const block = recalledBlock([say('x'.repeat(900))], () => 'Alice', 100);
    expect(block).toMatch(/^Earlier in this conversation/);
    expect(block.split('\n')[1]!.length).toBeLessThan(110);
  });
});
