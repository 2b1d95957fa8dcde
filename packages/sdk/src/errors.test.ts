import { describe, expect, it } from 'vitest';
import { isTransient, WarblerError } from './errors.ts';

describe('WarblerError', () => {
  it('carries a code, a message and the status', () => {
    const e = new WarblerError('not_member', 'Ask a member to add you.', 403);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'WarblerError', code: 'not_member', status: 403, message: 'Ask a member to add you.' });
  });

  it('treats only rate limits, unavailability and drops as worth retrying', () => {
    expect(isTransient(new WarblerError('rate_limited', ''))).toBe(true);
    expect(isTransient(new WarblerError('unavailable', ''))).toBe(true);
    expect(isTransient(new WarblerError('disconnected', ''))).toBe(true);
    expect(isTransient(new WarblerError('bad_request', ''))).toBe(false);
    expect(isTransient(new WarblerError('not_member', ''))).toBe(false);
    expect(isTransient(new Error('x'))).toBe(false);
  });
});
