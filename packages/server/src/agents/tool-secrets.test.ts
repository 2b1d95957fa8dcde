import { describe, expect, it } from 'vitest';
import { SecretBox } from '../llm/index.ts';
import { AgentTool } from './definition.ts';
import { isMasked, keepStoredSecrets, maskToolHeaders, ToolSecrets } from './tool-secrets.ts';

const tool = (headers: Record<string, string>, name = 'orders') => AgentTool.parse({ name, url: 'https://shop.example.com/tool', headers });

describe('tool header secrets', () => {
  const secrets = new ToolSecrets(new SecretBox('test-master-key-0123456789', { purpose: 'agent-tool-headers' }));

  it('seals every value to its app, agent, tool and header, and opens it again', () => {
    const [sealed] = secrets.seal('app_1', 'bot', [tool({ authorization: 'Bearer sk-live-abcd1234' })]);
    expect(sealed!.headers.authorization).toMatch(/^wsb1\./);
    expect(sealed!.headers.authorization).not.toContain('sk-live');
    expect(secrets.open('app_1', 'bot', [sealed!])).toEqual({ tools: [tool({ authorization: 'Bearer sk-live-abcd1234' })], legacy: false });
    // Copied onto another agent, it does not open (and the tool fails visibly rather than leaking).
    expect(secrets.open('app_1', 'other', [sealed!]).tools[0]!.headers.authorization).toBe('');
  });

  it('reads values stored before sealing as they are, and says so', () => {
    expect(secrets.open('app_1', 'bot', [tool({ 'x-api-key': 'plain-old-key' })])).toEqual({ tools: [tool({ 'x-api-key': 'plain-old-key' })], legacy: true });
  });

  it('masks values for clients, and keeps the stored secret when a masked value comes back', () => {
    const stored = [tool({ Authorization: 'Bearer sk-live-abcd1234' })];
    const shown = maskToolHeaders(stored);
    expect(shown[0]!.headers.Authorization).toBe('••••1234');
    expect(isMasked('••••1234')).toBe(true);
    expect(keepStoredSecrets([tool({ authorization: '••••1234', 'x-new': 'fresh' })], stored)[0]!.headers).toEqual({ authorization: 'Bearer sk-live-abcd1234', 'x-new': 'fresh' });
    expect(() => keepStoredSecrets([tool({ authorization: '••••9999' })], stored)).toThrow(/is how Warbler shows a stored secret/);
    expect(() => keepStoredSecrets([tool({ authorization: '••••1234' }, 'renamed')], stored)).toThrow(/tool "renamed" has none/);
  });
});
