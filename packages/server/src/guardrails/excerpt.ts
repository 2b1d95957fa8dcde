// What the console shows of an intervention: a few words around where the
// rule fired, never the matched word or any personal data itself.
import { findPii, PII_KINDS, type PiiKind } from './pii.ts';

const WIDTH = 24;
const MARGIN = 80;
const PLACEHOLDER_OF: Record<PiiKind, RegExp> = {
  mobile: /\[PHONE_\d{1,4}\]/, id_card: /\[ID_\d{1,4}\]/, bank_card: /\[CARD_\d{1,4}\]/, email: /\[EMAIL_\d{1,4}\]/,
};

/** Up to WIDTH characters each side of [start, end); the range shown as ***, personal data around it as [kind]. */
export function excerptAround(text: string, start: number, end: number, hide = true): string {
  // Personal data is found on a wider window and masked before the cut, so the cut cannot leave half a number unmasked.
  // Both sides in one pass, joined by a NUL: no kind of personal data spans it (a number or an address stops at it), and it is split on after.
  const before = text.slice(Math.max(0, start - WIDTH - MARGIN), start);
  const after = text.slice(end, end + WIDTH + MARGIN);
  let left: string;
  let right: string;
  if (before.includes('\u0000') || after.includes('\u0000')) {
    left = maskPii(before);
    right = maskPii(after);
  } else {
    const both = maskPii(`${before}\u0000${after}`);
    const cut = both.indexOf('\u0000');
    left = both.slice(0, cut);
    right = both.slice(cut + 1);
  }
  const middle = hide ? '***' : text.slice(start, end);
  const l = left.length > WIDTH ? `…${left.slice(-WIDTH)}` : left;
  const r = right.length > WIDTH || end + WIDTH + MARGIN < text.length ? `${right.slice(0, WIDTH)}…` : right;
  // Any digits left (an order number, a value the window still cut) are not the console's business either.
  // Runs of white space become one space; /\s+/g did the same but replaced every single space too (a third of an excerpt's cost).
  return (l + middle + r).replace(/\s{2,}|[^\S ]/g, ' ').replace(/\d(?:[ -]?\d){3,}/g, '[digits]');
}

/** Around the first placeholder of a kind in an already masked text; undefined when there is none. */
export function excerptAtPlaceholder(masked: string, kind: PiiKind): string | undefined {
  const m = PLACEHOLDER_OF[kind].exec(masked);
  return m ? excerptAround(masked, m.index, m.index + m[0].length, false) : undefined;
}

function maskPii(text: string): string {
  const spans = findPii(text, PII_KINDS);
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const s of spans) {
    out += `${text.slice(at, s.start)}[${s.kind}]`;
    at = s.end;
  }
  return out + text.slice(at);
}
