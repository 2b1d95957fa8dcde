// The operator's rules for calls Warbler makes to URLs an app gave it: https
// to public addresses only, unless warbler.yaml allows a host (outbound:
// allow_hosts, allow_http_hosts). A host entry is a name ("tools.internal",
// "*.corp.example"), an IP address, either with an optional ":port", or a
// CIDR range ("10.20.0.0/16", any port).
import ipaddr from 'ipaddr.js';
import { refusedAddress } from './address.ts';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

type HostPattern =
  | { kind: 'name'; name: string; subdomains: boolean; port?: number }
  | { kind: 'address'; address: Address; port?: number }
  | { kind: 'range'; range: [Address, number] };

export interface OutboundRules {
  /** Hosts Warbler may call even though they are (or resolve to) private, loopback or link-local addresses. */
  allowHosts?: readonly string[];
  /** Hosts Warbler may call over plain http; every other URL must be https. */
  allowHttpHosts?: readonly string[];
}

/** Names that are never a public host (RFC 6761 localhost; the cloud metadata services). */
const NEVER_PUBLIC = /(^|\.)localhost$|^metadata\.google\.internal$|^metadata\.goog$/;

const NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** Parses one allow-list entry; throws an Error saying what to write instead. */
export function parseHostPattern(entry: string): HostPattern {
  const text = entry.trim().toLowerCase().replace(/\.$/, '');
  const fail = () => new Error(`"${entry}" is not a host: write a name (tools.internal, *.corp.example), an IP address, either with :port, or a CIDR range (10.20.0.0/16)`);
  if (text.includes('/')) {
    if (!ipaddr.isValidCIDR(text)) throw fail();
    return { kind: 'range', range: ipaddr.parseCIDR(text) };
  }
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) {
    if (!ipaddr.IPv6.isValid(bracketed[1]!)) throw fail();
    return withPort({ kind: 'address', address: ipaddr.parse(bracketed[1]!) }, bracketed[2]);
  }
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) return { kind: 'address', address: ipaddr.parse(text) };
  const m = /^(.+?)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw fail();
  const host = m[1]!;
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return withPort({ kind: 'address', address: ipaddr.parse(host) }, m[2]);
  if (!NAME.test(host)) throw fail();
  const subdomains = host.startsWith('*.');
  return withPort({ kind: 'name', name: subdomains ? host.slice(2) : host, subdomains }, m[2]);
}

function withPort(pattern: HostPattern & { kind: 'name' | 'address' }, port: string | undefined): HostPattern {
  if (port === undefined) return pattern;
  const n = Number(port);
  if (n < 1 || n > 65_535) throw new Error(`port ${port} is out of range (1-65535)`);
  return { ...pattern, port: n };
}

/** The URL's host without IPv6 brackets or a trailing dot, and its port (the scheme's default when unset). */
export function hostAndPort(url: URL): { host: string; port: number } {
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host, port };
}

const sameAddress = (a: Address, b: Address) => a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
const inRange = (a: Address, [base, bits]: [Address, number]) => a.kind() === base.kind() && a.match(base, bits);

function matches(pattern: HostPattern, host: string, port: number): boolean {
  const address = ipaddr.isValid(host) && (host.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(host)) ? ipaddr.parse(host) : undefined;
  if (pattern.kind === 'range') return address !== undefined && inRange(address, pattern.range);
  if (pattern.port !== undefined && pattern.port !== port) return false;
  if (pattern.kind === 'address') return address !== undefined && sameAddress(address, pattern.address);
  return address === undefined && (host === pattern.name || (pattern.subdomains && host.endsWith(`.${pattern.name}`)));
}

export class OutboundPolicy {
  private readonly allowHosts: HostPattern[];
  private readonly allowHttpHosts: HostPattern[];

  constructor(rules: OutboundRules = {}) {
    this.allowHosts = (rules.allowHosts ?? []).map(parseHostPattern);
    this.allowHttpHosts = (rules.allowHttpHosts ?? []).map(parseHostPattern);
  }

  /** Whether the operator allowed this URL's host to be private: its addresses are then not checked. */
  allowsHost(url: URL): boolean {
    const { host, port } = hostAndPort(url);
    return this.allowHosts.some((p) => matches(p, host, port));
  }

  /**
   * Why this URL must not be called, judged from the URL alone (scheme, and
   * the address when the host is one); the addresses a name resolves to are
   * judged when connecting (see Outbound). Undefined: go ahead.
   */
  refusal(url: URL): string | undefined {
    const { host, port } = hostAndPort(url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol} URLs cannot be called; use https`;
    if (url.username || url.password) return 'credentials in the URL are not allowed; send them as a header';
    const literal = ipaddr.isValid(host) && (host.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(host));
    const addressReason = literal && !this.allowsHost(url) ? this.addressRefusal(host) : undefined;
    if (addressReason) return addressReason;
    if (url.protocol === 'http:' && !this.allowHttpHosts.some((p) => matches(p, host, port))) return `plain http to ${host} is not allowed; use https`;
    return undefined;
  }

  /** As refusal(), plus names that can never be public (localhost, metadata.google.internal): for checking a URL when it is saved. */
  refusalBeforeSaving(url: URL): string | undefined {
    const early = this.refusal(url);
    if (early || this.allowsHost(url)) return early;
    const { host } = hostAndPort(url);
    return NEVER_PUBLIC.test(host) ? `${host} is never a public host` : undefined;
  }

  /** Why Warbler must not connect to this resolved address; allow_hosts CIDR ranges and addresses let it through. */
  addressRefusal(address: string): string | undefined {
    const reason = refusedAddress(address);
    if (!reason) return undefined;
    const ip = ipaddr.process(address.replace(/%.*$/, ''));
    const allowed = this.allowHosts.some((p) => (p.kind === 'range' ? inRange(ip, p.range) : p.kind === 'address' && p.port === undefined && sameAddress(ip, p.address)));
    return allowed ? undefined : reason;
  }
}

/** What a refusal tells the app and the model: the reason, and how an operator can allow the host. */
export function explainRefusal(reason: string): string {
  return `${reason}. Warbler calls public https addresses only; an operator can allow a host in warbler.yaml under outbound.allow_hosts (private addresses) and outbound.allow_http_hosts (plain http)`;
}
