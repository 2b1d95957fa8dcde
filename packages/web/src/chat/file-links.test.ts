import { describe, expect, it } from 'vitest';
import { FileLinks } from './file-links.ts';

function setup() {
  let now = 1_000_000;
  let n = 0;
  const asked: string[] = [];
  let fail = false;
  let changes = 0;
  const pending: Array<() => void> = [];
  const links = new FileLinks(
    (fileId) => {
      asked.push(fileId);
      const url = `/api/files/${fileId}?sig=${++n}`;
      return new Promise((resolve, reject) => pending.push(() => (fail ? reject(new Error('offline')) : resolve({ url, expires_at: now + 300_000 }))));
    },
    () => changes++,
    () => now,
  );
  const settle = async () => {
    for (const p of pending.splice(0)) p();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { links, asked, settle, advance: (ms: number) => (now += ms), failNext: (v: boolean) => (fail = v), changes: () => changes };
}

describe('file links in the web app', () => {
  it('asks once per file, shows the link when it arrives, and tells the screen', async () => {
    const t = setup();
    expect(t.links.get('fil_a')).toBeUndefined();
    expect(t.links.get('fil_a')).toBeUndefined();
    expect(t.asked).toEqual(['fil_a']);
    await t.settle();
    expect(t.changes()).toBe(1);
    expect(t.links.get('fil_a')).toBe('/api/files/fil_a?sig=1');
    expect(t.asked).toEqual(['fil_a']);
    t.links.stop();
  });

  it('renews a link shortly before it expires, and drops an expired one', async () => {
    const t = setup();
    t.links.get('fil_a');
    await t.settle();
    t.advance(250_000);
    expect(t.links.get('fil_a')).toBe('/api/files/fil_a?sig=1');
    expect(t.asked).toEqual(['fil_a', 'fil_a']);
    t.advance(60_000);
    expect(t.links.get('fil_a')).toBeUndefined();
    await t.settle();
    expect(t.links.get('fil_a')).toBe('/api/files/fil_a?sig=2');
    t.links.stop();
  });

  it('does not hammer the server after a failure', async () => {
    const t = setup();
    t.failNext(true);
    t.links.get('fil_a');
    await t.settle();
    t.links.get('fil_a');
    expect(t.asked).toEqual(['fil_a']);
    t.advance(10_000);
    t.failNext(false);
    t.links.get('fil_a');
    await t.settle();
    expect(t.links.get('fil_a')).toBe('/api/files/fil_a?sig=2');
    t.links.stop();
  });
});
