import { deflateSync } from 'node:zlib';

/** Pixels as pdf.js hands them out: rows of `channels` bytes per pixel (1 grey, 3 RGB, 4 RGBA). */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

const COLOR_TYPE = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/**
 * A PNG of raw pixels, for sending a scanned page to a vision model. PNG is a
 * few lines over zlib (which Node has), so no image library is pulled in for
 * it; no filtering beyond "none" — scans compress well enough, and the bytes
 * only travel to the model once.
 */
export function encodePng(image: RawImage): Uint8Array {
  const { width, height, channels, data } = image;
  if (data.length < width * height * channels) throw new Error('pixel data shorter than width × height × channels');
  const stride = width * channels;
  const rows = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    rows[y * (stride + 1)] = 0;
    rows.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = COLOR_TYPE[channels];
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Every `step`-th pixel in both directions: a page scanned at 600 dpi does not need to reach the model at that size. */
export function downscale(image: RawImage, maxPixels: number): RawImage {
  const pixels = image.width * image.height;
  if (pixels <= maxPixels) return image;
  const step = Math.ceil(Math.sqrt(pixels / maxPixels));
  const width = Math.floor(image.width / step);
  const height = Math.floor(image.height / step);
  const out = new Uint8Array(width * height * image.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = ((y * step) * image.width + x * step) * image.channels;
      out.set(image.data.subarray(from, from + image.channels), (y * width + x) * image.channels);
    }
  }
  return { data: out, width, height, channels: image.channels };
}
