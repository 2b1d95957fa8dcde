import { describe, expect, it } from 'vitest';
import { multipartProblem } from './multipart-errors.ts';

const rules = { field: 'file', maxBytes: 20 * 1024 * 1024, fields: 'the field "purpose"' };
const coded = (code: string) => Object.assign(new Error('x'), { code });

describe('multipart problems', () => {
  it('names what is wrong with the body', () => {
    expect(multipartProblem(new Error('Multipart: Boundary not found'), rules)).toEqual({ status: 400, message: expect.stringMatching(/no boundary/) });
    expect(multipartProblem(new Error('Unexpected end of multipart data'), rules)).toEqual({ status: 400, message: expect.stringMatching(/ended early/) });
    expect(multipartProblem(new Error('Part terminated early due to unexpected end of multipart data'), rules)?.status).toBe(400);
    expect(multipartProblem(coded('FST_MP_PREMATURE_CLOSE'), rules)?.status).toBe(400);
    expect(multipartProblem(coded('FST_FIELDS_LIMIT'), rules)).toEqual({ status: 400, message: 'Too many parts: send one file in a field named "file" and at most the field "purpose".' });
    expect(multipartProblem(coded('FST_PROTO_VIOLATION'), rules)?.message).toMatch(/__proto__/);
  });

  it('says how big a file may be', () => {
    expect(multipartProblem(coded('FST_REQ_FILE_TOO_LARGE'), rules)).toEqual({ status: 413, message: 'The file is larger than 20 MiB.' });
    expect(multipartProblem(coded('FST_REQ_FILE_TOO_LARGE'), { ...rules, maxBytes: 64 * 1024 })?.message).toBe('The file is larger than 64 KiB.');
  });

  it('leaves other errors to the caller', () => {
    expect(multipartProblem(new Error('ECONNRESET'), rules)).toBeUndefined();
    expect(multipartProblem('nope', rules)).toBeUndefined();
  });
});
