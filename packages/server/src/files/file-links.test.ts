import { describe, expect, it } from 'vitest';
import { FileLinks } from './file-links.ts';

const KEY = 'test-master-key-0123456789';

function parse(url: string) {
  const u = new URL(url, 'http://x');
  return { fileId: decodeURIComponent(u.pathname.split('/').pop()!), app: u.searchParams.get('app')!, exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')! };
}

describe('file links', () => {
  it('accepts a link for the file and app it was minted for, until it expires', () => {
    let now = 1_700_000_000_000;
    const links = new FileLinks(KEY, 300, () => now);
    const minted = links.mint('app1', 'fil_a');
    const { app, exp, sig, fileId } = parse(minted.url);
    expect([app, fileId]).toEqual(['app1', 'fil_a']);
    expect(minted.expires_at - now).toBeGreaterThanOrEqual(300_000);
    expect(minted.expires_at - now).toBeLessThanOrEqual(600_000);
    expect(links.check('app1', 'fil_a', exp, sig)).toBe('ok');
    now = minted.expires_at;
    expect(links.check('app1', 'fil_a', exp, sig)).toBe('expired');
  });

  it('binds a link to one file, one app, one expiry and one master key', () => {
    const links = new FileLinks(KEY, 300);
    const { exp, sig } = parse(links.mint('app1', 'fil_a').url);
    expect(links.check('app1', 'fil_b', exp, sig)).toBe('invalid');
    expect(links.check('app2', 'fil_a', exp, sig)).toBe('invalid');
    expect(links.check('app1', 'fil_a', String(Number(exp) + 3600), sig)).toBe('invalid');
    expect(links.check('app1', 'fil_a', exp, sig.slice(0, -1))).toBe('invalid');
    expect(links.check('app1', 'fil_a', '1e12', sig)).toBe('invalid');
    expect(new FileLinks('another-master-key-000000', 300).check('app1', 'fil_a', exp, sig)).toBe('invalid');
  });

  it('mints the same link for the same file within a window, so browsers cache it', () => {
    let now = 1_700_000_000_000;
    const links = new FileLinks(KEY, 300, () => now);
    const first = links.mint('app1', 'fil_a');
    now += 1_000;
    expect(links.mint('app1', 'fil_a')).toEqual(first);
  });
});
