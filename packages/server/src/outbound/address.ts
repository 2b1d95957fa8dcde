// Which IP addresses Warbler may call on behalf of an app (agent tools, later
// knowledge-base web imports). Only public unicast addresses: anything else
// reaches this machine, the operator's network or the cloud's metadata
// service, which an app secret must never be able to do (SSRF).
// Ranges come from ipaddr.js (IANA special-purpose registries); this file
// only decides which of its range names are public and says why, in words.
import ipaddr from 'ipaddr.js';

/** Cloud metadata services: named in refusals, since they are the usual target. */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '169.254.170.2']);

const V4_WORDS: Record<string, string> = {
  unspecified: 'an unspecified address (0.0.0.0/8)',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address (169.254.0.0/16)',
  loopback: 'a loopback address (this machine)',
  carrierGradeNat: 'a shared carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private network address (RFC 1918)',
  reserved: 'a reserved or documentation address',
  as112: 'a reserved (AS112) address',
  amt: 'a reserved (AMT) address',
};

const V6_WORDS: Record<string, string> = {
  unspecified: 'the unspecified address (::)',
  linkLocal: 'a link-local address (fe80::/10)',
  multicast: 'a multicast address',
  loopback: 'a loopback address (this machine)',
  uniqueLocal: 'a private network address (fc00::/7)',
  deprecatedSiteLocal: 'a site-local address (fec0::/10)',
  teredo: 'a Teredo tunnel address',
  rfc6052: 'a local-use NAT64 address (64:ff9b:1::/48)',
};

/**
 * Why Warbler must not connect to `address`, or undefined when it is a public
 * unicast address. IPv6 forms that carry an IPv4 address (mapped, translated,
 * NAT64, 6to4) are judged by the IPv4 address inside.
 */
export function refusedAddress(address: string): string | undefined {
  const text = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(text)) return `${address} is not an IP address`;
  const ip = ipaddr.parse(text);
  if (METADATA.has(ip.toNormalizedString()) || METADATA.has(ip.toString())) return `${text} is a cloud metadata address`;
  if (ip.kind() === 'ipv4') return v4Refusal(ip as ipaddr.IPv4, text);
  return v6Refusal(ip as ipaddr.IPv6, text);
}

function v4Refusal(ip: ipaddr.IPv4, text: string): string | undefined {
  const range = ip.range();
  if (range === 'unicast') return undefined;
  return `${text} is ${V4_WORDS[range] ?? `a special-purpose address (${range})`}`;
}

function v6Refusal(ip: ipaddr.IPv6, text: string): string | undefined {
  const embedded = embeddedV4(ip);
  if (embedded) {
    const inner = refusedAddress(embedded.toString());
    return inner ? `${text} carries ${embedded.toString()}, and ${inner}` : undefined;
  }
  const range = ip.range();
  if (range === 'unicast') {
    // Only 2000::/3 is allocated as global unicast; the rest (IPv4-compatible ::a.b.c.d among it) is not reachable publicly.
    return ip.match(ipaddr.IPv6.parse('2000::'), 3) ? undefined : `${text} is not a global unicast address`;
  }
  return `${text} is ${V6_WORDS[range] ?? `a special-purpose address (${range})`}`;
}

/** The IPv4 address inside an IPv4-mapped, -translated, NAT64 (64:ff9b::/96) or 6to4 IPv6 address. */
function embeddedV4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  const fromWords = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  if (ip.isIPv4MappedAddress()) return ip.toIPv4Address();
  if (ip.match(ipaddr.IPv6.parse('::ffff:0:0:0'), 96)) return fromWords(p[6]!, p[7]!); // RFC 6145 translated
  if (ip.match(ipaddr.IPv6.parse('64:ff9b::'), 96)) return fromWords(p[6]!, p[7]!); // RFC 6052 well-known NAT64 prefix
  if (ip.match(ipaddr.IPv6.parse('2002::'), 16)) return fromWords(p[1]!, p[2]!); // RFC 3056 6to4
  return undefined;
}
