import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TermHmac } from './term-hmac.ts';

// The blind index's stored terms were made by node:crypto's HMAC-SHA256: the
// hand-written one must give the very same bytes, or every indexed message
// would stop being found.
describe('TermHmac', () => {
  const node = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

  it('equals HMAC-SHA256 for every block boundary, script and key length', () => {
    const texts = ['', 'a', 'w:hello', 'é', '中文', '🙂x', 'Ab\u0000c', '\uD800'];
    // Around the one- and two-block padding edges (55/56 and 119/120 bytes), in ASCII and in 3-byte characters.
    for (let n = 40; n <= 140; n++) texts.push('x'.repeat(n));
    for (let n = 15; n <= 45; n++) texts.push('会'.repeat(n));
    for (let i = 0; i < 300; i++) texts.push(randomBytes(1 + (i % 90)).toString('latin1'));
    for (const keyLength of [0, 1, 16, 32, 63, 64]) {
      const key = randomBytes(keyLength);
      const hmac = new TermHmac(key);
      for (const text of texts) {
        expect(hmac.digest(text).equals(node(key, text)), `${keyLength}-byte key, ${JSON.stringify(text)}`).toBe(true);
        expect(hmac.digest(text, 16).equals(node(key, text).subarray(0, 16))).toBe(true);
      }
    }
  });

  it('gives the same bytes again after a long term grew its buffer', () => {
    const key = randomBytes(32);
    const hmac = new TermHmac(key);
    const long = '语'.repeat(2_000);
    expect(hmac.digest(long).equals(node(key, long))).toBe(true);
    expect(hmac.digest('w:after').equals(node(key, 'w:after'))).toBe(true);
  });
});
