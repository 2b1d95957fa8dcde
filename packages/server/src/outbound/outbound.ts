// HTTP requests to URLs an app gave Warbler (agent tools), under the
// operator's OutboundPolicy. The address check happens where the connection
// is made: undici resolves the name through `vettedLookup`, which refuses
// the connection if any address is not public, and the socket connects to
// exactly the addresses that were checked, so a DNS answer that changes
// between a check and the connect (rebinding) cannot slip through.
// Redirects are followed here, one hop at a time, each hop judged afresh.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, request, type Dispatcher } from 'undici';
import { explainRefusal, type OutboundPolicy } from './policy.ts';

/** Resolves a name to all its addresses (node's dns.lookup with all: true, by default). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** The request went somewhere the policy does not allow; `reason` says where and why. */
export class OutboundRefused extends Error {
  override name = 'OutboundRefused';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(explainRefusal(reason));
  }
}

export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Bytes of the answer read at most; the rest is dropped. */
  maxBytes: number;
}

export interface OutboundAnswer {
  status: number;
  text: string;
  /** Where the answer came from, after redirects. */
  url: string;
  /** The answer's validators and type (etag, last-modified, content-type), for callers that fetch again conditionally. */
  headers: Record<string, string>;
}

/** Response headers a caller may use: cache validators and the body's type, nothing that carries a secret. */
const ANSWER_HEADERS = ['etag', 'last-modified', 'content-type'] as const;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that describe the body rather than carry the caller's secrets; the only ones kept across origins. */
const PLAIN_HEADERS = new Set(['content-type', 'accept', 'user-agent']);

export interface OutboundOptions {
  resolve?: Resolve;
  /** Redirects followed at most; one more is an error. */
  maxRedirects?: number;
}

export class Outbound {
  private readonly vetted: Agent;
  private readonly direct: Agent;
  private readonly maxRedirects: number;

  constructor(
    readonly policy: OutboundPolicy,
    options: OutboundOptions = {},
  ) {
    const resolve = options.resolve ?? systemResolve;
    this.vetted = new Agent({ connect: { lookup: vettedLookup(policy, resolve) } });
    // Hosts the operator allowed by name may resolve anywhere; they still get the resolver's answer.
    this.direct = new Agent({ connect: { lookup: (hostname, opts, cb) => resolve(hostname).then((a) => deliver(a, opts, cb), (err: Error) => cb(err, '', 0)) } });
    this.maxRedirects = options.maxRedirects ?? 3;
  }

  /** Sends the request, following redirects hop by hop; throws OutboundRefused when a hop is not allowed. */
  async send(url: string, init: OutboundRequest): Promise<OutboundAnswer> {
    let target = new URL(url);
    let { method, body, headers } = init;
    for (let hop = 0; ; hop++) {
      const reason = this.policy.refusal(target);
      if (reason) throw new OutboundRefused(target.href, reason);
      const dispatcher: Dispatcher = this.policy.allowsHost(target) ? this.direct : this.vetted;
      const res = await request(target, { method, headers, body, signal: init.signal, dispatcher });
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') {
        const kept: Record<string, string> = {};
        for (const h of ANSWER_HEADERS) if (typeof res.headers[h] === 'string') kept[h] = res.headers[h];
        return { status: res.statusCode, text: await readCapped(res.body, init.maxBytes), url: target.href, headers: kept };
      }
      await res.body.dump();
      if (hop >= this.maxRedirects) throw new Error(`it redirected more than ${this.maxRedirects} times`);
      const next = new URL(location, target);
      // As browsers do: 303, and 301/302 after a POST, become a GET without the body.
      if (res.statusCode === 303 || (method === 'POST' && res.statusCode !== 307 && res.statusCode !== 308)) {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([h]) => h.toLowerCase() !== 'content-type'));
      }
      // The caller's secrets were meant for the first origin, not for wherever it points.
      if (next.origin !== target.origin) headers = Object.fromEntries(Object.entries(headers).filter(([h]) => PLAIN_HEADERS.has(h.toLowerCase())));
      target = next;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.vetted.close(), this.direct.close()]);
  }
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that fails the connection unless every address of the name is allowed. */
function vettedLookup(policy: OutboundPolicy, resolve: Resolve) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolve(hostname).then(
      (addresses) => {
        for (const a of addresses) {
          const reason = policy.addressRefusal(a.address);
          if (reason) return callback(new OutboundRefused(hostname, `${hostname} resolves to ${a.address}, and ${reason}`), '', 0);
        }
        if (addresses.length === 0) return callback(new Error(`${hostname} has no address`), '', 0);
        deliver(addresses, options, callback);
      },
      (err: Error) => callback(err, '', 0),
    );
  };
}

function deliver(addresses: LookupAddress[], options: { all?: boolean }, callback: LookupCallback): void {
  if (options.all) return callback(null, addresses);
  const first = addresses[0];
  if (!first) return callback(new Error('no address'), '', 0);
  callback(null, first.address, first.family);
}

async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf.subarray(0, Math.max(0, maxBytes - size)));
    size += buf.length;
    if (size >= maxBytes) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
