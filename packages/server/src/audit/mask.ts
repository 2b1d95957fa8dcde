// What an audit entry keeps of a request or response: enough to see what
// changed, never a secret. A field whose name says it holds a secret keeps
// only its last four characters, as the console shows provider keys.

const SECRET_NAME = /(secret|password|passwd|authorization|credential|private_key|api_?key|^key$|^token$|_token$|^headers$)/i;
const MAX_STRING = 2_000;
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
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} characters)` : value;
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
