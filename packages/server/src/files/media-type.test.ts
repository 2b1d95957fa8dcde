import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { claimedMime, showsInline, sniffMimeOf } from './media-type.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2a8f70b0000000049454e44ae426082', 'hex');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
const HTML = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>');
const EXE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warbler-sniff-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sniff(bytes: Buffer, claimed: string): Promise<string> {
  const file = path.join(dir, `f${Math.random()}`);
  await writeFile(file, bytes);
  return sniffMimeOf(createReadStream(file), claimed);
}

describe('uploaded file types', () => {
  it('keeps the type the bytes really are', async () => {
    expect(await sniff(PNG, 'image/png')).toBe('image/png');
    expect(await sniff(JPEG, 'image/png')).toBe('image/jpeg');
    expect(await sniff(PDF, 'application/pdf')).toBe('application/pdf');
    expect(await sniff(Buffer.from('a,b\n1,2\n'), 'text/csv')).toBe('text/csv');
  });

  it('stores an "image" that is really HTML, SVG or a program as application/octet-stream', async () => {
    expect(await sniff(HTML, 'image/png')).toBe('application/octet-stream');
    expect(await sniff(SVG, 'image/webp')).toBe('application/octet-stream');
    expect(await sniff(EXE, 'application/pdf')).toBe('application/octet-stream');
    expect(await sniff(PNG.subarray(0, 4), 'image/png')).toBe('application/octet-stream');
  });

  it('shows only raster images in place', () => {
    for (const mime of ['image/png', 'image/jpeg', 'image/gif', 'image/webp']) expect(showsInline(mime)).toBe(true);
    for (const mime of ['image/svg+xml', 'text/html', 'application/pdf', 'text/plain', 'application/octet-stream', 'video/mp4']) expect(showsInline(mime)).toBe(false);
  });

  it('reads the client type without parameters or case', () => {
    expect(claimedMime('Image/PNG; charset=binary')).toBe('image/png');
    expect(claimedMime('')).toBe('');
  });
});
