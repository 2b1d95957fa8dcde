import { describe, expect, it } from 'vitest';
import { maskForAudit } from './mask.ts';

describe('maskForAudit', () => {
  it('keeps the last four characters of secrets and every header value, and leaves the rest readable', () => {
    const masked = maskForAudit({
      name: 'Helper', secret: 'wk-abcdefghijklmnop', api_key: 'sk-1234567890abcd', max_tokens: 300,
      key: { id: 'key_1', name: 'ci' }, tools: [{ headers: { Authorization: 'Bearer s3cr3t-token-9876', 'X-Team': 'ops-team-long' } }],
    });
    expect(masked).toEqual({
      name: 'Helper', secret: '••••mnop', api_key: '••••abcd', max_tokens: 300,
      key: { id: 'key_1', name: 'ci' }, tools: [{ headers: { Authorization: '••••9876', 'X-Team': '••••long' } }],
    });
    expect(maskForAudit({ password: 'short' })).toEqual({ password: '••••' });
  });

  it('cuts long strings and deep nesting so one entry stays small', () => {
    const deep = JSON.parse('['.repeat(50) + ']'.repeat(50));
    expect(JSON.stringify(maskForAudit(deep)).length).toBeLessThan(40);
    expect((maskForAudit('x'.repeat(10_000)) as string).length).toBeLessThan(600);
  });

  it('keeps only the size and a digest of bodies (document text, message content), not a copy outside encryption at rest', () => {
    const doc = `# Handbook\n\n${'The secret recipe is in the blue folder. '.repeat(10)}`;
    const masked = maskForAudit({ title: 'Handbook', text: doc, content: { text: 'short' } }) as Record<string, unknown>;
    expect(masked.title).toBe('Handbook');
    expect(masked.text).toMatch(/^\(\d+ characters, sha256:[0-9a-f]{16}\)$/);
    expect(JSON.stringify(masked)).not.toContain('recipe');
    expect(masked.content).toEqual({ text: 'short' });
  });
});
