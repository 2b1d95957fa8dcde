import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, DecryptingStream, EncryptingStream, fileHeaderVersion } from './file-stream.ts';

const key = randomBytes(32);

async function encrypt(plain: Buffer, context = 'files\u0000app\u0000fil_1'): Promise<Buffer> {
  const out: Buffer[] = [];
  const enc = new EncryptingStream(key, 2, context);
  // Uneven pieces, as a socket delivers them.
  const pieces = [];
  for (let i = 0; i < plain.length; i += 10_007) pieces.push(plain.subarray(i, i + 10_007));
  await pipeline(Readable.from(pieces), enc, async function* (source) {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return Buffer.concat(out);
}

function decrypt(sealed: Buffer, context = 'files\u0000app\u0000fil_1'): Promise<Buffer> {
  return buffer(Readable.from([sealed]).pipe(new DecryptingStream((v) => (v === 2 ? key : undefined), context)));
}

describe('files encrypted in chunks', () => {
  it.each([0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17])('round-trips %i bytes', async (n) => {
    const plain = randomBytes(n);
    const sealed = await encrypt(plain);
    expect(fileHeaderVersion(sealed)).toBe(2);
    expect(sealed.length).toBe(24 + n + 16 * Math.max(1, Math.ceil(n / CHUNK_BYTES)));
    expect((await decrypt(sealed)).equals(plain)).toBe(true);
  });

  it('fails on a flipped bit, a cut-off end, a dropped chunk or another file\'s context', async () => {
    const plain = randomBytes(2 * CHUNK_BYTES + 5);
    const sealed = await encrypt(plain);
    const flipped = Buffer.from(sealed);
    flipped[100]! ^= 1;
    await expect(decrypt(flipped)).rejects.toThrow(/integrity/);
    await expect(decrypt(sealed.subarray(0, 24 + CHUNK_BYTES + 16))).rejects.toThrow(/integrity/);
    const dropped = Buffer.concat([sealed.subarray(0, 24), sealed.subarray(24 + CHUNK_BYTES + 16)]);
    await expect(decrypt(dropped)).rejects.toThrow(/integrity/);
    await expect(decrypt(sealed, 'files\u0000app\u0000fil_2')).rejects.toThrow(/integrity/);
  });

  it('passes a plaintext file from before encryption through unchanged', async () => {
    for (const plain of [Buffer.from('short'), randomBytes(100_000)]) expect((await decrypt(plain)).equals(plain)).toBe(true);
  });
});
