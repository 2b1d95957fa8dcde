import { describe, expect, it } from 'vitest';
import { readClaims, TokenSource } from './token.ts';

const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('readClaims', () => {
  it('reads sub and exp from a JWT without verifying it', () => {
    expect(readClaims(jwt({ sub: 'usr_é', exp: 123, app: 'a' }))).toEqual({ sub: 'usr_é', exp: 123 });
  });

  it('returns nothing for something that is not a JWT', () => {
    expect(readClaims('opaque')).toBeUndefined();
    expect(readClaims('a.!!!.c')).toBeUndefined();
  });
});

describe('TokenSource', () => {
  it('uses a static token as is, and cannot renew it', async () => {
    const source = new TokenSource('t');
    expect(source.renewable).toBe(false);
    expect(await source.current()).toBe('t');
    expect(await source.refresh()).toBe('t');
  });

  it('calls the function once, then again only on refresh or when the token has expired', async () => {
    let now = 1_000_000;
    let calls = 0;
    const source = new TokenSource(async () => jwt({ sub: 'u1', exp: now / 1000 + 60, n: ++calls }), () => now);
    await source.current();
    await source.current();
    expect(calls).toBe(1);
    expect(source.subject()).toBe('u1');
    now += 55_000; // within the margin before exp
    await source.current();
    expect(calls).toBe(2);
    await source.refresh();
    expect(calls).toBe(3);
  });

  it('shares one call between concurrent refreshes', async () => {
    let calls = 0;
    const source = new TokenSource(async () => `t${++calls}`);
    const [a, b] = await Promise.all([source.refresh(), source.refresh()]);
    expect([a, b, calls]).toEqual(['t1', 't1', 1]);
  });

  it('fails when the function fails or returns nothing', async () => {
    await expect(new TokenSource(async () => '').current()).rejects.toThrow(/no token/);
    await expect(new TokenSource(async () => Promise.reject(new Error('down'))).current()).rejects.toThrow('down');
  });
});
