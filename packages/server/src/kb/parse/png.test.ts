import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { downscale, encodePng } from './png.ts';

/** Reads back the chunks of a PNG (length, type, body, CRC presence) and its pixel rows. */
function readPng(png: Uint8Array) {
  const buf = Buffer.from(png);
  expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: { type: string; body: Buffer }[] = [];
  for (let at = 8; at < buf.length;) {
    const length = buf.readUInt32BE(at);
    chunks.push({ type: buf.toString('latin1', at + 4, at + 8), body: buf.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return chunks;
}

describe('encodePng', () => {
  it('writes a PNG whose rows inflate back to the pixels, each behind filter byte 0', () => {
    const pixels = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 7);
    const chunks = readPng(encodePng({ data: pixels, width: 3, height: 2, channels: 3 }));
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = chunks[0]!.body;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]]).toEqual([3, 2, 8, 2]);
    const rows = inflateSync(chunks[1]!.body);
    expect([...rows]).toEqual([0, ...pixels.subarray(0, 9), 0, ...pixels.subarray(9)]);
  });

  it('refuses pixel data shorter than the image', () => {
    expect(() => encodePng({ data: new Uint8Array(5), width: 3, height: 2, channels: 1 })).toThrow(/shorter/);
  });
});

describe('downscale', () => {
  it('keeps a small image as it is and samples a large one to at most the budget', () => {
    const small = { data: new Uint8Array(16), width: 4, height: 4, channels: 1 as const };
    expect(downscale(small, 16)).toBe(small);
    const big = { data: Uint8Array.from({ length: 100 * 100 }, (_, i) => i % 251), width: 100, height: 100, channels: 1 as const };
    const out = downscale(big, 2_500);
    expect(out.width * out.height).toBeLessThanOrEqual(2_500);
    expect(out.data[1]).toBe(big.data[2]);
  });
});
