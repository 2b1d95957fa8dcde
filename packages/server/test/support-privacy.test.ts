// Issue 11 × privacy: a widget visitor's and a support person's export and
// erasure cover the support tables (conversation state, rating, notes, the
// role, the visitor identity) and the webhook deliveries whose events name them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds } from './harness.ts';
import { eventually, supportWorld, type SupportWorld } from './support-kit.ts';

const ORIGIN = 'https://shop.example';

describe.each(storeKinds())('support data on request, on %s', (kind) => {
  let world: SupportWorld;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'warbler-support-privacy-'));
    const config = path.join(dir, 'warbler.yaml');
    // An endpoint that never answers: its deliveries stay in the outbox, as they would while a receiver is down.
    await writeFile(config, 'outbound:\n  allow_hosts: ["127.0.0.1:9"]\n  allow_http_hosts: ["127.0.0.1:9"]\n');
    world = await supportWorld(kind, { WARBLER_CONFIG: config });
  });
  afterAll(async () => {
    await world?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const api = (method: string, p: string, body?: unknown, token?: string) => world.server.api(method, p, body, token);
  async function exported(userId: string): Promise<(name: string) => string> {
    const res = await fetch(`${world.server.url}/api/privacy/users/${userId}/export`, { method: 'POST', headers: { authorization: `Bearer ${world.server.appSecret}` } });
    expect(res.status).toBe(200);
    const zip = unzipSync(new Uint8Array(await res.arrayBuffer()));
    return (name: string) => new TextDecoder().decode(zip[name]);
  }
  // Bodies are sealed at rest: what names a user is read through the export, and counted in the table.
  const deliveriesIn = async (file: (name: string) => string) => file('webhook-deliveries.jsonl').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const deliveryRows = async () => (await world.server.warbler.store.roomTables().selectFrom('webhook_deliveries').select('id').where('app_id', '=', 'default').execute()).length;

  it("exports and erases a widget visitor's and a support person's support data and webhook deliveries", async () => {
    const rep = await world.agent('Rep');
    const ann = await world.staff('Ann');
    expect((await api('POST', '/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/hook', event_types: [] })).status).toBe(201);
    expect((await api('PUT', '/api/widget/settings', { allowed_origins: [ORIGIN], agent_id: rep })).status).toBe(200);
    // The visitor comes through the widget, as a browser does.
    const opened = await fetch(`${world.server.url}/api/widget/session`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN }, body: JSON.stringify({ app_id: 'default', locale: 'en' }),
    });
    expect(opened.status).toBe(200);
    const session = (await opened.json()) as { user_id: string; token: string; conversation_id: string };
    const v = { id: session.user_id, token: session.token, conversationId: session.conversation_id, agentId: rep };

    await world.say(v, 'My order WB-58213-K is late');
    await eventually(async () => ((await world.replies(v)).some((m) => m.state === 'complete') ? true : undefined));
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token)).status).toBe(200);
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/claim`, {}, ann.token)).status).toBe(200);
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/notes`, { text: 'Upset about WB-58213-K; offered a voucher' }, ann.token)).status).toBe(201);
    expect((await api('POST', `/api/conversations/${v.conversationId}/messages`, { type: 'text', content: { text: 'Sorry! It ships today.' } }, ann.token)).status).toBe(201);
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/resolve`, {}, ann.token)).status).toBe(200);
    expect((await api('POST', `/api/support/conversations/${v.conversationId}/csat`, { rating: 4, comment: 'Thanks Ann, from Daniel' }, v.token)).status).toBe(200);
    const stored = await world.server.warbler.store.roomTables().selectFrom('support_conversations').select('csat_comment').where('conversation_id', '=', v.conversationId).executeTakeFirstOrThrow();
    expect(stored.csat_comment).toMatch(/^wae1\./);
    // The visitor's export: their support conversation with its rating, how the widget knows them, and the events about them.
    const visitorFile = await eventually(async () => {
      const file = await exported(v.id);
      return (await deliveriesIn(file)).some((e) => e.event_type === 'csat.submitted') ? file : undefined;
    });
    const visitorSupport = JSON.parse(visitorFile('support.json'));
    expect(visitorSupport.widget_visitor).toEqual({ source: 'widget', locale: 'en', anonymous: true });
    expect(visitorSupport.conversations).toEqual([expect.objectContaining({
      conversation_id: v.conversationId, customer_id: v.id, status: 'resolved', outcome: 'resolved_by_human', csat_rating: 4, csat_comment: 'Thanks Ann, from Daniel',
    })]);
    const events = await deliveriesIn(visitorFile);
    // conversation.handoff carries no person's id, so it is not theirs; audit.recorded names them as the export's subject.
    expect([...new Set(events.map((e) => e.event_type))]).toEqual(expect.arrayContaining(['conversation.created', 'csat.submitted', 'message.created']));
    expect(events.every((e) => JSON.stringify(e.event).includes(v.id))).toBe(true);
    expect(visitorFile('README.txt')).toContain('support.json');

    // Ann's export: the note she wrote, what she did, her role, the events that name her.
    const annFile = await exported(ann.id);
    const annSupport = JSON.parse(annFile('support.json'));
    const annEvents = await deliveriesIn(annFile);
    expect([...new Set(annEvents.map((e) => e.event_type))]).toEqual(expect.arrayContaining(['conversation.assigned', 'conversation.resolved', 'message.created', 'csat.submitted']));
    expect(annEvents.every((e) => JSON.stringify(e.event).includes(ann.id))).toBe(true);
    expect(annSupport.support_role).toBe(true);
    expect(annSupport.notes_written.map((n: { text: string }) => n.text)).toEqual(['Upset about WB-58213-K; offered a voucher']);
    expect(annSupport.actions.map((a: { type: string }) => a.type)).toEqual(expect.arrayContaining(['assigned', 'resolved']));
    expect(annSupport.conversations.map((c: { conversation_id: string }) => c.conversation_id)).toEqual([v.conversationId]);

    // Erasing the visitor: the conversation's outcome and rating stay for the report, under a pseudonym, without their words.
    const rowsBefore = await deliveryRows();
    const erased = await api('POST', `/api/privacy/users/${v.id}/erase`);
    expect(erased.status).toBe(200);
    // Every delivery that named the visitor (those exported, and the audit events of the export itself), and only those.
    expect(erased.body).toMatchObject({ support_conversations_anonymized: 1, support_notes_removed: 1 });
    expect(erased.body.webhook_deliveries_removed).toBeGreaterThanOrEqual(events.length);
    expect(erased.body.webhook_deliveries_removed).toBeLessThanOrEqual(events.length + 2);
    expect(await deliveryRows()).toBeLessThanOrEqual(rowsBefore - events.length + 2);
    const after = await world.state(v.conversationId);
    expect(after).toMatchObject({ customer_id: erased.body.user_id, outcome: 'resolved_by_human', csat: { rating: 4, comment: null } });
    expect(after.handoff_detail).toBeNull();
    const notes = await api('GET', `/api/support/conversations/${v.conversationId}/notes`, undefined, ann.token);
    expect(notes.body.notes ?? notes.body).toEqual([]);

    // Erasing Ann: her assignment and actions are re-attributed, her role goes.
    const annLeft = annEvents.filter((e) => !JSON.stringify(e.event).includes(v.id)).length;
    const annGone = await api('POST', `/api/privacy/users/${ann.id}/erase`);
    expect(annGone.status).toBe(200);
    expect(annGone.body.support_conversations_anonymized).toBe(1);
    expect(annGone.body.webhook_deliveries_removed).toBeGreaterThanOrEqual(annLeft);
    expect((await world.state(v.conversationId)).assignee_id).toBe(annGone.body.user_id);
    const staff = await api('GET', '/api/support/staff');
    expect(JSON.stringify(staff.body)).not.toContain(ann.id);
    const db = world.server.warbler.store.roomTables();
    expect(await db.selectFrom('support_events').select('id').where('app_id', '=', 'default').where('actor_id', '=', ann.id).execute()).toEqual([]);
  });
});
