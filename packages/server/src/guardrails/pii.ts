// Personal data found in a prompt before it leaves Warbler: mainland China
// mobile numbers, resident identity card numbers (checksum and birth date
// checked), bank card numbers (Luhn checked) and email addresses. Numbers
// that fail their checksum are left alone: an order number is not a card.

export type PiiKind = 'mobile' | 'id_card' | 'bank_card' | 'email';
export const PII_KINDS: readonly PiiKind[] = ['mobile', 'id_card', 'bank_card', 'email'];

export interface PiiSpan {
  kind: PiiKind;
  start: number;
  end: number;
  value: string;
}

// Digits may be grouped with spaces or dashes (138 0013 8000, 6222-0200-...); never glued to other digits or letters.
const MOBILE = /(?<![\dA-Za-z])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\dA-Za-z])/g;
const ID_CARD = /(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])/g;
const CARD = /(?<![\dA-Za-z])\d(?:[ -]?\d){12,18}(?![\dA-Za-z])/g;
// Emails are found from their @ outwards: a regex that starts anywhere backtracks over every word of the text.
const EMAIL_DOMAIN = /[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])/y;
/** The characters of an address's local part, by char code: [\w.%+-] (ASCII); GLUED for those that also glue a name to what is before it ([\w.+-]). */
const LOCAL_CHAR = new Uint8Array(128);
const GLUED = 2;
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-') LOCAL_CHAR[c.charCodeAt(0)] = GLUED;
LOCAL_CHAR['%'.charCodeAt(0)] = 1;

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** GB 11643-1999: 6-digit area, birth date YYYYMMDD, 3-digit sequence, ISO 7064 MOD 11-2 check character. */
export function validResidentId(id: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(id)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * ID_WEIGHTS[i]!;
  if (ID_CHECK[sum % 11] !== id[17]!.toUpperCase()) return false;
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  return y >= 1900 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d && date.getTime() <= Date.now();
}

/** The Luhn check every bank card number passes (UnionPay, Visa, Mastercard...). */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const ALL_KINDS: ReadonlySet<PiiKind> = new Set(PII_KINDS);
/**
 * Whether a text has the 11 digits a number of any kind has at least (a
 * mobile number's; an identity card has 17, a bank card 13): one pass, where
 * the three number scans are a pass each. Anchored, and \D* and \d never
 * overlap, so it stays linear on a long text with few digits.
 */
const ENOUGH_DIGITS = /^(?:\D*\d){11}/;
const GROUPING = /[ -]/g;

/** The personal data in a text, left to right, never overlapping (an identity card number wins over a card, a card over a phone). */
export function findPii(text: string, kinds: ReadonlySet<PiiKind> | readonly PiiKind[]): PiiSpan[] {
  // Plain loops and module-level helpers, no closures: this runs on every prompt text and every console excerpt.
  const want = kinds instanceof Set ? kinds : kinds === PII_KINDS ? ALL_KINDS : new Set(kinds);
  const found: PiiSpan[] = [];
  // Characters already inside a span: a bitmap once there are many, so a prompt of 100k numbers costs linear time, not quadratic.
  const state: Scan = { text, found, covered: undefined };
  // Cheap gates: too few digits, no numbers (most console excerpts and many prompts); no @, no email.
  if ((want.has('id_card') || want.has('bank_card') || want.has('mobile')) && ENOUGH_DIGITS.test(text)) {
    if (want.has('id_card')) scanKind(state, 'id_card', ID_CARD);
    if (want.has('bank_card')) scanKind(state, 'bank_card', CARD);
    if (want.has('mobile')) scanKind(state, 'mobile', MOBILE);
  }
  if (want.has('email')) {
    for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
      let start = at;
      while (start > 0 && at - start < 64 && (LOCAL_CHAR[text.charCodeAt(start - 1)] ?? 0) > 0) start--;
      // Stopped by the 64-character limit inside a longer name: not an address (or not one we can see whole).
      if (start === at || (start > 0 && (LOCAL_CHAR[text.charCodeAt(start - 1)] ?? 0) === GLUED)) continue;
      EMAIL_DOMAIN.lastIndex = at + 1;
      // test() rather than exec(): the sticky regex's lastIndex is the end, and no match array is made.
      if (!EMAIL_DOMAIN.test(text)) continue;
      const end = EMAIL_DOMAIN.lastIndex;
      if (!taken(state, start, end)) add(state, { kind: 'email', start, end, value: text.slice(start, end) });
    }
  }
  return found.length > 1 ? found.sort((a, b) => a.start - b.start) : found;
}

interface Scan {
  text: string;
  found: PiiSpan[];
  covered: Uint8Array | undefined;
}

/** Up to this many spans, overlaps are checked against the spans themselves; past it, a bitmap of the text (no bitmap for the usual prompt's one or two). */
const FEW_SPANS = 16;

function taken(state: Scan, s: number, e: number): boolean {
  const covered = state.covered;
  if (covered) {
    for (let i = s; i < e; i++) if (covered[i]) return true;
    return false;
  }
  for (const f of state.found) if (f.start < e && s < f.end) return true;
  return false;
}

function add(state: Scan, span: PiiSpan): void {
  state.found.push(span);
  if (state.covered) state.covered.fill(1, span.start, span.end);
  else if (state.found.length > FEW_SPANS) {
    state.covered = new Uint8Array(state.text.length);
    for (const f of state.found) state.covered.fill(1, f.start, f.end);
  }
}

function scanKind(state: Scan, kind: PiiKind, re: RegExp): void {
  const text = state.text;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const value = m[0];
    const start = m.index;
    const end = start + value.length;
    if (valid(kind, value) && !taken(state, start, end)) add(state, { kind, start, end, value });
  }
}

function valid(kind: PiiKind, value: string): boolean {
  if (kind === 'id_card') return validResidentId(value);
  if (kind === 'bank_card') {
    const digits = value.replace(GROUPING, '');
    return digits.length >= 13 && digits.length <= 19 && luhn(digits);
  }
  return true;
}

const LABEL: Record<PiiKind, string> = { mobile: 'PHONE', id_card: 'ID', bank_card: 'CARD', email: 'EMAIL' };
/** The longest placeholder a reply may hold back while it waits for the rest: [BANK_CARD_999]. */
const MAX_PLACEHOLDER = 16;
const PLACEHOLDER = /\[(?:PHONE|ID|CARD|EMAIL)_\d{1,4}\]/g;

/**
 * Masks personal data with placeholders ([PHONE_1], [EMAIL_2]) for one call,
 * the same value always getting the same placeholder, and puts the values
 * back into the reply when the operator allows it. It lives as long as the
 * call: values are never stored.
 */
export class PiiVault {
  private readonly byValue = new Map<string, string>();
  private readonly byToken = new Map<string, string>();
  private readonly counts = new Map<PiiKind, number>();
  /** How many values of each kind were masked, for the log and metrics. */
  readonly masked = new Map<PiiKind, number>();

  constructor(private readonly kinds: ReadonlySet<PiiKind>) {}

  get size(): number {
    return this.byToken.size;
  }

  mask(text: string): string {
    const spans = findPii(text, this.kinds);
    if (spans.length === 0) return text;
    let out = '';
    let at = 0;
    for (const s of spans) {
      out += text.slice(at, s.start) + this.tokenFor(s);
      at = s.end;
    }
    return out + text.slice(at);
  }

  /** Puts the masked values back into a whole text. */
  restore(text: string): string {
    if (this.byToken.size === 0 || !text.includes('[')) return text;
    return text.replace(PLACEHOLDER, (t) => this.byToken.get(t) ?? t);
  }

  /**
   * Puts the masked values back into a JSON text, in every string it holds,
   * each value escaped as a JSON string's content: the same JSON a restore of
   * each string and a new serialisation would give, without parsing or
   * serialising. Undefined when the text may hold a placeholder written with
   * \u escapes, which only a parse would find.
   */
  restoreJson(json: string): string | undefined {
    if (this.byToken.size === 0) return json;
    if (json.includes('\\u')) return undefined;
    if (!json.includes('[')) return json;
    return json.replace(PLACEHOLDER, (t) => {
      const value = this.byToken.get(t);
      return value === undefined ? t : JSON.stringify(value).slice(1, -1);
    });
  }

  /** For a streamed reply: holds back a tail that may be the start of a placeholder until the rest arrives. */
  restorer(): { push(text: string): string; flush(): string } {
    let pending = '';
    return {
      push: (text) => {
        const all = pending + text;
        const open = all.lastIndexOf('[');
        if (open >= 0 && all.indexOf(']', open) < 0 && all.length - open < MAX_PLACEHOLDER) {
          pending = all.slice(open);
          return this.restore(all.slice(0, open));
        }
        pending = '';
        return this.restore(all);
      },
      flush: () => {
        const rest = this.restore(pending);
        pending = '';
        return rest;
      },
    };
  }

  private tokenFor(s: PiiSpan): string {
    // Kinds cannot share a value (digits vs an address), so the value alone is the key.
    const key = s.kind === 'email' ? s.value.toLowerCase() : /[ -]/.test(s.value) ? s.value.replace(/[ -]/g, '') : s.value;
    let token = this.byValue.get(key);
    if (!token) {
      const n = (this.counts.get(s.kind) ?? 0) + 1;
      this.counts.set(s.kind, n);
      token = `[${LABEL[s.kind]}_${n}]`;
      this.byValue.set(key, token);
      this.byToken.set(token, s.value);
    }
    this.masked.set(s.kind, (this.masked.get(s.kind) ?? 0) + 1);
    return token;
  }
}
