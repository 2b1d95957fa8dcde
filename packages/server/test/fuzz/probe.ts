// One fuzzed HTTP request on the wire, and what its answer must look like.
import fc from 'fast-check';
import { ErrorCode } from '@warbler/protocol';
import { hostileString, short, type WireBody } from './arbitraries.ts';

export interface Probe {
  method: string;
  /** Path and query, already encoded. */
  path: string;
  /** Bearer credential; undefined sends no Authorization header. */
  credential: string | undefined;
  headers?: Record<string, string>;
  wire: WireBody | undefined;
}

export interface Answer {
  status: number;
  text: string;
  json: unknown;
  ms: number;
}

/** A request must be answered within this; longer is a hang, and a finding. */
const ANSWER_WITHIN_MS = 15_000;

export async function send(baseUrl: string, probe: Probe): Promise<Answer> {
  const headers: Record<string, string> = { ...probe.headers };
  if (probe.credential !== undefined) headers.authorization = `Bearer ${probe.credential}`;
  if (probe.wire?.contentType !== undefined) headers['content-type'] = probe.wire.contentType;
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(baseUrl + probe.path, {
      method: probe.method,
      headers,
      body: probe.method === 'GET' || probe.method === 'HEAD' ? undefined : (probe.wire?.body as BodyInit | undefined),
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
  } catch (err) {
    throw new Error(`no answer to ${describe(probe)}: ${(err as Error).message} ${(err as { cause?: Error }).cause?.message ?? ''}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, ms: performance.now() - started };
}

export function describe(probe: Probe): string {
  return `${probe.method} ${short(probe.path, 200)} as ${probe.credential === undefined ? 'nobody' : short(probe.credential, 24)}${probe.headers ? ` ${short(probe.headers, 100)}` : ''} with ${probe.wire?.label ?? 'no body'}`;
}

const codes = new Set<string>(ErrorCode.options);

/** What is wrong with a Warbler error body ({error:{code,message}}), or undefined. */
export function warblerErrorProblem(answer: Answer): string | undefined {
  const error = (answer.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (!error || typeof error !== 'object') return `not {error:{code,message}}: ${short(answer.text, 300)}`;
  if (typeof error.code !== 'string' || !codes.has(error.code)) return `unknown error code ${JSON.stringify(error.code)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'error.message is empty';
  return undefined;
}

/** What is wrong with an OpenAI error body ({error:{message,type,param,code}}), or undefined. */
export function openAiErrorProblem(answer: Answer): string | undefined {
  const error = (answer.json as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error !== 'object') return `not OpenAI's {error:{message,type,param,code}}: ${short(answer.text, 300)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'error.message is empty';
  if (typeof error.type !== 'string') return 'error.type is not a string';
  if (!('param' in error) || (error.param !== null && typeof error.param !== 'string')) return 'error.param is not a string or null';
  if (!('code' in error) || (error.code !== null && typeof error.code !== 'string')) return 'error.code is not a string or null';
  return undefined;
}

/** Percent-encodes anything, lone surrogates included (encodeURIComponent throws on those). */
export function encodeSegment(text: string): string {
  return [...text].map((ch) => {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) return '%ED%A0%80';
    return encodeURIComponent(ch);
  }).join('');
}

/** A path parameter: a real id most of the time, else something hostile. */
export function pathParam(ids: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ids).map(encodeSegment) },
    { weight: 2, arbitrary: hostileString.filter((s) => s.length < 20_000 && s.length > 0).map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom('%ff', '%', '%2e%2e', '..', '%2F', 'a%2Fb', '%00', '%u0000', 'x'.repeat(5_000), '%C0%AF', '%E2%80%AE') },
  );
}

/** A query string built from some of `names`, each with a plausible or hostile value. */
export function queryOf(names: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const entries = Object.entries(names).map(([name, value]) =>
    fc.option(fc.oneof({ weight: 3, arbitrary: value }, { weight: 1, arbitrary: hostileString.filter((s) => s.length < 10_000) }).map((v) => `${encodeSegment(name)}=${encodeSegment(v)}`), { nil: undefined, freq: 2 }));
  return fc.tuple(...entries, fc.option(fc.constantFrom('junk=1', 'limit=1&limit=2', '__proto__[x]=1', 'a[b][c]=d', '%ff=%ff', '&&&', '='), { nil: undefined, freq: 6 }))
    .map((parts) => {
      const q = parts.filter((p): p is string => p !== undefined).join('&');
      return q ? `?${q}` : '';
    });
}

/** Numbers as query text: in range, out of it, and not numbers at all. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -5, max: 300 }).map(String),
  fc.constantFrom('0', '-1', '1.5', '1e3', '1e999', '9007199254740993', '99999999999999999999', 'NaN', 'Infinity', '0x10', ' 5', '', '٣'),
);
