import { api, ApiError, type Shape } from '../api.ts';

/** The REST API as the operator: the master key, acting in one app. */
export class ConsoleApi {
  constructor(readonly masterKey: string, readonly appId: string) {}

  /** With `shape` (a response schema from @warbler/protocol) the result's type comes from the protocol, not from the page. */
  call<T>(method: string, path: string, body?: unknown, shape?: Shape<T>): Promise<T> {
    return api<T>(method, path, { token: this.masterKey, headers: { 'x-warbler-app': this.appId }, ...(body !== undefined && { body }), ...(shape && { shape }) });
  }

  /**
   * A multipart upload with progress: fetch cannot report upload progress
   * (no request streams in all browsers), XMLHttpRequest can.
   */
  upload<T>(path: string, form: FormData, onProgress: (fraction: number) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('authorization', `Bearer ${this.masterKey}`);
      xhr.setRequestHeader('x-warbler-app', this.appId);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        let body: unknown;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = undefined;
        }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(body as T);
        const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
        reject(new ApiError(xhr.status, error?.code ?? 'http_error', error?.message ?? `The server answered ${xhr.status}.`));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload could not reach the server.'));
      xhr.send(form);
    });
  }
}

/** The operator's key lives in this tab only: closing it signs out. */
const KEY = 'warbler.console';

export function loadConsoleSession(): { masterKey: string; appId: string } | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    const s = raw ? (JSON.parse(raw) as { masterKey?: unknown; appId?: unknown }) : undefined;
    if (s && typeof s.masterKey === 'string' && typeof s.appId === 'string') return { masterKey: s.masterKey, appId: s.appId };
  } catch {
    // Nothing usable saved.
  }
  return undefined;
}

export function saveConsoleSession(s: { masterKey: string; appId: string } | undefined): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}
