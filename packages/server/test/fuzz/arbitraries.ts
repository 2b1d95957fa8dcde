// Shared pieces of the fuzz suite (issue 10): hostile values, mutations of
// valid bodies, raw junk, how a generated body becomes bytes on the wire, and
// how a property is run with a bounded budget and a replayable seed.
import fc from 'fast-check';

/** Runs of each property: the bounded default, or WARBLER_FUZZ_RUNS for a longer local run. */
export function fuzzRuns(bounded: number): number {
  const runs = Number(process.env.WARBLER_FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : bounded;
}

/** True when someone asked for a long run: the figures are printed at the end. */
export const longRun = (): boolean => process.env.WARBLER_FUZZ_RUNS !== undefined;

/**
 * Runs an async property against a live server. No shrinking by default
 * (each step is a real request and the server's state moves on); the failure
 * names the seed, so WARBLER_FUZZ_SEED replays the same sequence on a fresh server.
 */
export async function checkProperty<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, bounded: number): Promise<void> {
  const seedEnv = process.env.WARBLER_FUZZ_SEED;
  const seed = seedEnv !== undefined && seedEnv !== '' ? Number(seedEnv) : (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const result = await fc.check(fc.asyncProperty(arbitrary, predicate), {
    numRuns: fuzzRuns(bounded),
    seed,
    endOnFailure: process.env.WARBLER_FUZZ_SHRINK !== '1',
  });
  if (!result.failed) return;
  const example = result.counterexample ? short(result.counterexample[0]) : '(none)';
  const cause = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  throw new Error(
    `fuzz property "${name}" failed after ${result.numRuns} runs.\n` +
    `Replay: WARBLER_FUZZ_SEED=${result.seed} (shrink with WARBLER_FUZZ_SHRINK=1)\n` +
    `Input: ${example}\nCause: ${cause}`,
  );
}

/** A value for a failure message, cut so a megabyte string does not flood the log. */
export function short(value: unknown, max = 1_500): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (v instanceof RawJson ? `<raw ${v.text.length} chars: ${v.text.slice(0, 80)}>` : v instanceof Uint8Array ? `<${v.length} bytes>` : v));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/** JSON text that is spliced into a body as it is: deep nesting and numbers JSON.stringify cannot write. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A body as JSON text, with every RawJson spliced in where it stands. */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `\u0001raw${raws.length - 1}\u0001`;
    }
    return v;
  });
  if (text === undefined) return 'null';
  return raws.length === 0 ? text : text.replace(/"\\u0001raw(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!);
}

const nestedArrays = (depth: number) => new RawJson(`${'['.repeat(depth)}1${']'.repeat(depth)}`);
const nestedObjects = (depth: number) => new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

/** Strings a careless server mishandles: NUL, lone surrogates, RTL and zero-width marks, huge, SQL and path junk. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '', ' ', 'a\u0000b', '\u0000', '\ud800', 'x\udfffy', '\u202e\u200b\ufeff', '😀'.repeat(50), "'; DROP TABLE users; --",
    '../../etc/passwd', '%00', '<script>alert(1)</script>', 'javascript:alert(1)', '__proto__', 'constructor', 'prototype',
    '${jndi:ldap://x}', 'NaN', '-1', '1e999', 'null', 'true', '\r\n\r\nHTTP/1.1 200 OK', 'x'.repeat(257), 'y'.repeat(4_001),
  ),
  fc.constantFrom(33_000, 70_000, 1_100_000).map((n) => 'z'.repeat(n)),
);

/** Numbers at and past every edge: negative, fractional, beyond 2^53, beyond int8, and literals that parse to Infinity. */
export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-1, 0, 0.5, -0.0001, 2 ** 31, 2 ** 53 + 2, 9.3e18, 1e21, 1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE),
  fc.constantFrom('1e999', '-1e999', '123456789012345678901234567890', '1E400', '-0').map((t) => new RawJson(t)),
);

/** A value of any type, with hostile shapes over-weighted. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { '': '' }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(65, 100, 3_000, 20_000).chain((d) => fc.constantFrom(nestedArrays(d), nestedObjects(d))) },
  { weight: 1, arbitrary: fc.constantFrom(
    new RawJson('{"__proto__":{"admin":true}}'),
    new RawJson('{"constructor":{"prototype":{"admin":true}}}'),
    { constructor: 'x', prototype: 1, toString: 'y', hasOwnProperty: 0, valueOf: [] },
    new RawJson(`[${'0,'.repeat(60_000)}0]`),
  ) },
);

/** Keys to add beside the real fields. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'app_id', 'id', 'seq', 'state', 'role', 'kind', 'cost', 'model', 'citations', 'feedback', 'a\u0000b', ''),
);

export type Mutation =
  | { op: 'set'; value: unknown }
  | { op: 'delete' }
  | { op: 'extra'; key: string; value: unknown }
  | { op: 'swap-id'; value: string }
  /** An edge value of the slot's own type (a number for a number, text for text): gets past type checks to the range checks and the stores. */
  | { op: 'edge'; number: unknown; text: string; other: unknown };

/** Every place in a body a mutation can land: the body itself and each field or element, to depth 4. */
function slots(value: unknown, path: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(path);
  if (path.length >= 4 || value === null || typeof value !== 'object' || value instanceof RawJson) return out;
  for (const [k, v] of Object.entries(value)) slots(v, [...path, Array.isArray(value) ? Number(k) : k], out);
  return out;
}

/** A copy of `body` with one mutation applied at the slot `pick` chooses. */
export function applyMutation(body: unknown, mutation: Mutation, pick: number): unknown {
  const copy = structuredCloneJson(body);
  const all = slots(copy);
  const path = all[pick % all.length]!;
  if (mutation.op === 'edge') {
    const current = get(copy, path);
    const value = typeof current === 'number' ? mutation.number : typeof current === 'string' ? mutation.text : mutation.other;
    return applyMutation(copy, { op: 'set', value }, all.indexOf(path));
  }
  if (path.length === 0) {
    if (mutation.op === 'set' || mutation.op === 'swap-id') return mutation.value;
    if (mutation.op === 'delete') return undefined;
  }
  const parentPath = mutation.op === 'extra' && path.length > 0 && !isObject(get(copy, path)) ? path.slice(0, -1) : path;
  if (mutation.op === 'extra') {
    const target = get(copy, parentPath);
    if (isObject(target)) (target as Record<string, unknown>)[mutation.key] = mutation.value;
    else return { value: copy, [mutation.key]: mutation.value };
    return copy;
  }
  const parent = get(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (mutation.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else {
    parent[key] = mutation.value;
  }
  return copy;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);
}

function get(value: unknown, path: Array<string | number>): unknown {
  let v = value as Record<string | number, unknown>;
  for (const k of path) v = v[k] as Record<string | number, unknown>;
  return v;
}

/** A deep copy that keeps RawJson values (structuredClone would make them plain objects). */
function structuredCloneJson(value: unknown): unknown {
  if (value instanceof RawJson || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(structuredCloneJson);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = structuredCloneJson(v);
  return out;
}

/** One mutation; `ids` are real ids (of this app's and other apps' objects) to swap into id fields. */
export function mutation(ids: readonly string[]): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 5, arbitrary: hostileValue.map((value): Mutation => ({ op: 'set', value })) },
    { weight: 1, arbitrary: fc.constant<Mutation>({ op: 'delete' }) },
    { weight: 2, arbitrary: fc.record({ key: hostileKey, value: hostileValue }).map(({ key, value }): Mutation => ({ op: 'extra', key, value })) },
    { weight: 2, arbitrary: fc.constantFrom(...ids).map((value): Mutation => ({ op: 'swap-id', value })) },
    { weight: 4, arbitrary: fc.record({ number: hostileNumber, text: hostileString, other: hostileValue }).map((m): Mutation => ({ op: 'edge', ...m })) },
  );
}

/** A valid-ish body with one or two fields mutated. */
export function mutated(base: fc.Arbitrary<unknown>, ids: readonly string[]): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.array(fc.tuple(mutation(ids), fc.nat()), { minLength: 1, maxLength: 2 }))
    .map(([body, steps]) => steps.reduce((b, [m, pick]) => applyMutation(b, m, pick), body));
}

export interface WireBody {
  contentType: string | undefined;
  body: string | Uint8Array | undefined;
  /** What was sent, for a failure message. */
  label: string;
}

/** A JSON body as it goes on the wire. */
export const jsonBody = (value: unknown): WireBody => {
  const text = toJsonText(value);
  return { contentType: 'application/json', body: text, label: `json ${short(text, 300)}` };
};

/** Bodies no schema would produce: random JSON, broken JSON, random bytes, other content types. */
export const rawBody: fc.Arbitrary<WireBody> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map(jsonBody),
  fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat()).map(([v, cut]): WireBody => {
    const text = JSON.stringify(v) ?? 'null';
    const broken = text.slice(0, cut % Math.max(1, text.length)) + (cut % 3 === 0 ? '}' : cut % 3 === 1 ? ',' : '');
    return { contentType: 'application/json', body: broken, label: `broken json ${short(broken, 200)}` };
  }),
  fc.constantFrom('', '{', '}', 'null', '[]', '"str"', '1', 'true', '{"a":1,}', "{'a':1}", '{"a":1}{"b":2}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}',
    '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'NaN', '{"a":1e999}')
    .map((text): WireBody => ({ contentType: 'application/json', body: text, label: `json ${JSON.stringify(text)}` })),
  fc.uint8Array({ maxLength: 200 }).chain((bytes) =>
    fc.constantFrom('application/json', 'application/octet-stream', 'text/plain', undefined).map((contentType): WireBody => ({ contentType, body: bytes, label: `${bytes.length} random bytes as ${contentType}` }))),
  fc.tuple(fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/jsonx', 'text/html', 'image/png', 'multipart/form-data', 'multipart/form-data; boundary=', 'application/json, text/plain'), fc.jsonValue({ maxDepth: 2 }))
    .map(([contentType, v]): WireBody => ({ contentType, body: JSON.stringify(v) ?? 'null', label: `${contentType}: ${short(v, 200)}` })),
);

/** multipart/form-data bodies that are wrong in every way an upload parser meets. */
export const multipartJunk: fc.Arbitrary<WireBody> = fc.tuple(
  fc.constantFrom('b0undary', 'x', '-'.repeat(70), 'a b'),
  fc.constantFrom('file', 'files', 'purpose', 'sender_id', '', 'file"; x="y', 'title', 'format'),
  fc.constantFrom('f.jsonl', 'f.md', 'f.txt', '../../etc/passwd', 'a\u0000b.txt', '', 'x'.repeat(300), '😀.png'),
  fc.constantFrom('text/plain', 'application/octet-stream', 'image/png', 'text/markdown', 'application/jsonl', ''),
  fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 300 }).map((s) => new TextEncoder().encode(s)),
    fc.constantFrom('{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}\n', '# Title\n\nSome text.\n', '\x89PNG\r\n\x1a\n').map((s) => new TextEncoder().encode(s))),
  fc.constantFrom('ok', 'no-end', 'no-headers', 'two-files', 'extra-fields', 'bad-boundary', 'purpose-batch', 'only-fields', 'empty'),
).map(([boundary, field, filename, mime, data, shape]): WireBody => {
  const enc = new TextEncoder();
  const head = (name: string, file?: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file !== undefined ? `; filename="${file}"` : ''}\r\n${file !== undefined && mime ? `Content-Type: ${mime}\r\n` : ''}\r\n`;
  const parts: Uint8Array[] = [];
  const push = (s: string) => parts.push(enc.encode(s));
  if (shape === 'empty') push('');
  else if (shape === 'no-headers') push(`--${boundary}\r\n\r\n`);
  else if (shape === 'only-fields') push(`${head('purpose')}batch\r\n${head('title')}t\r\n--${boundary}--\r\n`);
  else {
    if (shape === 'purpose-batch' || shape === 'extra-fields') push(`${head('purpose')}batch\r\n`);
    if (shape === 'extra-fields') for (let i = 0; i < 12; i++) push(`${head(`f${i}`)}v\r\n`);
    push(head(field, filename));
    parts.push(data);
    push('\r\n');
    if (shape === 'two-files') {
      push(head('file', 'second.txt'));
      push('second\r\n');
    }
    if (shape !== 'no-end') push(`--${boundary}--\r\n`);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const body = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  const contentType = shape === 'bad-boundary' ? 'multipart/form-data; boundary=other' : `multipart/form-data; boundary=${boundary}`;
  return { contentType, body, label: `multipart ${shape} field=${field} file=${short(filename, 40)} ${data.length} bytes` };
});

/** Counts of what a fuzz file saw, printed after a long run for the notes. */
export class FuzzFigures {
  attempts = 0;
  readonly byStatus = new Map<string, number>();
  serverErrors = 0;

  record(status: number | string, code?: string): void {
    this.attempts++;
    if (typeof status === 'number' && status >= 500) this.serverErrors++;
    const key = code ? `${status} ${code}` : String(status);
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1);
  }

  summary(title: string): string {
    const rows = [...this.byStatus].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
    return `${title}: ${this.attempts} attempts, ${this.serverErrors} 5xx; ${rows}`;
  }
}
