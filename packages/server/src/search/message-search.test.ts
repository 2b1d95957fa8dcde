import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyedTerms } from './message-search.ts';

const hmac = (key: Buffer, term: string) => createHmac('sha256', key).update(term).digest().subarray(0, 16).toString('base64url');

describe('KeyedTerms', () => {
  it('gives every term its HMAC under the app key, remembered or not, and starts over when the key changes', () => {
    const keyed = new KeyedTerms();
    const a = Buffer.alloc(32, 1);
    const b = Buffer.alloc(32, 2);
    expect(keyed.of('app1', a, ['w:hello', 'w:world'])).toEqual([hmac(a, 'w:hello'), hmac(a, 'w:world')]);
    // The second time from what was remembered: the same answer.
    expect(keyed.of('app1', a, ['w:world', 'w:new'])).toEqual([hmac(a, 'w:world'), hmac(a, 'w:new')]);
    // Another app's key (or a new key for this one) never reuses these.
    expect(keyed.of('app2', b, ['w:hello'])).toEqual([hmac(b, 'w:hello')]);
    expect(keyed.of('app1', b, ['w:hello'])).toEqual([hmac(b, 'w:hello')]);
  });

  it('stays bounded and correct past its size', () => {
    const keyed = new KeyedTerms();
    const key = Buffer.alloc(32, 3);
    const terms = Array.from({ length: 10_000 }, (_, i) => `w:t${i}`);
    keyed.of('app', key, terms);
    expect(keyed.of('app', key, ['w:t0', 'w:t9999'])).toEqual([hmac(key, 'w:t0'), hmac(key, 'w:t9999')]);
  });
});
