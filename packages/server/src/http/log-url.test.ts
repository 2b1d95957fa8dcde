import { describe, expect, it } from 'vitest';
import { redactUrl } from './log-url.ts';

describe('logged URLs', () => {
  it('replaces every credential value and keeps the rest', () => {
    expect(redactUrl('/api/files/fil_1?app=default&exp=1700000000&sig=abc-_DEF')).toBe('/api/files/fil_1?app=default&exp=1700000000&sig=[redacted]');
    expect(redactUrl('/ws?token=eyJhbGciOi.x.y&v=1')).toBe('/ws?token=[redacted]&v=1');
    expect(redactUrl('/x?KEY=1&Secret=2&api_key=3&access_token=4&%74oken=5&limit=10')).toBe('/x?KEY=[redacted]&Secret=[redacted]&api_key=[redacted]&access_token=[redacted]&%74oken=[redacted]&limit=10');
  });

  it('leaves URLs without credentials alone, malformed ones included', () => {
    expect(redactUrl('/api/conversations')).toBe('/api/conversations');
    expect(redactUrl('/api/users?limit=2&after=u_1')).toBe('/api/users?limit=2&after=u_1');
    expect(redactUrl('/x?%E0%A4%A=1&token=t')).toBe('/x?%E0%A4%A=1&token=[redacted]');
  });
});
