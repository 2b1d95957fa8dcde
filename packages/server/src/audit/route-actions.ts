// Which HTTP writes the audit log records, decided in one place. The rule is
// "every successful write is administrative unless listed here as ordinary
// use", so a route someone adds later is recorded without anyone remembering
// to (decision 0020). Ordinary use is what end users do all day: chat, read
// receipts, uploads, ratings, /v1 traffic (which the ledger records).

const ORDINARY: ReadonlyArray<string> = [
  'POST /api/conversations',
  'PATCH /api/conversations/:conversationId',
  'POST /api/conversations/:conversationId/messages',
  'POST /api/conversations/:conversationId/read',
  'POST /api/conversations/:conversationId/files',
  'PATCH /api/messages/:messageId',
  'POST /api/messages/:messageId/recall',
  'POST /api/messages/:messageId/feedback',
  // A support user's internal note is their everyday work, like a message; recorded as an audit entry its text
  // would reach every webhook endpoint (audit.recorded), and notes are never to leave the support room.
  'POST /api/support/conversations/:conversationId/notes',
  'POST /api/knowledge-bases/:kbId/search',
  'POST /api/models/check',
  'POST /api/dev/sign-in',
  // Checking the chain against an exported head reads; recording it would move the head being checked.
  'POST /api/audit/verify',
  // Minting a user token is every sign-in of every user; revoking them is audited.
  'POST /api/users/:userId/tokens',
];
const ORDINARY_PREFIXES = ['/v1/', '/ws'];
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Path segments named in the product's words; anything else is its own name, singular. */
const RESOURCES: Record<string, string> = {
  apps: 'app', secret: 'app_secret', agents: 'agent', 'knowledge-bases': 'knowledge_base', documents: 'knowledge_document',
  keys: 'gateway_key', users: 'user', members: 'member', providers: 'provider', tokens: 'user_token', retention: 'retention_policy', settings: 'settings',
};
const TRAILING_VERBS = new Set(['revoke', 'cancel', 'rotate', 'test', 'export', 'erase', 'enforce', 'verify', 'preview']);
const VERBS_BY_METHOD: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };

export interface RouteAction {
  resource: string;
  action: string;
  /** The route parameter naming the thing changed, if any. */
  idParam?: string;
}

/** What a write to this route (as registered, e.g. /api/agents/:agentId) is, or undefined when it is ordinary use. */
export function routeAction(method: string, route: string): RouteAction | undefined {
  if (!WRITES.has(method)) return undefined;
  if (ORDINARY.includes(`${method} ${route}`) || ORDINARY_PREFIXES.some((p) => route.startsWith(p))) return undefined;
  const segments = route.split('/').filter((s) => s && s !== 'api' && s !== 'admin' && s !== 'gateway');
  const statics = segments.filter((s) => !s.startsWith(':'));
  const params = segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1));
  const lastSegment = segments[segments.length - 1] ?? '';
  // POST /x/:id/revoke: the trailing word is the verb, the word before it the resource.
  const trailingVerb = method === 'POST' && statics.length > 1 && (TRAILING_VERBS.has(lastSegment) || segments[segments.length - 2]?.startsWith(':'));
  if (trailingVerb && !RESOURCES[lastSegment]) {
    const resource = name(statics[statics.length - 2]!);
    return { resource, action: `${resource}.${lastSegment.replaceAll('-', '_')}`, idParam: params[params.length - 1] };
  }
  const resource = name(statics[statics.length - 1] ?? 'settings');
  const verb = lastSegment === 'secret' ? 'rotate' : VERBS_BY_METHOD[method]!;
  // A write to /parent/:id/child names the parent when the child has no id of its own.
  return { resource, action: `${resource}.${verb}`, idParam: params[params.length - 1] };
}

function name(segment: string): string {
  return RESOURCES[segment] ?? segment.replace(/s$/, '').replaceAll('-', '_');
}
