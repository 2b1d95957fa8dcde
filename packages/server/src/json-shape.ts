// Limits on the shape of JSON that arrives from outside (REST bodies and
// WebSocket frames), checked once, right after parsing, before any of our
// code walks the value. JSON.parse copes with any depth, but JSON.stringify,
// zod and every recursive walk after it do not: a value nested a few
// thousand levels deep overflows the stack wherever it is next serialized
// (a stored message then fails every list it appears in). NUL characters
// are refused for the same reason on another axis: PostgreSQL cannot store
// them in text or jsonb, SQLite can, so letting them through would make the
// two stores disagree.
import secureJson from 'secure-json-parse';

export interface JsonShapeLimits {
  /** Deepest nesting of arrays and objects; 1 = a flat object. */
  maxDepth: number;
  /** Most array elements plus object keys in the whole value. */
  maxNodes: number;
  /** Refuse NUL in strings and keys (default); stored rows read back are only bounded in shape. */
  allowNul?: boolean;
}

/** Generous for every body Warbler takes (tool JSON schemas are the deepest), far below a stack overflow. */
export const DEFAULT_JSON_LIMITS: JsonShapeLimits = { maxDepth: 64, maxNodes: 200_000 };

/**
 * What is wrong with a parsed JSON value's shape, or undefined when nothing
 * is. Iterative, so a hostile value cannot overflow the stack of the check.
 */
export function jsonShapeProblem(value: unknown, limits: JsonShapeLimits = DEFAULT_JSON_LIMITS): string | undefined {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!limits.allowNul && v.includes('\u0000')) return 'Text may not contain NUL (\\u0000) characters.';
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > limits.maxDepth) return `JSON is nested deeper than ${limits.maxDepth} levels.`;
    if (Array.isArray(v)) {
      nodes += v.length;
      if (nodes > limits.maxNodes) return `JSON has more than ${limits.maxNodes} values.`;
      for (const item of v) stack.push({ v: item, depth: depth + 1 });
    } else {
      for (const key in v) {
        if (++nodes > limits.maxNodes) return `JSON has more than ${limits.maxNodes} values.`;
        if (!limits.allowNul && key.includes('\u0000')) return 'Keys may not contain NUL (\\u0000) characters.';
        stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1 });
      }
    }
  }
  return undefined;
}

export type BoundedJson =
  | { ok: true; value: unknown }
  /** `value` is the parsed value when only its shape was refused: enough to find a frame's id for the error reply, never to act on. */
  | { ok: false; reason: 'syntax' | 'shape'; message: string; value?: unknown };

/**
 * Parses JSON text from a client: syntax, prototype poisoning (`__proto__`
 * and `constructor.prototype` keys, as Fastify's own parser refuses) and
 * shape, in that order.
 */
export function parseBoundedJson(text: string, limits: JsonShapeLimits = DEFAULT_JSON_LIMITS): BoundedJson {
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const poisoned = err instanceof SyntaxError && /prototype/i.test(err.message);
    return { ok: false, reason: poisoned ? 'shape' : 'syntax', message: poisoned ? 'JSON may not set __proto__ or constructor.prototype.' : 'The body is not valid JSON.' };
  }
  const problem = jsonShapeProblem(value, limits);
  return problem ? { ok: false, reason: 'shape', message: problem, value } : { ok: true, value };
}
