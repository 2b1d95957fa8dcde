// Aho-Corasick over UTF-16 code units: one pass over the text finds every
// occurrence of every listed word, however many words there are. Our own
// (decision 0012): modern-ahocorasick, the well-kept npm one, segments
// graphemes and took ~1 ms per KB with 10k words here; this takes a few µs.

/**
 * Transitions out of the root are an array (most steps start there); deeper
 * ones share one open-addressing table of (state, unit) → state in typed
 * arrays. (A Map keyed state × 65536 + unit was 3× slower: past 2^31 its keys
 * are heap numbers.)
 */
export class AhoCorasick {
  private readonly root = new Int32Array(65536).fill(-1);
  private slotState = new Int32Array(16).fill(-1);
  private slotUnit = new Uint16Array(16);
  private slotNext = new Int32Array(16);
  private mask = 15;
  private used = 0;
  private readonly fail: Int32Array;
  /** Patterns that end at each state, its fail chain's included; undefined where none. */
  private readonly out: Array<number[] | undefined>;

  constructor(patterns: ReadonlyArray<string>) {
    const children: Array<Array<[number, number]>> = [[]];
    const ends: Array<number[] | undefined> = [undefined];
    patterns.forEach((p, id) => {
      if (p.length === 0) return;
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        let t = this.step(s, c);
        if (t < 0) {
          t = children.length;
          children.push([]);
          ends.push(undefined);
          children[s]!.push([c, t]);
          if (s === 0) this.root[c] = t;
          else this.put(s, c, t);
        }
        s = t;
      }
      (ends[s] ??= []).push(id);
    });
    this.fail = new Int32Array(children.length);
    this.out = ends;
    // Breadth first, so a state's fail link is final before its children's are computed.
    const queue: number[] = children[0]!.map(([, t]) => t);
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      for (const [c, t] of children[s]!) {
        let f = this.fail[s]!;
        while (f !== 0 && this.step(f, c) < 0) f = this.fail[f]!;
        const g = this.step(f, c);
        this.fail[t] = g >= 0 && g !== t ? g : 0;
        const inherited = this.out[this.fail[t]!];
        if (inherited) this.out[t] = [...(this.out[t] ?? []), ...inherited];
        queue.push(t);
      }
    }
  }

  get states(): number {
    return this.fail.length;
  }

  private step(s: number, c: number): number {
    return s === 0 ? this.root[c]! : this.get(s, c);
  }

  private get(s: number, c: number): number {
    const { slotState, slotUnit, mask } = this;
    for (let i = slot(s, c) & mask; ; i = (i + 1) & mask) {
      const at = slotState[i]!;
      if (at === s && slotUnit[i] === c) return this.slotNext[i]!;
      if (at === -1) return -1;
    }
  }

  private put(s: number, c: number, t: number): void {
    // Kept at most half full, so probes stay short.
    if ((this.used + 1) * 2 > this.mask + 1) this.grow();
    let i = slot(s, c) & this.mask;
    while (this.slotState[i] !== -1) i = (i + 1) & this.mask;
    this.slotState[i] = s;
    this.slotUnit[i] = c;
    this.slotNext[i] = t;
    this.used++;
  }

  private grow(): void {
    const { slotState, slotUnit, slotNext } = this;
    const size = (this.mask + 1) * 2;
    this.slotState = new Int32Array(size).fill(-1);
    this.slotUnit = new Uint16Array(size);
    this.slotNext = new Int32Array(size);
    this.mask = size - 1;
    this.used = 0;
    for (let i = 0; i < slotState.length; i++) if (slotState[i] !== -1) this.put(slotState[i]!, slotUnit[i]!, slotNext[i]!);
  }

  /** Calls onMatch(pattern, end) for every occurrence in codes[0..length); end is exclusive. */
  scan(codes: Uint16Array, length: number, onMatch: (pattern: number, end: number) => void): void {
    const { root, fail, out } = this;
    let s = 0;
    for (let i = 0; i < length; i++) {
      const c = codes[i]!;
      for (;;) {
        const t = s === 0 ? root[c]! : this.get(s, c);
        if (t >= 0) {
          s = t;
          break;
        }
        if (s === 0) break;
        s = fail[s]!;
      }
      const found = out[s];
      if (found) for (const p of found) onMatch(p, i + 1);
    }
  }
}

/** Mixes state and unit so neighbouring states spread over the table. */
function slot(s: number, c: number): number {
  return Math.imul(s, 0x9e3779b1) ^ Math.imul(c, 0x85ebca77);
}
