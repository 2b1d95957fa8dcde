import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newEndpointSecret, secretPrefix, signatureHeader } from './signature.ts';

describe('webhook signatures', () => {
  it('is v1= the hex HMAC-SHA256 of id.timestamp.body, as documented', () => {
    const expected = createHmac('sha256', 'whsec_test').update('evt_1.1700000000.{"a":1}').digest('hex');
    expect(signatureHeader(['whsec_test'], 'evt_1', 1_700_000_000, '{"a":1}')).toBe(`v1=${expected}`);
  });

  it('signs with every secret given, space-separated, so a rotation does not break receivers', () => {
    const header = signatureHeader(['whsec_new', 'whsec_old'], 'evt_1', 1, 'x');
    expect(header.split(' ')).toHaveLength(2);
    expect(header.split(' ')[1]).toBe(signatureHeader(['whsec_old'], 'evt_1', 1, 'x'));
  });

  it('mints distinct secrets and shows only a short prefix of one', () => {
    const a = newEndpointSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newEndpointSecret()).not.toBe(a);
    expect(secretPrefix(a)).toHaveLength(10);
  });
});
