// The state a fuzz run attacks: two apps with users, conversations,
// messages, an agent, a knowledge base, a gateway key and a file, built
// through the API; and a snapshot of what a refused request must not change.
import { expect } from 'vitest';
import type { TestServer } from '../harness.ts';

export interface Person {
  id: string;
  token: string;
}

export interface AppWorld {
  appId: string;
  secret: string;
  users: Person[];
  conversationIds: string[];
  messageIds: string[];
  agentId: string;
  kbId: string;
  docId: string;
  keyId: string;
  keySecret: string;
  fileId: string;
  webhookEndpointId: string;
  webhookDeliveryId: string;
  /** Carol's support conversation with the agent (issue 11). */
  supportConversationId: string;
}

export interface World {
  /** The app under attack: alice (owner of the group), bob (member), carol (in no conversation). */
  a: AppWorld & { alice: Person; bob: Person; carol: Person; agentReplyId: string };
  /** Another tenant, whose ids are thrown at app a; its victim's calls must keep working. */
  b: AppWorld & { victim: Person };
  /** Ids that may be destroyed (revoked, deleted) without hurting the rest of the run. */
  disposable: { userId: string; appId: string };
}

type Api = (method: string, path: string, body?: unknown, credential?: string) => Promise<{ status: number; body: any }>;

async function ok<T = any>(call: Promise<{ status: number; body: any }>, status = [200, 201]): Promise<T> {
  const res = await call;
  expect(status, JSON.stringify(res.body)).toContain(res.status);
  return res.body as T;
}

async function person(api: Api, secret: string, id: string, name: string): Promise<Person> {
  await ok(api('POST', '/api/users', { id, name }, secret));
  const minted = await ok(api('POST', `/api/users/${id}/tokens`, { ttl_seconds: 3_600 }, secret));
  return { id, token: minted.token };
}

async function upload(server: TestServer, conversationId: string, token: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob(['hello fuzz'], { type: 'text/plain' }), 'hello.txt');
  const res = await fetch(`${server.url}/api/conversations/${conversationId}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const body = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.id;
}

async function appWorld(server: TestServer, secret: string, appId: string, prefix: string): Promise<AppWorld & { people: Person[] }> {
  const api = server.api;
  const people = [await person(api, secret, `${prefix}-alice`, 'Alice'), await person(api, secret, `${prefix}-bob`, 'Bob'), await person(api, secret, `${prefix}-carol`, 'Carol')];
  const [alice, bob] = people as [Person, Person, Person];
  const group = await ok(api('POST', '/api/conversations', { kind: 'group', title: 'Fuzz group', member_ids: [bob.id] }, alice.token));
  const direct = await ok(api('POST', '/api/conversations', { kind: 'direct', member_ids: [bob.id] }, alice.token));
  const messageIds: string[] = [];
  for (const [who, text] of [[alice, 'hello'], [bob, 'hi alice'], [alice, 'third']] as const) {
    const sent = await ok(api('POST', `/api/conversations/${group.id}/messages`, { client_msg_id: `${prefix}-${text}`, content: { text } }, who.token));
    messageIds.push(sent.message.id);
  }
  const kb = await ok(api('POST', '/api/knowledge-bases', { id: `${prefix}-kb`, name: 'Fuzz KB' }, secret));
  const doc = await ok(api('POST', `/api/knowledge-bases/${kb.id}/documents`, { title: 'Returns', text: '# Returns\n\nReturns are accepted within 30 days.' }, secret));
  const agent = await ok(api('POST', '/api/agents', { id: `${prefix}-agent`, name: 'Fuzz agent', model: 'local/kb-answer', knowledge_base_ids: [kb.id] }, secret));
  const key = await ok(api('POST', '/api/gateway/keys', { name: `${prefix} key` }, secret));
  const fileId = await upload(server, group.id, alice.token);
  const webhook = await ok(api('POST', '/api/webhooks/endpoints', { url: `https://example.com/${prefix}-hook`, event_types: ['conversation.created'] }, secret));
  const webhookDelivery = await ok(api('POST', `/api/webhooks/endpoints/${webhook.endpoint.id}/test`, undefined, secret), [202]);
  const support = await ok(api('POST', '/api/support/conversations', { customer_id: people[2]!.id, agent_id: agent.id }, secret));
  return {
    appId, secret, people, users: people, conversationIds: [group.id, direct.id], messageIds,
    agentId: agent.id, kbId: kb.id, docId: doc.id, keyId: key.key.id, keySecret: key.secret, fileId,
    webhookEndpointId: webhook.endpoint.id, webhookDeliveryId: webhookDelivery.id, supportConversationId: support.conversation.conversation_id,
  };
}

/** Builds both apps through the API, the way an app's backend would. */
export async function buildWorld(server: TestServer): Promise<World> {
  const a = await appWorld(server, server.appSecret, server.appId, 'fa');
  const other = await server.warbler.apps.create('Fuzz other tenant');
  const b = await appWorld(server, other.secret, other.app.id, 'fb');
  const victim = await person(server.api, other.secret, 'fb-victim', 'Victim');
  // An agent reply in a's direct chat, so feedback has something to rate; the agent is then taken out of that group, so it never answers during the run.
  const agentReplyId = await agentReply(server, a);
  const disposableApp = await server.warbler.apps.create('Fuzz disposable');
  await ok(server.api('POST', '/api/users', { id: 'fa-disposable', name: 'Disposable' }, a.secret));
  const [alice, bob, carol] = a.people as [Person, Person, Person];
  return {
    a: { ...a, alice, bob, carol, agentReplyId },
    b: { ...b, victim },
    disposable: { userId: 'fa-disposable', appId: disposableApp.app.id },
  };
}

async function agentReply(server: TestServer, a: AppWorld & { people: Person[] }): Promise<string> {
  const [alice] = a.people as [Person];
  // A group, so the agent can be taken out after its reply (nobody leaves a direct chat); it answers the mention.
  const chat = await ok(server.api('POST', '/api/conversations', { kind: 'group', title: 'Ask', member_ids: [a.agentId] }, alice.token));
  await ok(server.api('POST', `/api/conversations/${chat.id}/messages`, { client_msg_id: 'fa-ask', content: { text: 'How do returns work?', mentions: [a.agentId] } }, alice.token));
  // The reply is written by the agent after the send is acknowledged: wait for it to be complete.
  for (let i = 0; i < 200; i++) {
    const history = await ok(server.api('GET', `/api/conversations/${chat.id}/messages`, undefined, alice.token));
    const reply = (history.messages as Array<{ id: string; sender_id: string; state: string }>).find((m) => m.sender_id === a.agentId && m.state !== 'streaming');
    if (reply) {
      await ok(server.api('DELETE', `/api/conversations/${chat.id}/members/${a.agentId}`, undefined, a.secret), [204]);
      a.conversationIds.push(chat.id);
      return reply.id;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the agent never replied');
}

/** GET with the master key acting for an app: sees everything, and is never rotated or revoked by the fuzzer. */
async function read(server: TestServer, appId: string, path: string): Promise<unknown> {
  // A read that never answers is a hang, and a finding: fail within seconds instead of at the test's timeout.
  const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.masterKey}`, 'x-warbler-app': appId }, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  // A listing that fails is itself a finding: it would be part of the snapshot diff.
  return res.status === 200 ? JSON.parse(text) : { status: res.status, text };
}

async function allUsers(server: TestServer, appId: string): Promise<unknown[]> {
  const out: unknown[] = [];
  let after: string | undefined;
  for (let page = 0; page < 50; page++) {
    const body = (await read(server, appId, `/api/users?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`)) as { users?: unknown[]; next_after?: string | null };
    out.push(...(body.users ?? [body]));
    if (!body.next_after) break;
    after = body.next_after;
  }
  return out;
}

/** What a refused request must leave as it was, in both apps, read through the API. */
export async function snapshot(server: TestServer, world: World): Promise<Record<string, unknown>> {
  const reads: Array<[string, Promise<unknown>]> = [];
  for (const app of [world.a, world.b]) {
    const p = app.appId;
    reads.push([`${p} users`, allUsers(server, p)]);
    reads.push([`${p} agents`, read(server, p, '/api/agents')]);
    reads.push([`${p} kbs`, read(server, p, '/api/knowledge-bases')]);
    reads.push([`${p} docs`, read(server, p, `/api/knowledge-bases/${app.kbId}/documents`)]);
    reads.push([`${p} keys`, read(server, p, '/api/gateway/keys')]);
    reads.push([`${p} webhook endpoints`, read(server, p, '/api/webhooks/endpoints')]);
    for (const queue of ['all', 'resolved']) reads.push([`${p} support ${queue}`, read(server, p, `/api/support/queue?queue=${queue}&limit=200`)]);
    reads.push([`${p} support policy`, read(server, p, '/api/support/policy')]);
    reads.push([`${p} support staff`, read(server, p, '/api/support/staff')]);
    reads.push([`${p} canned replies`, read(server, p, '/api/support/canned-replies')]);
    reads.push([`${p} widget settings`, read(server, p, '/api/widget/settings')]);
    for (const user of app.users) reads.push([`${p} conversations of ${user.id}`, read(server, p, `/api/conversations?user_id=${encodeURIComponent(user.id)}&limit=200`)]);
    for (const c of app.conversationIds) {
      reads.push([`${p} history ${c}`, read(server, p, `/api/conversations/${c}/messages?limit=200`)]);
      reads.push([`${p} members ${c}`, read(server, p, `/api/conversations/${c}/members`)]);
    }
  }
  reads.push(['apps', read(server, world.a.appId, '/admin/apps')]);
  const values = await Promise.all(reads.map(([, value]) => value));
  return Object.fromEntries(reads.map(([key], i) => [key, values[i]]));
}

/** The keys of two snapshots that differ, with both values cut short. */
export function snapshotDiff(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const x = JSON.stringify(before[key]);
    const y = JSON.stringify(after[key]);
    if (x !== y) diffs.push(`${key}: ${x?.slice(0, 400)} → ${y?.slice(0, 400)}`);
  }
  return diffs;
}
