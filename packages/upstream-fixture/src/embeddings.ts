// Deterministic embeddings by feature hashing: texts that share words (or, for
// Chinese and Japanese, character bigrams) get close vectors, so retrieval
// tests over the fixture rank passages sensibly without a model.

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;
const WORD = /[\p{L}\p{N}]+/gu;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function features(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(WORD)) {
    const w = m[0];
    if (!CJK.test(w)) {
      out.push(w);
      continue;
    }
    const chars = [...w];
    if (chars.length === 1) out.push(w);
    for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  }
  return out;
}

export function embedText(input: string | number[], dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  const feats = typeof input === 'string' ? features(input) : input.map((t) => `#${t}`);
  for (const f of feats) {
    const h = fnv1a(f);
    v[h % dimensions]! += h & 0x80000000 ? -1 : 1;
  }
  const norm = Math.hypot(...v);
  return norm === 0 ? v : v.map((x) => x / norm);
}

/** What the OpenAI API sends for `encoding_format: "base64"` (the official SDK asks for it by default). */
export function toBase64(v: number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString('base64');
}
