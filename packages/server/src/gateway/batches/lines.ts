// Reading and checking a batch's JSONL input. Files can be large, so they are
// read as a stream of lines, twice at most (validation, then running), and
// never held whole in memory.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BatchRow } from '../../store/index.ts';
import type { BatchEndpoint } from './wire.ts';

/** OpenAI's limit, kept so a batch that works here also works there. */
export const MAX_BATCH_LINES = 50_000;
/** Errors stored with a failed batch; a file that is wrong everywhere would otherwise make a huge row. */
export const MAX_REPORTED_ERRORS = 100;

export interface RawLine {
  /** 0-based physical line number (blank lines count, so numbers match an editor's). */
  index: number;
  text: string;
}

/** Non-blank lines of a file (a path, or its bytes as a stream: a sealed file's plaintext), in order. */
export async function* readLines(source: string | Readable): AsyncGenerator<RawLine> {
  const input = typeof source === 'string' ? createReadStream(source, { encoding: 'utf8' }) : source;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let index = -1;
  try {
    for await (const text of lines) {
      index += 1;
      if (text.trim().length > 0) yield { index, text };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

export interface BatchLine {
  index: number;
  custom_id: string;
  body: Record<string, unknown>;
}

export type BatchError = BatchRow['errors'][number];

export interface LineRules {
  endpoint: BatchEndpoint;
  /** May the batch's key call this model? */
  mayUse(model: string): boolean;
  /** Is the model routed at all? */
  isRouted(model: string): boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One line as OpenAI's batch validator sees it; errors carry 1-based line numbers, as OpenAI reports them. */
export function parseLine(raw: RawLine, rules: LineRules): { ok: true; line: BatchLine } | { ok: false; error: BatchError } {
  const line = raw.index + 1;
  const fail = (code: string, message: string, param: string | null = null) => ({ ok: false as const, error: { code, message: `Line ${line}: ${message}`, line, param } });
  let value: unknown;
  try {
    value = JSON.parse(raw.text);
  } catch {
    return fail('invalid_json_line', 'this line is not valid JSON. Each line must be one JSON object.');
  }
  if (!isObject(value)) return fail('invalid_json_line', 'each line must be a JSON object.');
  const { custom_id, method, url, body } = value;
  if (typeof custom_id !== 'string' || custom_id.length === 0) return fail('missing_custom_id', 'custom_id is required and must be a non-empty string.', 'custom_id');
  if (custom_id.length > 512) return fail('invalid_custom_id', 'custom_id is at most 512 characters.', 'custom_id');
  if (method !== 'POST') return fail('invalid_method', `method must be "POST".`, 'method');
  if (url !== rules.endpoint) return fail('invalid_url', `url must be "${rules.endpoint}", the batch's endpoint; one batch runs one endpoint.`, 'url');
  if (!isObject(body)) return fail('invalid_body', 'body must be a JSON object: the request you would send to the endpoint.', 'body');
  if (typeof body.model !== 'string' || body.model.length === 0) return fail('missing_model', 'body.model is required.', 'body.model');
  if (!rules.isRouted(body.model)) return fail('model_not_found', `the model "${body.model}" is not available on this server; GET /v1/models lists the ones you can use.`, 'body.model');
  if (!rules.mayUse(body.model)) return fail('model_not_allowed', `this API key may not use the model "${body.model}".`, 'body.model');
  // A batch answer is a file, not a stream.
  if (body.stream === true) return fail('invalid_body', 'body.stream must not be true in a batch.', 'body.stream');
  if (rules.endpoint === '/v1/chat/completions' && (!Array.isArray(body.messages) || body.messages.length === 0)) {
    return fail('invalid_body', 'body.messages must be a non-empty array.', 'body.messages');
  }
  if (rules.endpoint === '/v1/embeddings' && body.input === undefined) return fail('invalid_body', 'body.input is required.', 'body.input');
  return { ok: true, line: { index: raw.index, custom_id, body } };
}

export interface Validation {
  /** Lines that will run. */
  total: number;
  errors: BatchError[];
}

/** Checks every line of a file; a batch runs only when all of them pass, as on OpenAI. */
export async function validateFile(source: string | Readable, rules: LineRules): Promise<Validation> {
  const errors: BatchError[] = [];
  let failed = 0;
  const seen = new Set<string>();
  let total = 0;
  const report = (e: BatchError) => {
    failed += 1;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
  };
  for await (const raw of readLines(source)) {
    total += 1;
    const parsed = parseLine(raw, rules);
    if (!parsed.ok) {
      report(parsed.error);
      continue;
    }
    if (seen.has(parsed.line.custom_id)) {
      report({ code: 'duplicate_custom_id', message: `Line ${raw.index + 1}: the custom_id "${parsed.line.custom_id}" is used by an earlier line; each line needs its own.`, line: raw.index + 1, param: 'custom_id' });
      continue;
    }
    seen.add(parsed.line.custom_id);
  }
  if (total === 0) errors.push({ code: 'empty_file', message: 'The input file has no requests.', line: null, param: null });
  if (total > MAX_BATCH_LINES) {
    errors.push({ code: 'too_many_requests', message: `The input file has ${total} requests; a batch holds at most ${MAX_BATCH_LINES}. Split it into several batches.`, line: null, param: null });
  }
  if (failed > MAX_REPORTED_ERRORS) {
    errors.push({ code: 'more_errors', message: `${failed - MAX_REPORTED_ERRORS} more lines have errors; fix the ones above and validate again.`, line: null, param: null });
  }
  return { total, errors };
}
