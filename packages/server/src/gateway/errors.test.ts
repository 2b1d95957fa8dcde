import { describe, expect, it } from 'vitest';
import { internalError, LlmError } from '../llm/errors.ts';
import { toOpenAiError } from './errors.ts';

describe('toOpenAiError', () => {
  it('answers a fault of our own as a bare 500, without the engine\'s text', () => {
    let overflow: unknown;
    try {
      const f = (): number => f() + 1;
      f();
    } catch (e) {
      overflow = e;
    }
    for (const err of [internalError(overflow, 'preparing the request for the provider'), overflow, new TypeError("Cannot read properties of undefined (reading 'x')")]) {
      const e = toOpenAiError(err);
      expect(e.status).toBe(500);
      expect(e.toJSON().error).toMatchObject({ type: 'server_error', param: null });
      expect(e.message).not.toMatch(/call stack|properties of undefined|provider/i);
    }
  });

  it('keeps upstream failures as 5xx of their own kind, with the provider\'s words', () => {
    const e = toOpenAiError(new LlmError('server', 'The provider failed: overloaded', { status: 500 }));
    expect(e).toMatchObject({ status: 502, code: 'upstream_server', message: 'The provider failed: overloaded' });
  });
});
