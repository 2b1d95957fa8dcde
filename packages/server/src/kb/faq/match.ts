/**
 * How alike two questions are, 0..1: the Dice coefficient of the character
 * bigrams of their normalized forms (NFKC, lower case, no punctuation or
 * spaces). It needs no word segmentation, so Chinese and English are treated
 * alike, and it forgives punctuation, case, full-width forms and a typo.
 */
export function questionSimilarity(a: string, b: string): number {
  const x = normalizeQuestion(a);
  const y = normalizeQuestion(b);
  if (!x || !y) return 0;
  if (x === y) return 1;
  const bx = bigrams(x);
  const by = bigrams(y);
  let shared = 0;
  const counts = new Map<string, number>();
  for (const g of bx) counts.set(g, (counts.get(g) ?? 0) + 1);
  for (const g of by) {
    const n = counts.get(g) ?? 0;
    if (n > 0) {
      shared++;
      counts.set(g, n - 1);
    }
  }
  return (2 * shared) / (bx.length + by.length);
}

export function normalizeQuestion(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[\p{P}\p{S}\s]+/gu, '');
}

function bigrams(s: string): string[] {
  const chars = Array.from(s);
  if (chars.length < 2) return [s];
  const out: string[] = [];
  for (let i = 0; i < chars.length - 1; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}
