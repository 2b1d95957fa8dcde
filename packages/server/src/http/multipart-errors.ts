/**
 * What went wrong with a multipart upload, in words a client can act on.
 * The parser (busboy under @fastify/multipart) reports a malformed body as a
 * plain Error, which would otherwise reach the client as a 500.
 */
export interface MultipartProblem {
  status: 400 | 413;
  message: string;
}

export interface MultipartRules {
  /** The field the file goes in. */
  field: string;
  /** Largest file, bytes, for the 413 message. */
  maxBytes: number;
  /** What else may be sent beside the file, for the "too many parts" message. */
  fields: string;
}

export function multipartProblem(err: unknown, rules: MultipartRules): MultipartProblem | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : '';
  if (code === 'FST_REQ_FILE_TOO_LARGE') return { status: 413, message: `The file is larger than ${size(rules.maxBytes)}.` };
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') {
    return bad(`Too many parts: send one file in a field named "${rules.field}"${rules.fields ? ` and at most ${rules.fields}` : ''}.`);
  }
  if (code === 'FST_PROTO_VIOLATION') return bad('A field is named __proto__ or constructor; rename it.');
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return bad(`Send multipart/form-data with the file in a field named "${rules.field}".`);
  if (code === 'FST_MP_PREMATURE_CLOSE' || /unexpected end of multipart data|terminated early/i.test(message)) {
    return bad('The multipart body ended early (cut off, or not multipart at all): send the whole body, up to its closing boundary.');
  }
  if (/boundary (not found|required)/i.test(message)) {
    return bad('The Content-Type has no boundary: send "multipart/form-data; boundary=…" (HTTP clients add it when given a form).');
  }
  if (/malformed|part header/i.test(message)) return bad('The multipart body is malformed: each part needs a Content-Disposition header with a name.');
  return undefined;
}

function bad(message: string): MultipartProblem {
  return { status: 400, message };
}

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.floor(bytes / 1024 / 1024)} MiB` : `${Math.floor(bytes / 1024)} KiB`;
}
