// HMAC-SHA256 of short strings under one key, computed here rather than
// through node:crypto: the blind index keys every term of every message
// (decision 0026), ~105 terms per agent reply in bench:agent-stream, and
// createHmac costs 3–5 µs a term on this VM (a native object, the key
// imported again, a digest copied out), while the same HMAC with the key's
// inner and outer pad states computed once is two or three SHA-256 blocks,
// ~1.5 µs in plain JS. The output is bit for bit HMAC-SHA256 (checked
// against node:crypto in the test beside it), so stored terms stay valid and
// nothing about what the index reveals changes (decision 0035). Integer
// arithmetic only, no table indexed by secret data: its time depends on the
// term's length, as node:crypto's does, not on the key or the bytes.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
/** Message schedule, shared: the event loop runs one compression at a time. */
const W = new Int32Array(64);
const encoder = new TextEncoder();

/** One SHA-256 compression of the 64 bytes of `b` at `off` into the state `h`. */
function compress(h: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = h[0]!, b1 = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b1) ^ (a & c) ^ (b1 & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b1;
    b1 = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b1) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + k) | 0;
}

/** Pads `n` message bytes already in `buf` (after `prefix` bytes hashed before) to whole blocks; returns their length. */
function pad(buf: Uint8Array, n: number, prefix: number): number {
  const end = Math.ceil((n + 9) / BLOCK) * BLOCK;
  buf.fill(0, n, end);
  buf[n] = 0x80;
  const bits = (prefix + n) * 8;
  // Terms are short: the length's upper 32 bits stay zero.
  buf[end - 4] = bits >>> 24;
  buf[end - 3] = bits >>> 16;
  buf[end - 2] = bits >>> 8;
  buf[end - 1] = bits;
  return end;
}

/** HMAC-SHA256 under one key (of at most 64 bytes), with the pads' states computed once. */
export class TermHmac {
  private readonly inner: Int32Array;
  private readonly outer: Int32Array;
  private readonly h = new Int32Array(8);
  private buf = new Uint8Array(4 * BLOCK);
  private readonly outerBlock = new Uint8Array(BLOCK);

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new Error('TermHmac: keys longer than 64 bytes are hashed first by HMAC; not supported here');
    this.inner = TermHmac.padState(key, 0x36);
    this.outer = TermHmac.padState(key, 0x5c);
  }

  private static padState(key: Uint8Array, byte: number): Int32Array {
    const block = new Uint8Array(BLOCK);
    block.set(key);
    for (let i = 0; i < BLOCK; i++) block[i]! ^= byte;
    const h = IV.slice();
    compress(h, block, 0);
    return h;
  }

  /** The first `bytes` (≤ 32) bytes of HMAC-SHA256(key, UTF-8 of text). */
  digest(text: string, bytes = 32): Buffer {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; plus padding.
    const room = text.length * 3 + BLOCK + 9;
    if (this.buf.length < room) this.buf = new Uint8Array(room * 2);
    const n = encoder.encodeInto(text, this.buf).written;
    const end = pad(this.buf, n, BLOCK);
    const h = this.h;
    h.set(this.inner);
    for (let off = 0; off < end; off += BLOCK) compress(h, this.buf, off);
    const ob = this.outerBlock;
    for (let i = 0; i < 8; i++) {
      ob[i * 4] = h[i]! >>> 24;
      ob[i * 4 + 1] = h[i]! >>> 16;
      ob[i * 4 + 2] = h[i]! >>> 8;
      ob[i * 4 + 3] = h[i]!;
    }
    pad(ob, 32, BLOCK);
    h.set(this.outer);
    compress(h, ob, 0);
    const out = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) out.writeInt32BE(h[i]!, i * 4);
    return bytes === 32 ? out : out.subarray(0, bytes);
  }
}
