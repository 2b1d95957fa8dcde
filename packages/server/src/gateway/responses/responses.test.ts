import { describe, expect, it } from 'vitest';
import { Responses, type ResponsesStore } from './responses.ts';

const store = {} as ResponsesStore;

describe('response ids', () => {
  it('are hex after resp_, sort by creation time, and differ within one millisecond', () => {
    let now = 1_700_000_000_000;
    const responses = new Responses(store, () => now);
    const first = responses.newId();
    const same = responses.newId();
    now += 1;
    const later = responses.newId();
    expect(first).toMatch(/^resp_[0-9a-f]{36}$/);
    expect(same).not.toBe(first);
    // The time part (12 hex digits after resp_) is shared within a millisecond; a later one sorts after.
    expect(same.slice(0, 17)).toBe(first.slice(0, 17));
    expect(later > first && later > same).toBe(true);
    now += 86_400_000 * 365;
    expect(responses.newId() > later).toBe(true);
  });
});
