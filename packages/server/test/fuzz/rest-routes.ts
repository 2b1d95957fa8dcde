// Every /api and /admin route of the server (as GET /openapi.json lists them),
// with a valid-ish body per route for the schema-aware generators to mutate.
import fc from 'fast-check';
import { hostileString, jsonBody, multipartJunk, mutated, rawBody, type WireBody } from './arbitraries.ts';
import { numberText, pathParam, queryOf, type Probe } from './probe.ts';
import type { World } from './world.ts';

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** With :name parameters, filled from `params`. */
  path: string;
  params?: Record<string, readonly string[]>;
  query?: Record<string, fc.Arbitrary<string>>;
  /** A body the route accepts (most of the time). */
  body?: fc.Arbitrary<unknown>;
  /** Takes multipart/form-data. */
  upload?: boolean;
}

const text = fc.string({ minLength: 1, maxLength: 30 });
const fresh = fc.stringMatching(/^[a-z0-9]{6,12}$/).map((s) => `fz-${s}`);

/** The routes, with ids from the world: this app's, the other tenant's, and ones that never existed. */
export function restRoutes(w: World): Route[] {
  const { a, b } = w;
  const conv = [...a.conversationIds, ...b.conversationIds, 'cnv_missing'];
  const users = [a.alice.id, a.bob.id, a.carol.id, b.users[0]!.id, b.victim.id, 'missing-user', w.disposable.userId];
  const memberIds = [a.bob.id, a.carol.id, b.users[0]!.id, 'missing-user', w.disposable.userId];
  const msgs = [...a.messageIds, a.agentReplyId, ...b.messageIds, 'msg_missing'];
  const kbs = [a.kbId, b.kbId, 'kb-missing'];
  const docs = [a.docId, b.docId, 'doc_missing'];
  const keys = [a.keyId, b.keyId, 'key_missing'];
  const files = [a.fileId, b.fileId, 'fil_missing'];
  const textContent = fc.record({ text, mentions: fc.constant([a.bob.id]), metadata: fc.constant({ order: 'A-1' }) }, { requiredKeys: ['text'] });
  const fileContent = fc.record({ file_id: fc.constantFrom(a.fileId, b.fileId), name: text, caption: text }, { requiredKeys: ['file_id'] });
  const message = fc.oneof(
    fc.record({ client_msg_id: fresh, type: fc.constant('text'), content: textContent }, { requiredKeys: ['content'] }),
    fc.record({ client_msg_id: fresh, type: fc.constantFrom('image', 'file'), content: fileContent }),
  );
  const keyFields = {
    allowed_models: fc.constantFrom(null, ['local/kb-answer'], ['gpt-4o-mini', 'x']),
    monthly_budget_usd: fc.constantFrom(null, 0, 5, 12.5),
    rpm: fc.constantFrom(null, 1, 60),
    tpm: fc.constantFrom(null, 1_000, 100_000),
    expires_at: fc.constantFrom(null, Date.now() + 86_400_000),
    metadata: fc.constant({ team: 'fuzz' }),
  };
  const agentBody = fc.record({
    id: fresh, name: text, model: fc.constantFrom('local/kb-answer', 'gpt-4o-mini'), system_prompt: text, temperature: fc.constantFrom(0, 0.7, 2),
    max_tokens: fc.constantFrom(1, 512, 32_000), knowledge_base_ids: fc.constantFrom([a.kbId], [], [b.kbId]), top_k: fc.constantFrom(1, 4, 20),
    tools: fc.constantFrom([], [{ name: 'lookup', url: 'https://example.com/tool', headers: { authorization: 'Bearer s' }, parameters: { type: 'object', properties: {} } }]),
    trigger: fc.constantFrom({ group: 'mention' }, { group: 'all' }), monthly_budget_usd: fc.constantFrom(null, 1),
  }, { requiredKeys: ['name'] });
  return [
    { method: 'GET', path: '/healthz' },
    { method: 'GET', path: '/admin/apps' },
    { method: 'POST', path: '/admin/apps', body: fc.record({ name: text }) },
    { method: 'POST', path: '/admin/apps/:appId/secret', params: { appId: [w.disposable.appId, 'app_missing'] } },
    { method: 'GET', path: '/admin/encryption' },
    { method: 'GET', path: '/admin/apps/:appId/encryption', params: { appId: [w.disposable.appId, 'app_missing'] } },
    { method: 'POST', path: '/admin/apps/:appId/encryption/rotate', params: { appId: [w.disposable.appId, 'app_missing'] } },
    { method: 'POST', path: '/api/users', body: fc.record({ id: fresh, name: text, kind: fc.constantFrom('human', 'agent'), avatar_url: fc.constantFrom(null, 'https://example.com/a.png'), metadata: fc.constant({ plan: 'pro' }) }, { requiredKeys: ['name'] }) },
    { method: 'GET', path: '/api/users', query: { limit: numberText, after: fc.constantFrom(...users), kind: fc.constantFrom('human', 'agent') } },
    { method: 'GET', path: '/api/users/:userId', params: { userId: users } },
    { method: 'PATCH', path: '/api/users/:userId', params: { userId: users }, body: fc.record({ name: text, avatar_url: fc.constantFrom(null, 'https://example.com/b.png'), metadata: fc.constant({ x: 1 }) }, { requiredKeys: [] }) },
    { method: 'POST', path: '/api/users/:userId/tokens', params: { userId: users }, body: fc.record({ ttl_seconds: fc.constantFrom(60, 3_600, 2_592_000) }, { requiredKeys: [] }) },
    { method: 'POST', path: '/api/users/:userId/tokens/revoke', params: { userId: [w.disposable.userId, b.victim.id, 'missing-user'] } },
    { method: 'POST', path: '/api/conversations', body: fc.record({ kind: fc.constantFrom('direct', 'group'), member_ids: fc.subarray([...memberIds]), title: fc.option(text, { nil: null }) }, { requiredKeys: ['kind'] }) },
    { method: 'GET', path: '/api/conversations', query: { user_id: fc.constantFrom(...users), limit: numberText, cursor: hostileString, before: numberText } },
    { method: 'GET', path: '/api/conversations/:conversationId', params: { conversationId: conv } },
    { method: 'PATCH', path: '/api/conversations/:conversationId', params: { conversationId: conv }, body: fc.record({ title: fc.option(text, { nil: null }) }) },
    { method: 'GET', path: '/api/conversations/:conversationId/members', params: { conversationId: conv } },
    { method: 'POST', path: '/api/conversations/:conversationId/members', params: { conversationId: conv }, body: fc.record({ user_ids: fc.subarray([...memberIds], { minLength: 1 }), role: fc.constantFrom('owner', 'admin', 'member') }, { requiredKeys: ['user_ids'] }) },
    { method: 'DELETE', path: '/api/conversations/:conversationId/members/:userId', params: { conversationId: conv, userId: memberIds } },
    { method: 'PATCH', path: '/api/conversations/:conversationId/members/:userId', params: { conversationId: conv, userId: users }, body: fc.record({ role: fc.constantFrom('owner', 'admin', 'member'), muted: fc.boolean() }, { requiredKeys: [] }) },
    { method: 'PATCH', path: '/api/conversations/:conversationId/prefs', params: { conversationId: conv }, body: fc.record({ pinned: fc.boolean(), muted: fc.boolean(), user_id: fc.constantFrom(...users) }, { requiredKeys: [] }) },
    { method: 'POST', path: '/api/conversations/:conversationId/messages', params: { conversationId: conv }, body: message },
    { method: 'GET', path: '/api/conversations/:conversationId/messages', params: { conversationId: conv }, query: { before: numberText, after: numberText, limit: numberText } },
    { method: 'POST', path: '/api/conversations/:conversationId/read', params: { conversationId: conv }, body: fc.record({ seq: fc.integer({ min: 1, max: 10 }), user_id: fc.constantFrom(...users) }, { requiredKeys: ['seq'] }) },
    { method: 'PATCH', path: '/api/messages/:messageId', params: { messageId: msgs }, body: fc.record({ content: textContent }) },
    { method: 'POST', path: '/api/messages/:messageId/recall', params: { messageId: msgs } },
    { method: 'PUT', path: '/api/messages/:messageId/reactions/:emoji', params: { messageId: msgs, emoji: ['👍', '❤️', '👨‍👩‍👧', '🇨🇳', '1️⃣', 'x', '👍👍'] }, query: { user_id: fc.constantFrom(...users) } },
    { method: 'DELETE', path: '/api/messages/:messageId/reactions/:emoji', params: { messageId: msgs, emoji: ['👍', '❤️', 'x'] }, query: { user_id: fc.constantFrom(...users) } },
    { method: 'GET', path: '/api/messages/:messageId/citations/:index', params: { messageId: msgs, index: ['1', '2', '0', '-1', '999999', 'x', '1.5'] } },
    { method: 'GET', path: '/api/search/messages', query: { q: fc.constantFrom('hello', '会议室', 'ｈｅｌｌｏ', ' ', '"; drop table x', 'a b c d e f g h i j k l m n o p q'), conversation_id: fc.constantFrom(...conv), user_id: fc.constantFrom(...users), cursor: fc.constantFrom('msg_zzz', ''), limit: numberText } },
    { method: 'POST', path: '/api/messages/:messageId/feedback', params: { messageId: msgs }, body: fc.record({ rating: fc.constantFrom('up', 'down', null), user_id: fc.constantFrom(...users) }, { requiredKeys: ['rating'] }) },
    { method: 'POST', path: '/api/conversations/:conversationId/files', params: { conversationId: conv }, upload: true },
    { method: 'GET', path: '/api/files/:fileId/url', params: { fileId: files } },
    { method: 'GET', path: '/api/files/:fileId', params: { fileId: files }, query: { app: fc.constantFrom(a.appId, b.appId), exp: numberText, sig: hostileString, token: hostileString } },
    { method: 'POST', path: '/api/agents', body: agentBody },
    { method: 'GET', path: '/api/agents' },
    { method: 'GET', path: '/api/agents/:agentId', params: { agentId: [a.agentId, b.agentId, 'agent-missing'] } },
    { method: 'PATCH', path: '/api/agents/:agentId', params: { agentId: [a.agentId, b.agentId, 'agent-missing'] }, body: agentBody.map(({ id: _id, ...rest }) => rest) },
    { method: 'DELETE', path: '/api/agents/:agentId', params: { agentId: [b.agentId, 'agent-missing'] } },
    { method: 'POST', path: '/api/knowledge-bases', body: fc.record({ id: fresh, name: text, description: text }, { requiredKeys: ['name'] }) },
    { method: 'GET', path: '/api/knowledge-bases' },
    { method: 'GET', path: '/api/knowledge-bases/:kbId', params: { kbId: kbs } },
    { method: 'DELETE', path: '/api/knowledge-bases/:kbId', params: { kbId: [b.kbId, 'kb-missing'] } },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/documents', params: { kbId: kbs }, upload: true, body: fc.record({ title: text, source: text, text, format: fc.constantFrom('markdown', 'text') }, { requiredKeys: ['text'] }) },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/documents', params: { kbId: kbs } },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/documents/:docId', params: { kbId: kbs, docId: docs } },
    { method: 'DELETE', path: '/api/knowledge-bases/:kbId/documents/:docId', params: { kbId: kbs, docId: [b.docId, 'doc_missing'] } },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/documents/:docId/chunks', params: { kbId: kbs, docId: docs } },
    // Uploads on their way in, per-knowledge-base settings and FAQs (issue 12).
    { method: 'GET', path: '/api/knowledge-bases/:kbId/uploads', params: { kbId: kbs } },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/uploads/:uploadId', params: { kbId: kbs, uploadId: [...docs, 'upl_missing'] } },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/uploads/:uploadId/retry', params: { kbId: kbs, uploadId: [...docs, 'upl_missing'] } },
    { method: 'DELETE', path: '/api/knowledge-bases/:kbId/uploads/:uploadId', params: { kbId: kbs, uploadId: [b.docId, 'upl_missing'] } },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/imports', params: { kbId: kbs }, body: fc.record({ url: fc.constantFrom('http://169.254.169.254/', 'https://127.0.0.1:1/x', 'file:///etc/passwd', 'not a url') }) },
    // Websites a knowledge base reads (crawl, sitemap, page): only addresses the outbound policy refuses, so nothing is fetched.
    {
      method: 'POST', path: '/api/knowledge-bases/:kbId/web-sources', params: { kbId: kbs },
      body: fc.record({
        url: fc.constantFrom('http://169.254.169.254/', 'https://127.0.0.1:1/x', 'file:///etc/passwd', 'not a url', 'http://[::1]/'),
        mode: fc.constantFrom('page', 'sitemap', 'crawl'), max_pages: fc.constantFrom(1, 50, 1000), max_depth: fc.constantFrom(0, 2, 5), resync_hours: fc.constantFrom(null, 1, 720),
      }, { requiredKeys: ['url'] }),
    },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/web-sources', params: { kbId: kbs } },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/web-sources/:sourceId', params: { kbId: kbs, sourceId: ['web_missing'] } },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/web-sources/:sourceId/resync', params: { kbId: kbs, sourceId: ['web_missing'] } },
    { method: 'DELETE', path: '/api/knowledge-bases/:kbId/web-sources/:sourceId', params: { kbId: kbs, sourceId: ['web_missing'] } },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/settings', params: { kbId: kbs } },
    {
      method: 'PUT', path: '/api/knowledge-bases/:kbId/settings', params: { kbId: [b.kbId, 'kb-missing'] },
      body: fc.record({ chunk_tokens: fc.constantFrom(100, 300, 2000), overlap_tokens: fc.constantFrom(0, 40), top_k: fc.constantFrom(1, 5, 20), citation_style: fc.constantFrom('numbered', 'none') }),
    },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/faqs', params: { kbId: kbs } },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/faqs', params: { kbId: kbs }, body: fc.record({ question: text, answer: text }) },
    { method: 'PUT', path: '/api/knowledge-bases/:kbId/faqs/:faqId', params: { kbId: kbs, faqId: ['faq_missing'] }, body: fc.record({ question: text, answer: text }) },
    { method: 'DELETE', path: '/api/knowledge-bases/:kbId/faqs/:faqId', params: { kbId: kbs, faqId: ['faq_missing'] } },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/faqs/import', params: { kbId: kbs }, upload: true },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/faqs/from-reply', params: { kbId: kbs }, body: fc.record({ message_id: fc.constantFrom(...msgs) }) },
    { method: 'POST', path: '/api/knowledge-bases/:kbId/search', params: { kbId: kbs }, body: fc.record({ query: text, k: fc.integer({ min: 1, max: 20 }), locale: fc.constantFrom('en', 'zh-CN') }, { requiredKeys: ['query'] }) },
    { method: 'GET', path: '/api/knowledge-bases/:kbId/retrieval', params: { kbId: kbs } },
    { method: 'PUT', path: '/api/knowledge-bases/:kbId/retrieval', params: { kbId: kbs }, body: fc.record({ embedding_model: fc.option(fc.constantFrom('text-embedding-3-small', 'bge-m3', 'no-such-model'), { nil: null }), rerank_model: fc.option(fc.constantFrom('bge-reranker-v2-m3'), { nil: null }) }, { requiredKeys: ['embedding_model'] }) },
    { method: 'GET', path: '/api/usage', query: { group_by: fc.constantFrom('day', 'model', 'agent', 'key'), from: numberText, to: numberText } },
    { method: 'GET', path: '/api/usage/calls', query: { from: numberText, to: numberText, agent_id: fc.constant(a.agentId), key_id: fc.constant(a.keyId), limit: numberText, before_created_at: numberText, before_id: hostileString } },
    { method: 'POST', path: '/api/gateway/keys', body: fc.record({ name: text, ...keyFields }, { requiredKeys: ['name'] }) },
    { method: 'GET', path: '/api/gateway/keys' },
    { method: 'GET', path: '/api/gateway/keys/:keyId', params: { keyId: keys } },
    { method: 'PATCH', path: '/api/gateway/keys/:keyId', params: { keyId: keys }, body: fc.record({ name: text, ...keyFields }, { requiredKeys: [] }) },
    { method: 'POST', path: '/api/gateway/keys/:keyId/revoke', params: { keyId: [b.keyId, 'key_missing'] } },
    { method: 'DELETE', path: '/api/gateway/keys/:keyId', params: { keyId: [b.keyId, 'key_missing'] } },
    ...webhookRoutes(w),
    ...supportRoutes(w),
    ...experimentRoutes(w),
    ...datasetRoutes(w),
    ...widgetRoutes(w),
    ...auditPrivacyRoutes(w),
    { method: 'GET', path: '/api/dev/sign-in' },
    { method: 'POST', path: '/api/dev/sign-in', body: fc.record({ name: text }) },
    { method: 'GET', path: '/api/people', query: { q: text, kind: fc.constantFrom('human', 'agent'), limit: numberText } },
    { method: 'GET', path: '/api/models' },
    { method: 'POST', path: '/api/models/check', body: fc.record({ model: fc.constantFrom('local/kb-answer', 'gpt-4o-mini', 'nope') }) },
  ];
}

function experimentRoutes({ a, b }: World): Route[] {
  const ids = ['exp_missing'];
  const candidate = fc.record(
    { name: text, model: fc.constantFrom('gpt-4o-mini', 'local/kb-answer'), temperature: fc.constantFrom(0, 1), share: fc.constantFrom(0, 0.5, 1) },
    { requiredKeys: ['model'] },
  );
  const body = fc.record({
    agent_id: fc.constantFrom(a.agentId, b.agentId, 'missing'), name: text, mode: fc.constantFrom('shadow', 'ab'),
    candidates: fc.array(candidate, { minLength: 1, maxLength: 2 }), sample_rate: fc.constantFrom(0, 0.1, 1), daily_budget_usd: fc.constantFrom(0.01, 5),
  }, { requiredKeys: ['agent_id', 'name', 'mode', 'candidates'] });
  return [
    { method: 'POST', path: '/api/experiments', body },
    { method: 'GET', path: '/api/experiments', query: { agent_id: fc.constantFrom(a.agentId, b.agentId) } },
    { method: 'GET', path: '/api/experiments/:experimentId', params: { experimentId: ids } },
    { method: 'GET', path: '/api/experiments/:experimentId/report', params: { experimentId: ids }, query: { format: fc.constantFrom('json', 'csv') } },
    { method: 'POST', path: '/api/experiments/:experimentId/stop', params: { experimentId: ids }, body: fc.record({ candidate_id: fc.constant('c1'), reason: text }, { requiredKeys: [] }) },
  ];
}

function datasetRoutes({ a, b }: World): Route[] {
  const ids = ['ds_missing'];
  const runIds = ['dsrun_missing'];
  const filters = fc.record({
    agent_id: fc.constantFrom(a.agentId, b.agentId, 'missing'), since: fc.constantFrom(0, Date.now()), until: fc.constantFrom(1, Date.now() + 1),
    feedback: fc.constantFrom('up', 'down'), outcomes: fc.constantFrom(['resolved_by_ai'], ['handed_off', 'resolved_by_human']), history_messages: fc.constantFrom(0, 10, 50),
  }, { requiredKeys: ['agent_id'] });
  const run = fc.record({
    model: fc.constantFrom('gpt-4o-mini', 'local/kb-answer', 'missing-model'), judge_model: fc.constantFrom('gpt-4o-mini'), budget_usd: fc.constantFrom(0.01, 1),
    temperature: fc.constantFrom(0, 2), system_prompt: text,
  }, { requiredKeys: ['model'] });
  const page = { after: fc.constantFrom('dsi_missing', 'dsr_missing'), limit: numberText };
  return [
    { method: 'POST', path: '/api/datasets', body: fc.record({ name: text, filters, max_items: fc.constantFrom(1, 10, 1_000) }, { requiredKeys: ['name', 'filters'] }) },
    { method: 'GET', path: '/api/datasets' },
    { method: 'GET', path: '/api/datasets/:datasetId', params: { datasetId: ids } },
    { method: 'DELETE', path: '/api/datasets/:datasetId', params: { datasetId: ids } },
    { method: 'GET', path: '/api/datasets/:datasetId/items', params: { datasetId: ids }, query: page },
    { method: 'POST', path: '/api/datasets/:datasetId/runs', params: { datasetId: ids }, body: run },
    { method: 'GET', path: '/api/datasets/:datasetId/runs', params: { datasetId: ids } },
    { method: 'GET', path: '/api/datasets/:datasetId/runs/:runId', params: { datasetId: ids, runId: runIds } },
    { method: 'GET', path: '/api/datasets/:datasetId/runs/:runId/results', params: { datasetId: ids, runId: runIds }, query: page },
    { method: 'GET', path: '/api/datasets/:datasetId/export', params: { datasetId: ids } },
  ];
}

function supportRoutes({ a, b }: World): Route[] {
  const conv = [a.supportConversationId, b.supportConversationId, ...a.conversationIds, 'cnv_missing'];
  const users = [a.alice.id, a.bob.id, a.carol.id, b.users[0]!.id, 'missing-user'];
  const policy = fc.record({
    no_knowledge_streak: fc.constantFrom(null, 1, 3, 50), thumbs_down: fc.boolean(), cost_cap_usd: fc.constantFrom(null, 0, 0.5),
    keywords: fc.constantFrom([], ['refund', '退款']),
    working_hours: fc.constantFrom(null, { time_zone: 'Asia/Shanghai', spans: [{ day: 1, from: '09:00', to: '18:00' }] }, { time_zone: 'Nowhere/Land', spans: [] }),
  }, { requiredKeys: [] });
  const canned = fc.record({ title: text, text });
  return [
    { method: 'POST', path: '/api/support/conversations', body: fc.record({ customer_id: fc.constantFrom(...users), agent_id: fc.constantFrom(a.agentId, b.agentId, 'missing'), locale: fc.constantFrom('en', 'zh-CN') }, { requiredKeys: [] }) },
    { method: 'GET', path: '/api/support/conversations/:conversationId', params: { conversationId: conv } },
    { method: 'POST', path: '/api/support/conversations/:conversationId/handoff', params: { conversationId: conv }, body: fc.record({ note: text }, { requiredKeys: [] }) },
    { method: 'POST', path: '/api/support/conversations/:conversationId/csat', params: { conversationId: conv }, body: fc.record({ rating: fc.integer({ min: 0, max: 6 }), comment: text }, { requiredKeys: ['rating'] }) },
    { method: 'POST', path: '/api/support/conversations/:conversationId/resolve', params: { conversationId: conv }, body: fc.record({ outcome: fc.constantFrom('resolved_by_ai', 'resolved_by_human', 'abandoned', 'spam') }, { requiredKeys: [] }) },
    { method: 'GET', path: '/api/support/me' },
    { method: 'GET', path: '/api/support/queue', query: { queue: fc.constantFrom('unassigned', 'mine', 'all', 'resolved'), limit: numberText, before: numberText } },
    { method: 'GET', path: '/api/support/conversations/:conversationId/messages', params: { conversationId: conv }, query: { before: numberText, after: numberText, limit: numberText } },
    { method: 'POST', path: '/api/support/conversations/:conversationId/claim', params: { conversationId: conv } },
    { method: 'POST', path: '/api/support/conversations/:conversationId/assign', params: { conversationId: conv }, body: fc.record({ user_id: fc.constantFrom(...users) }) },
    { method: 'POST', path: '/api/support/conversations/:conversationId/transfer', params: { conversationId: conv }, body: fc.record({ user_id: fc.constantFrom(...users) }) },
    { method: 'POST', path: '/api/support/conversations/:conversationId/hand-back', params: { conversationId: conv } },
    { method: 'GET', path: '/api/support/conversations/:conversationId/notes', params: { conversationId: conv } },
    { method: 'POST', path: '/api/support/conversations/:conversationId/notes', params: { conversationId: conv }, body: fc.record({ text }) },
    { method: 'POST', path: '/api/support/conversations/:conversationId/suggest', params: { conversationId: [b.supportConversationId, 'cnv_missing'] } },
    { method: 'GET', path: '/api/support/canned-replies' },
    { method: 'POST', path: '/api/support/canned-replies', body: canned },
    { method: 'PUT', path: '/api/support/canned-replies/:cannedId', params: { cannedId: ['cnd_missing'] }, body: canned },
    { method: 'DELETE', path: '/api/support/canned-replies/:cannedId', params: { cannedId: ['cnd_missing'] } },
    { method: 'GET', path: '/api/support/staff' },
    { method: 'PUT', path: '/api/support/staff/:userId', params: { userId: users } },
    { method: 'DELETE', path: '/api/support/staff/:userId', params: { userId: users } },
    { method: 'GET', path: '/api/support/policy' },
    { method: 'PUT', path: '/api/support/policy', body: policy },
    { method: 'GET', path: '/api/support/agents/:agentId/policy', params: { agentId: [a.agentId, b.agentId, 'missing'] } },
    { method: 'PUT', path: '/api/support/agents/:agentId/policy', params: { agentId: [a.agentId, b.agentId, 'missing'] }, body: policy },
    { method: 'GET', path: '/api/support/report', query: { since: numberText, until: numberText, group_by: fc.constantFrom('day', 'agent', 'model', 'handoff_reason') } },
  ];
}

function webhookRoutes({ a, b }: World): Route[] {
  const endpoints = [a.webhookEndpointId, b.webhookEndpointId, 'whe_missing'];
  const endpointBody = fc.record({
    url: fc.constantFrom('https://example.com/hook', 'http://127.0.0.1:9/x', 'https://169.254.169.254/', 'ftp://example.com/', 'https://例子.测试/hook'),
    description: text,
    event_types: fc.constantFrom([], ['message.created'], ['conversation.handoff', 'csat.submitted'], ['webhook.test']),
    enabled: fc.boolean(),
  }, { requiredKeys: [] });
  return [
    { method: 'POST', path: '/api/webhooks/endpoints', body: endpointBody },
    { method: 'GET', path: '/api/webhooks/endpoints' },
    { method: 'GET', path: '/api/webhooks/endpoints/:endpointId', params: { endpointId: endpoints } },
    { method: 'PATCH', path: '/api/webhooks/endpoints/:endpointId', params: { endpointId: endpoints }, body: endpointBody },
    { method: 'DELETE', path: '/api/webhooks/endpoints/:endpointId', params: { endpointId: [b.webhookEndpointId, 'whe_missing'] } },
    { method: 'POST', path: '/api/webhooks/endpoints/:endpointId/rotate-secret', params: { endpointId: [b.webhookEndpointId, 'whe_missing'] } },
    { method: 'POST', path: '/api/webhooks/endpoints/:endpointId/test', params: { endpointId: endpoints } },
    { method: 'GET', path: '/api/webhooks/endpoints/:endpointId/deliveries', params: { endpointId: endpoints }, query: { limit: numberText, before: numberText } },
    { method: 'POST', path: '/api/webhooks/deliveries/:deliveryId/redeliver', params: { deliveryId: [a.webhookDeliveryId, b.webhookDeliveryId, 'whd_missing'] } },
  ];
}

// Issue 16: the audit log, console providers, a user's data and retention. Erasure only ever hits users the world can lose.
function auditPrivacyRoutes({ a, b, disposable }: World): Route[] {
  const word = fc.constantFrom('agent.update', 'provider', 'user_data', 'a'.repeat(101), "' OR 1=1--");
  const model = fc.record({ name: fc.constantFrom('fz-model', 'local/kb-answer', 'x y'), upstream: text, input_per_million: fc.constantFrom(0, 1.5, -1, 1e9), output_per_million: fc.constantFrom(0, 2), currency: fc.constantFrom('USD', 'CNY', 'usd') }, { requiredKeys: ['name'] });
  const provider = {
    kind: fc.constantFrom('openai-compatible', 'openai', 'deepseek', 'ollama', 'azure'),
    base_url: fc.constantFrom('https://llm.example.com/v1', 'http://169.254.169.254/latest', 'https://localhost/v1', 'http://10.0.0.1/v1', 'file:///etc/passwd'),
    api_key: text, models: fc.array(model, { minLength: 1, maxLength: 3 }),
  };
  const providers = ['fz-missing', 'Bad Id', 'deepseek'];
  return [
    { method: 'GET', path: '/api/audit', query: { action: word, resource: word, actor_kind: fc.constantFrom('master_key', 'user', 'robot'), since: numberText, until: numberText, before_seq: numberText, limit: numberText } },
    { method: 'GET', path: '/api/audit/export' },
    { method: 'GET', path: '/api/audit/verify' },
    {
      method: 'GET', path: '/api/guardrails/interventions',
      query: {
        action: fc.constantFrom('block', 'mask', 'flag', 'strip', 'drop'), rule: fc.constantFrom('words:illegal', 'pii:mobile', 'words:', 'x:y', "words:' OR 1=1--"),
        path: fc.constantFrom('v1', 'agent', 'batch', 'ws'), since: numberText, until: numberText, before: fc.constantFrom('grd_0abc', '../x', ''), limit: numberText,
      },
    },
    { method: 'GET', path: '/admin/audit', query: { limit: numberText, before_seq: numberText } },
    { method: 'GET', path: '/admin/audit/verify' },
    { method: 'GET', path: '/api/audit/head' },
    { method: 'GET', path: '/admin/audit/head' },
    {
      method: 'POST', path: '/api/audit/verify',
      body: fc.record({
        head: fc.record({
          app_id: fc.constantFrom(a.appId, b.appId, 'app_missing'), seq: fc.constantFrom(1, 2, 1_000_000), hash: fc.constantFrom('0'.repeat(64), 'f'.repeat(64), 'xyz'),
          at: fc.constantFrom(0, Date.now()), key_id: fc.constantFrom('0123456789abcdef', 'nothex'), signature: fc.constantFrom('AAAA', 'not base64!'),
        }),
      }),
    },
    { method: 'GET', path: '/api/providers' },
    { method: 'POST', path: '/api/providers', body: fc.record({ id: fc.oneof(fresh, fc.constantFrom('deepseek', 'Bad Id')), ...provider }, { requiredKeys: ['id', 'kind', 'models'] }) },
    { method: 'GET', path: '/api/providers/:providerId', params: { providerId: providers } },
    { method: 'PATCH', path: '/api/providers/:providerId', params: { providerId: providers }, body: fc.record(provider, { requiredKeys: [] }) },
    { method: 'DELETE', path: '/api/providers/:providerId', params: { providerId: providers } },
    { method: 'POST', path: '/api/providers/:providerId/test', params: { providerId: providers }, body: fc.record({ model: text }, { requiredKeys: [] }) },
    { method: 'POST', path: '/api/privacy/users/:userId/export', params: { userId: [a.alice.id, b.victim.id, 'missing-user'] } },
    { method: 'POST', path: '/api/privacy/users/:userId/erase', params: { userId: [disposable.userId, b.victim.id, a.agentId, 'missing-user'] } },
    { method: 'GET', path: '/api/retention' },
    { method: 'PUT', path: '/api/retention', body: fc.record({ policies: fc.array(fc.record({ kind: fc.constantFrom('direct', 'group', 'support', 'all', 'chat'), days: fc.constantFrom(1, 30, 180, 0, 40_000) }), { maxLength: 5 }) }) },
    { method: 'GET', path: '/api/retention/preview' },
    { method: 'POST', path: '/api/retention/enforce' },
  ];
}

function widgetRoutes({ a, b }: World): Route[] {
  const origins = fc.array(fc.constantFrom('https://shop.example.com', 'http://127.0.0.1:8080', 'https://shop.example.com/path', 'javascript:alert(1)', 'https://例子.测试'), { maxLength: 3 });
  const identity = fc.record({
    user_id: fc.constantFrom(a.alice.id, 'cust-1', a.agentId, '~dev'),
    expires_at: fc.constantFrom(0, Math.floor(Date.now() / 1000) + 600, 2 ** 40),
    signature: fc.constantFrom('0'.repeat(64), 'f'.repeat(63)),
    name: text,
  }, { requiredKeys: ['user_id', 'expires_at', 'signature'] });
  return [
    { method: 'GET', path: '/api/widget/settings' },
    {
      method: 'PUT', path: '/api/widget/settings',
      body: fc.record({
        allowed_origins: origins, agent_id: fc.constantFrom(null, a.agentId, b.agentId, 'agent-missing'),
        captcha_url: fc.constantFrom(null, 'https://captcha.example.com/verify', 'http://127.0.0.1:9/x'), identified_only: fc.boolean(),
      }, { requiredKeys: ['allowed_origins'] }),
    },
    { method: 'POST', path: '/api/widget/identity-secret' },
    {
      method: 'POST', path: '/api/widget/session',
      body: fc.record({
        app_id: fc.constantFrom(a.appId, b.appId, 'app_missing'), visitor_key: hostileString, identity, captcha_token: text, locale: fc.constantFrom('zh-CN', 'en'),
      }, { requiredKeys: ['app_id'] }),
    },
  ];
}

/** Who calls: mostly credentials that get past authentication, so the bodies are what is tested. */
function credentials(w: World, masterKey: string): fc.Arbitrary<Pick<Probe, 'credential' | 'headers'>> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant({ credential: w.a.secret }) },
    { weight: 3, arbitrary: fc.constantFrom({ credential: w.a.alice.token }, { credential: w.a.bob.token }) },
    { weight: 1, arbitrary: fc.constant({ credential: w.a.carol.token }) },
    { weight: 1, arbitrary: fc.constantFrom({ credential: masterKey, headers: { 'x-warbler-app': w.a.appId } }, { credential: masterKey }, { credential: masterKey, headers: { 'x-warbler-app': 'app_missing\u00e9' } }) },
    { weight: 1, arbitrary: fc.constantFrom({ credential: w.b.secret }, { credential: w.b.users[0]!.token }) },
    { weight: 1, arbitrary: fc.oneof(fc.constant({ credential: undefined }), hostileString.filter((s) => s.length < 5_000 && /^[\x21-\x7e]*$/.test(s)).map((credential) => ({ credential })), fc.constant({ credential: `${w.a.alice.token.slice(0, -3)}abc` })) },
  );
}

export type BodyStyle = 'schema' | 'raw';

function fill(path: string, values: Record<string, string>): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => values[name] ?? 'x');
}

/** A probe of one route: the route's valid-ish body with a field mutated ('schema'), or raw junk ('raw'). */
export function restProbe(w: World, masterKey: string, style: BodyStyle): fc.Arbitrary<Probe> {
  const ids = [...w.a.conversationIds, ...w.b.conversationIds, ...w.b.messageIds, w.b.agentId, w.b.kbId, w.b.keyId, w.b.fileId, w.b.victim.id, w.a.bob.id, w.a.fileId];
  const routes = restRoutes(w);
  return fc.constantFrom(...routes).chain((route) => {
    const params = Object.fromEntries(Object.entries(route.params ?? {}).map(([name, pool]) => [name, pathParam(pool)]));
    const query = route.query ? queryOf(route.query) : fc.constant('');
    const wire: fc.Arbitrary<WireBody | undefined> = style === 'raw'
      ? (route.upload ? fc.oneof(rawBody, multipartJunk) : rawBody)
      : route.body
        ? fc.oneof({ weight: 2, arbitrary: route.body.map(jsonBody) }, { weight: 5, arbitrary: mutated(route.body, ids).map(jsonBody) }, ...(route.upload ? [{ weight: 2, arbitrary: multipartJunk }] : []))
        : route.upload ? multipartJunk : fc.option(mutated(fc.constant({}), ids).map(jsonBody), { nil: undefined });
    return fc.record({ values: fc.record(params), query, wire, who: credentials(w, masterKey) }).map(({ values, query, wire, who }): Probe => ({
      method: route.method,
      path: fill(route.path, values) + query,
      ...who,
      wire: route.method === 'GET' ? undefined : wire,
    }));
  });
}
