import type { FastifyInstance, FastifySchema } from 'fastify';
import { safeEncode, $ZodType, type $ZodError } from 'zod/v4/core';

/**
 * Every REST route declares its response in zod (packages/protocol/src/rest):
 * the same schema documents it in /openapi.json, types the web app and the
 * SDK, and shapes what leaves the server. Decision 0032.
 *
 * Strict (tests, or WARBLER_STRICT_RESPONSES=1): a body that does not match,
 * or carries a field the schema does not name, fails the request with the
 * reason — so the whole test suite is the contract test. In production a
 * mismatch is logged and the body still goes out as it was: a user is never
 * refused an answer because a schema lagged behind the code. Fields the
 * schema does not name are dropped in both modes, so nothing the server holds
 * internally leaks by accident.
 */
export function strictResponses(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.WARBLER_STRICT_RESPONSES === '1' || (env.VITEST !== undefined && env.WARBLER_STRICT_RESPONSES !== '0');
}

/** Raised (strict mode only) when a route's body breaks its declared schema. */
export class ResponseContractError extends Error {
  readonly statusCode = 500;
  constructor(method: string, url: string, reason: string) {
    super(`Response contract broken by ${method} ${url}: ${reason}`);
    this.name = 'ResponseContractError';
  }
}

/**
 * Routes whose success body is not JSON (a file, a stream, text) say so in
 * their config: `config: { responseContract: 'raw' }`. Everything else under
 * the REST prefixes must declare `schema.response`.
 */
export type ResponseContract = 'raw';

declare module 'fastify' {
  interface FastifyContextConfig {
    responseContract?: ResponseContract;
  }
}

/** Paths that are Warbler's own REST API. /v1 speaks OpenAI's shapes, documented by OpenAI. */
export const REST_PREFIXES = ['/api/', '/admin/', '/widget/'] as const;

export interface RouteContract {
  method: string;
  url: string;
  declared: string[];
  raw: boolean;
}

function resolve(schema: unknown): $ZodType | undefined {
  if (schema instanceof $ZodType) return schema;
  if (schema && typeof schema === 'object' && 'properties' in schema && schema.properties instanceof $ZodType) return schema.properties;
  return undefined;
}

function describe(error: $ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

/** Fields present (and defined) in what the handler sent but absent from what the schema let through. */
export function droppedFields(sent: unknown, kept: unknown, at = ''): string[] {
  if (Array.isArray(sent) && Array.isArray(kept)) {
    return sent.flatMap((item, i) => droppedFields(item, kept[i], `${at}[${i}]`));
  }
  if (sent && kept && typeof sent === 'object' && typeof kept === 'object' && !Array.isArray(sent)) {
    const out: string[] = [];
    for (const [key, value] of Object.entries(sent)) {
      if (value === undefined || typeof value === 'function') continue;
      const path = at ? `${at}.${key}` : key;
      if (!(key in kept)) out.push(path);
      else out.push(...droppedFields(value, (kept as Record<string, unknown>)[key], path));
    }
    return out;
  }
  return [];
}

/** Fastify serializer compiler for zod response schemas, strict or lenient (see above). */
export function responseSerializer(strict: boolean) {
  return ({ schema, method, url }: { schema: unknown; method: string; url: string }) => {
    const zod = resolve(schema);
    return (data: unknown): string => {
      if (!zod) return JSON.stringify(data);
      // A JSON round trip first: what a client would have parsed (dates become strings, toJSON applies).
      const plain: unknown = data === undefined ? undefined : JSON.parse(JSON.stringify(data));
      const result = safeEncode(zod, plain);
      if (!result.success) {
        if (strict) throw new ResponseContractError(method, url, describe(result.error));
        contractLog?.(method, url, describe(result.error));
        return JSON.stringify(plain);
      }
      if (strict) {
        const dropped = droppedFields(plain, result.data);
        if (dropped.length > 0) throw new ResponseContractError(method, url, `fields not in the schema: ${dropped.slice(0, 8).join(', ')}`);
      }
      return JSON.stringify(result.data);
    };
  };
}

const contracts = new WeakMap<FastifyInstance, RouteContract[]>();

/** Every route the app registered, with the statuses its response schema declares (for the contract test). */
export function routeContracts(app: FastifyInstance): RouteContract[] {
  return contracts.get(app) ?? [];
}

let contractLog: ((method: string, url: string, reason: string) => void) | undefined;

/**
 * Installs the serializer, records every route's declared responses for the
 * contract test, and (strict) refuses a success status the route never declared.
 */
export function registerResponseContract(app: FastifyInstance, strict = strictResponses()): RouteContract[] {
  const routes: RouteContract[] = [];
  contracts.set(app, routes);
  contractLog = (method, url, reason) => app.log.error({ method, url, reason }, 'response does not match its declared schema; sent unchanged');
  app.setSerializerCompiler(responseSerializer(strict));
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const response = (route.schema as FastifySchema | undefined)?.response as Record<string, unknown> | undefined;
    const declared = response ? Object.keys(response) : [];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, declared, raw: route.config?.responseContract === 'raw' });
    }
  });
  if (strict) {
    app.addHook('onSend', async (request, reply, payload) => {
      const status = reply.statusCode;
      if (status < 200 || status >= 300 || status === 204) return payload;
      const url = request.routeOptions.url;
      if (!url || !REST_PREFIXES.some((p) => url.startsWith(p)) || request.routeOptions.config.responseContract === 'raw') return payload;
      const response = request.routeOptions.schema?.response as Record<string, unknown> | undefined;
      if (response && !(String(status) in response) && !('2xx' in response)) {
        throw new ResponseContractError(request.method, url, `status ${status} is not declared (declared: ${Object.keys(response).join(', ')})`);
      }
      return payload;
    });
  }
  return routes;
}
