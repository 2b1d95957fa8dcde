// What an audit entry keeps of a request or response: enough to see what
// changed, never a secret. A field whose name says it holds a secret keeps
// only its last four characters, as the console shows provider keys.

import { createHash } from 'node:crypto';

const SECRET_NAME = /(secret|password|passwd|authorization|credential|private_key|api_?key|^key$|^token$|_token$|^headers$)/i;
const MAX_STRING = 500;
/** Bodies (a knowledge document's text, a message's content): the log keeps their size and digest, not a copy outside encryption at rest. */
const BODY_NAME = /^(text|content|body|data|input)$/i;
const MAX_BODY = 80;
const MAX_DEPTH = 8;
const MAX_KEYS = 200;

/** The last four characters of a secret behind dots; short ones are hidden whole. */
export function lastFour(secret: string): string {
  // Already masked (a view that shows a stored key's hint): masking again would hide the hint too.
  if (/^•+[^•]{0,4}$/.test(secret)) return secret;
  return secret.length <= 8 ? '••••' : `••••${secret.slice(-4)}`;
}

/** A copy of `value` with secrets masked, long strings cut and deep or wide structures summarised, so an entry stays small. */
export function maskForAudit(value: unknown, depth = 0, name = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET_NAME.test(name)) return lastFour(value);
    if (BODY_NAME.test(name) && value.length > MAX_BODY) return `(${value.length} characters, sha256:${digest(value)})`;
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} characters, sha256:${digest(value)})` : value;
  }
  if (value === null || typeof value !== 'object') return value ?? null;
  if (depth >= MAX_DEPTH) return '…';
  // Every value of a headers map (an agent tool's Authorization, X-Api-Key…) is a secret, whatever its name.
  return maskObject(value, depth, name === 'headers');
}

function maskObject(value: object, depth: number, allSecret: boolean): unknown {
  if (Array.isArray(value)) return value.slice(0, MAX_KEYS).map((v) => (allSecret && typeof v === 'string' ? lastFour(v) : maskForAudit(v, depth + 1)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, MAX_KEYS)) {
    out[k] = allSecret && typeof v === 'string' ? lastFour(v) : maskForAudit(v, depth + 1, k);
  }
  return out;
}

// Enough of a digest to see that a long value changed between two entries, without keeping it.
function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}
