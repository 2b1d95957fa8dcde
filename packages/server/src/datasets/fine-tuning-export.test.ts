import { describe, expect, it } from 'vitest';
import { fineTuningLine } from './fine-tuning-export.ts';

describe('fineTuningLine', () => {
  it('writes one chat example (system with knowledge, history, question, the reference as the answer) with every kind of personal data masked', () => {
    const line = fineTuningLine({
      system_prompt: 'You are the shop\'s bot.',
      history: [{ role: 'user', content: 'My card is 4111 1111 1111 1111' }, { role: 'assistant', content: 'Thanks.' }],
      passages: [{ index: 1, title: 'Refunds', heading_path: ['Refunds'], source: 'refunds.md', text: 'Refunds take 14 days.' }],
      question: 'ID 11010519491231002X, mail a@b.co, phone 138 0013 8000: refund?',
      reference: 'Sent to a@b.co; card 4111111111111111 gets it in 14 days [1].',
      reference_model: 'gpt-4o-mini',
    });
    expect(line).not.toContain('\n');
    const { messages } = JSON.parse(line) as { messages: Array<{ role: string; content: string }> };
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
    expect(messages[0]!.content).toContain('<knowledge>');
    expect(messages[0]!.content).toContain('Refunds take 14 days.');
    expect(messages[1]!.content).toBe('My card is [CARD_1]');
    expect(messages[3]!.content).toBe('ID [ID_1], mail [EMAIL_1], phone [PHONE_1]: refund?');
    // The same value, the same placeholder, across the example.
    expect(messages[4]!.content).toBe('Sent to [EMAIL_1]; card [CARD_1] gets it in 14 days [1].');
  });
});
