/** Query parameters that carry a credential; their values never reach the log. */
const SECRET_PARAMS = new Set(['sig', 'token', 'key', 'secret', 'api_key', 'apikey', 'access_token', 'refresh_token', 'password']);

/**
 * A request URL as it may be logged: path as is, credential values replaced
 * by "[redacted]". Works on the raw string, so a URL the parser would reject
 * is still redacted, and names match case-insensitively.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    return eq >= 0 && SECRET_PARAMS.has(decodeName(name).toLowerCase()) ? `${name}=[redacted]` : pair;
  });
  return `${url.slice(0, q)}?${query.join('&')}`;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}
