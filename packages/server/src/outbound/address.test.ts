import { describe, expect, it } from 'vitest';
import { refusedAddress } from './address.ts';

describe('refusedAddress', () => {
  it('lets public unicast addresses through', () => {
    for (const ip of ['93.184.216.34', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '[2a00:1450:4001:82b::200e]']) {
      expect(refusedAddress(ip), ip).toBeUndefined();
    }
  });

  it.each([
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['10.1.2.3', /private network/],
    ['172.16.0.1', /private network/],
    ['172.31.255.255', /private network/],
    ['192.168.1.1', /private network/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['169.254.1.1', /link-local/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['224.0.0.1', /multicast/],
    ['240.0.0.1', /reserved/],
    ['192.0.2.10', /reserved/],
  ])('refuses IPv4 %s', (ip, why) => {
    expect(refusedAddress(ip)).toMatch(why);
  });

  it.each([
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fc00::1', /private network/],
    ['fd12:3456::1', /private network/],
    ['ff02::1', /multicast/],
    ['fec0::1', /site-local/],
    ['::7f00:1', /not a global unicast/], // IPv4-compatible ::127.0.0.1
    ['2001:db8::1', /reserved/],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
    ['64:ff9b:1::a00:1', /local-use NAT64/],
  ])('refuses IPv6 %s', (ip, why) => {
    expect(refusedAddress(ip)).toMatch(why);
  });

  it('judges IPv6 forms that carry an IPv4 address by that address', () => {
    expect(refusedAddress('::ffff:127.0.0.1')).toMatch(/carries 127\.0\.0\.1, and .*loopback/);
    expect(refusedAddress('::ffff:7f00:1')).toMatch(/loopback/);
    expect(refusedAddress('[::ffff:10.0.0.1]')).toMatch(/private/);
    expect(refusedAddress('::ffff:0:a9fe:a9fe')).toMatch(/metadata/); // RFC 6145 translated 169.254.169.254
    expect(refusedAddress('64:ff9b::7f00:1')).toMatch(/loopback/); // NAT64 of 127.0.0.1
    expect(refusedAddress('64:ff9b::c0a8:101')).toMatch(/private/); // NAT64 of 192.168.1.1
    expect(refusedAddress('2002:7f00:1::1')).toMatch(/loopback/); // 6to4 of 127.0.0.1
    expect(refusedAddress('::ffff:8.8.8.8')).toBeUndefined();
    expect(refusedAddress('64:ff9b::808:808')).toBeUndefined();
    expect(refusedAddress('2002:808:808::1')).toBeUndefined();
  });

  it('names the cloud metadata addresses', () => {
    expect(refusedAddress('169.254.169.254')).toBe('169.254.169.254 is a cloud metadata address');
    expect(refusedAddress('fd00:ec2::254')).toBe('fd00:ec2::254 is a cloud metadata address');
    expect(refusedAddress('100.100.100.200')).toMatch(/metadata/); // Alibaba Cloud
    expect(refusedAddress('::ffff:169.254.169.254')).toMatch(/metadata/);
  });

  it('refuses what is not an address', () => {
    expect(refusedAddress('example.com')).toMatch(/not an IP address/);
  });
});
