import { describe, expect, it } from 'vitest';
import { OutboundPolicy, parseHostPattern } from './policy.ts';

const url = (s: string) => new URL(s);

describe('OutboundPolicy', () => {
  const open = new OutboundPolicy();

  it('allows https to public hosts and addresses, and nothing else by default', () => {
    expect(open.refusal(url('https://tools.example.com/x'))).toBeUndefined();
    expect(open.refusal(url('https://93.184.216.34/x'))).toBeUndefined();
    expect(open.refusal(url('http://tools.example.com/x'))).toMatch(/plain http to tools\.example\.com is not allowed/);
    expect(open.refusal(url('ftp://tools.example.com/x'))).toMatch(/ftp: URLs cannot be called/);
    expect(open.refusal(url('https://127.0.0.1:9/x'))).toMatch(/loopback/);
    expect(open.refusal(url('https://[::1]/x'))).toMatch(/loopback/);
    expect(open.refusal(url('https://[::ffff:169.254.169.254]/x'))).toMatch(/metadata/);
    expect(open.refusal(url('https://2130706433/x'))).toMatch(/127\.0\.0\.1 is a loopback/); // the URL parser spells it out
    expect(open.refusal(url('https://user:pw@tools.example.com/'))).toMatch(/credentials in the URL/);
  });

  it('refuses names that are never public when a URL is saved', () => {
    expect(open.refusalBeforeSaving(url('https://localhost:8080/'))).toMatch(/localhost is never a public host/);
    expect(open.refusalBeforeSaving(url('https://api.localhost/'))).toMatch(/never a public host/);
    expect(open.refusalBeforeSaving(url('https://metadata.google.internal/computeMetadata/v1/'))).toMatch(/never a public host/);
    expect(open.refusalBeforeSaving(url('https://tools.example.com/'))).toBeUndefined();
  });

  it('lets the operator allow hosts, by name, address, port and range', () => {
    const policy = new OutboundPolicy({
      allowHosts: ['tools.internal:8443', '*.corp.example', '127.0.0.1:9000', '10.20.0.0/16', 'localhost'],
      allowHttpHosts: ['tools.internal', '127.0.0.1'],
    });
    expect(policy.allowsHost(url('https://tools.internal:8443/x'))).toBe(true);
    expect(policy.allowsHost(url('https://tools.internal/x'))).toBe(false); // another port
    expect(policy.allowsHost(url('https://a.b.corp.example/x'))).toBe(true);
    expect(policy.allowsHost(url('https://corp.example.evil.com/x'))).toBe(false);
    expect(policy.refusal(url('http://127.0.0.1:9000/x'))).toBeUndefined();
    expect(policy.refusal(url('http://127.0.0.1:6379/x'))).toMatch(/loopback/);
    expect(policy.refusal(url('http://tools.internal:8443/x'))).toBeUndefined();
    expect(policy.refusal(url('http://10.20.3.4/x'))).toMatch(/plain http/);
    expect(policy.refusal(url('https://10.20.3.4/x'))).toBeUndefined();
    expect(policy.refusalBeforeSaving(url('https://localhost/x'))).toBeUndefined();
    // Resolved addresses: ranges and port-less addresses let them through.
    expect(policy.addressRefusal('10.20.9.9')).toBeUndefined();
    expect(policy.addressRefusal('::ffff:10.20.9.9')).toBeUndefined();
    expect(policy.addressRefusal('10.21.0.1')).toMatch(/private/);
    expect(policy.addressRefusal('127.0.0.1')).toMatch(/loopback/); // allowed only with :9000, and only by address in the URL
  });

  it('says what to write for an entry that is not a host', () => {
    expect(() => parseHostPattern('http://tools.internal')).toThrow(/is not a host: write a name/);
    expect(() => parseHostPattern('10.0.0.0/33')).toThrow(/is not a host/);
    expect(() => parseHostPattern('tools.internal:70000')).toThrow(/out of range/);
    expect(parseHostPattern('[fd00::1]:8443')).toMatchObject({ kind: 'address', port: 8443 });
    expect(parseHostPattern('fd00::1')).toMatchObject({ kind: 'address' });
    expect(parseHostPattern('Tools.Internal.')).toMatchObject({ kind: 'name', name: 'tools.internal' });
  });
});
