/**
 * A light English stemmer: plurals (after Harman's S-stemmer), -ing, -ed and a
 * final -e, so "install", "installs", "installed" and "installing" meet, as do
 * "configure" and "configured". It is deliberately cautious: a missed match
 * costs a little recall, a wrong merge costs precision in every search.
 */
export function stem(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  let w = plural(word);
  const suffix = /(?:ing|ed)$/.exec(w);
  if (suffix) {
    const base = w.slice(0, -suffix[0].length);
    // Keeps "string", "need" and "red" whole: what is left must look like a word.
    if (base.length >= 3 && /[aeiouy]/.test(base)) w = undouble(base);
  }
  if (w.length >= 4 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

function plural(w: string): string {
  if (w.endsWith('ies') && !/[ae]ies$/.test(w)) return `${w.slice(0, -3)}y`;
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('es') && !/[aeo]es$/.test(w)) return w.slice(0, -1);
  if (w.endsWith('s') && !/(?:us|ss|is)$/.test(w)) return w.slice(0, -1);
  return w;
}

// "shipped" → "ship", but "installed" → "install" and "passed" → "pass" (as in Porter).
function undouble(w: string): string {
  return /([^aeiouylsz])\1$/.test(w) ? w.slice(0, -1) : w;
}
