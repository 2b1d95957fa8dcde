/** A failed call, with the server's error code and message (they say what to do). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A response schema from @warbler/protocol (zod): the type comes from it, and development builds check the body against it. */
export interface Shape<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

/** Development builds only (Vite sets DEV): a production user never pays for the check. */
const checkShapes = (import.meta as { env?: { DEV?: boolean } }).env?.DEV === true;

/** Reports a body that disagrees with its protocol schema: the server or the schema drifted (decision 0032). */
export function checkShape<T>(shape: Shape<T> | undefined, path: string, body: unknown): void {
  if (!shape || !checkShapes) return;
  const result = shape.safeParse(body);
  if (!result.success) console.error(`Response of ${path} does not match its protocol schema:`, result.error.message);
}

/** JSON over fetch with a bearer credential; errors become ApiErrors with the server's words. */
export async function api<T>(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string>; shape?: Shape<T> } = {}): Promise<T> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, ...(body !== undefined && { body }) });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check the connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `The server answered ${response.status}.`);
  }
  checkShape(options.shape, path, parsed);
  return parsed as T;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
