import { queryTerms, searchTerms } from './terms.ts';
import { countTokens, segments, sentences } from './text.ts';

interface Unit {
  text: string;
  fence: boolean;
  /** The whitespace that followed it in the passage: '', ' ' or '\n' (Chinese sentences need none). */
  after: string;
}

/**
 * The sentences of a passage that answer the question, in their original
 * order, within `maxTokens`; gaps are marked with "…" so a quote never reads
 * as more continuous than the source. A code fence counts as one sentence.
 */
export function bestSnippet(question: string, text: string, maxTokens = 120): string {
  const wanted = new Set(queryTerms(question));
  const units = splitUnits(text);
  const scored = units.map((unit, i) => ({ i, score: overlap(wanted, unit.text), tokens: countTokens(unit.text) }));
  const matched = scored.some((s) => s.score > 0);
  // Matched on title or heading only: the opening says what the passage is about.
  const ranked = matched ? scored.filter((s) => s.score > 0).sort((a, b) => b.score - a.score || a.i - b.i) : scored;
  const chosen: number[] = [];
  let budget = maxTokens;
  for (const candidate of ranked) {
    if (chosen.length && candidate.tokens > budget) {
      if (matched) continue;
      break;
    }
    chosen.push(candidate.i);
    budget -= candidate.tokens;
    if (budget <= 0) break;
  }
  chosen.sort((a, b) => a - b);
  const first = chosen[0]!;
  const last = chosen[chosen.length - 1]!;
  let out = first > 0 ? gap(undefined, units[first]) : '';
  chosen.forEach((i, n) => {
    const prev = chosen[n - 1];
    if (prev !== undefined) out += i === prev + 1 ? join(units[prev], units[i]) : gap(units[prev], units[i]);
    out += chosen.length === 1 ? truncate(units[i]!, maxTokens) : units[i]!.text;
  });
  return last < units.length - 1 && !out.endsWith('…') ? out + gap(units[last], undefined) : out;
}

// Code fences need their own lines, or their closing line stops closing them.
function join(a: Unit | undefined, b: Unit | undefined): string {
  if (a?.fence || b?.fence) return '\n';
  return a?.after ?? ' ';
}

function gap(a: Unit | undefined, b: Unit | undefined): string {
  const space = a?.fence || b?.fence ? '\n' : ' ';
  if (!a) return `…${space}`;
  if (!b) return `${space}…`;
  return `${space}…${space}`;
}

function overlap(wanted: Set<string>, text: string): number {
  return new Set(searchTerms(text).filter((t) => wanted.has(t))).size;
}

/** Sentences of prose, and whole code fences. */
function splitUnits(text: string): Unit[] {
  const units: Unit[] = [];
  let prose: string[] = [];
  let fence: string[] | undefined;
  const flushProse = () => {
    for (const s of sentences(unwrap(prose))) {
      const text = s.trim();
      const trailing = s.slice(s.trimEnd().length);
      if (text) units.push({ text, fence: false, after: trailing.includes('\n') ? '\n' : trailing ? ' ' : '' });
    }
    prose = [];
  };
  for (const line of text.split('\n')) {
    const isFenceLine = /^ {0,3}(`{3,}|~{3,})/.test(line);
    if (fence) {
      fence.push(line);
      if (isFenceLine) {
        units.push({ text: fence.join('\n'), fence: true, after: '\n' });
        fence = undefined;
      }
    } else if (isFenceLine) {
      flushProse();
      fence = [line];
    } else {
      prose.push(line);
    }
  }
  if (fence) units.push({ text: fence.join('\n'), fence: true, after: '\n' });
  flushProse();
  return units;
}

// A line that starts a list item, quote, heading or table row, or a line after a table row or a hard break ("  " at the end).
const BLOCK_LINE = /^\s*([-*+>#|]|\d+[.)])(\s|$)/;
const CJK_END = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}、。，；：！？）」』]$/u;
const CJK_START = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}（「『]/u;

/**
 * Joins the soft-wrapped lines of Markdown paragraphs. ICU ends a sentence
 * at every line break, so a hard-wrapped paragraph would otherwise be quoted
 * line by line ("… For PostgreSQL, set: …"). Chinese lines join without a
 * space; lists, tables and blank lines keep their breaks.
 */
function unwrap(lines: readonly string[]): string {
  let out = '';
  let previous: string | undefined;
  for (const line of lines) {
    if (previous === undefined) out = line;
    else if (!line.trim() || !previous.trim() || BLOCK_LINE.test(line) || /^\s*\|/.test(previous) || /( {2}|\\)$/.test(previous)) out += `\n${line}`;
    else out += (CJK_END.test(previous.trimEnd()) && CJK_START.test(line.trimStart()) ? '' : ' ') + line.trim();
    previous = line;
  }
  return out;
}

/** Cuts one over-long sentence at a word boundary; a code fence stays whole. */
function truncate(unit: Unit, maxTokens: number): string {
  // A code block is quoted whole or not at all: half a command is worse than none (chunks bound a fence's size).
  if (unit.fence || countTokens(unit.text) <= maxTokens) return unit.text;
  let out = '';
  for (const { segment } of segments(unit.text)) {
    if (countTokens(out + segment) > maxTokens) break;
    out += segment;
  }
  return `${out.trimEnd()} …`;
}
