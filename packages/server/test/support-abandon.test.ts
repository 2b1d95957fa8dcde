// Issue 11: a support conversation whose customer went silent is closed as
// `abandoned` by a sweeper (once, whichever node sweeps), and a support change
// commits in the same transaction as its webhook outbox rows: a store that
// fails on either write leaves neither.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/events/index.ts';
import { storeKinds } from './harness.ts';
import { eventually, supportWorld, type SupportWorld, type Visitor } from './support-kit.ts';

const HOUR = 3_600_000;

describe.each(storeKinds())('support: abandoned conversations and the outbox in the same transaction, on %s', (kind) => {
  let world: SupportWorld;
  let rep: string;
  let dir: string;
  let db: Kysely<any>;
  const heard: DomainEvent[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'warbler-abandon-'));
    const config = path.join(dir, 'warbler.yaml');
    // A receiver that is never there: these tests read the outbox rows, not deliveries.
    await writeFile(config, 'outbound:\n  allow_hosts: ["127.0.0.1:9"]\n  allow_http_hosts: ["127.0.0.1:9"]\n');
    world = await supportWorld(kind, { WARBLER_CONFIG: config });
    rep = await world.agent('Rep');
    db = world.server.warbler.store.roomTables();
    world.server.warbler.events.on((e) => void heard.push(e));
    const endpoint = await world.server.api('POST', '/api/webhooks/endpoints', {
      url: 'http://127.0.0.1:9/hook', event_types: ['conversation.handoff', 'conversation.resolved'],
    });
    expect(endpoint.status).toBe(201);
  });
  afterAll(async () => {
    await world?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const support = () => world.server.warbler.support;
  const resolvedEvents = (conversationId: string) => heard.filter((e) => e.type === 'conversation.resolved' && e.data.conversation_id === conversationId);
  const outboxRows = async (type: string, since: number) =>
    Number((await db.selectFrom('webhook_deliveries').select(sql<string>`count(*)`.as('n')).where('app_id', '=', 'default')
      .where('event_type', '=', type).where('created_at', '>=', since).executeTakeFirstOrThrow()).n);

  async function answered(v: Visitor, text: string): Promise<void> {
    await world.say(v, text);
    // The AI's answer is recorded as the last response: the customer is now the one who went quiet.
    await eventually(async () => ((await world.state(v.conversationId)).first_response_ms !== null ? true : undefined));
  }

  it('closes as abandoned, once, a conversation whose customer went silent past the configured time; not one waiting for a person', async () => {
    const talked = await world.visit(rep);
    await answered(talked, 'Where is my parcel?');
    const silent = await world.visit(rep);
    const waiting = await world.visit(rep, 'zh-CN');
    await world.say(waiting, '转人工');
    await world.until(waiting.conversationId, 'pending_human');
    const t0 = Date.now();

    // 23 hours on: nobody has been quiet for a day yet (the default is 24 h).
    expect(await support().sweepAbandoned(t0 + 23 * HOUR)).toBe(0);
    expect((await world.state(talked.conversationId)).status).toBe('bot');

    const later = t0 + 25 * HOUR;
    // Two sweeps at once (as two nodes would): each conversation changes and is announced once.
    const [a, b] = await Promise.all([support().sweepAbandoned(later), support().sweepAbandoned(later)]);
    expect(a + b).toBeGreaterThanOrEqual(2);
    for (const v of [talked, silent]) {
      expect(await world.state(v.conversationId)).toMatchObject({ status: 'closed', outcome: 'abandoned' });
      expect(resolvedEvents(v.conversationId).map((e) => e.data)).toEqual([
        { conversation_id: v.conversationId, status: 'closed', outcome: 'abandoned', assignee_id: null },
      ]);
    }
    // A customer waiting for a person has not gone silent: we have.
    expect((await world.state(waiting.conversationId)).status).toBe('pending_human');
    expect(resolvedEvents(waiting.conversationId)).toEqual([]);
    expect(await support().sweepAbandoned(later)).toBe(0);

    // A closed conversation stays closed: the visitor's next visit starts a new one.
    const next = await world.server.api('POST', '/api/support/conversations', { agent_id: rep }, talked.token);
    expect(next.status).toBe(201);
    expect(next.body.conversation.conversation_id).not.toBe(talked.conversationId);
  });

  it('sweeps on the one node holding the lease', async () => {
    const v = await world.visit(rep);
    const later = Date.now() + 48 * HOUR;
    expect(await support().sweepOnce('node-a', 60_000, later)).toBeGreaterThanOrEqual(1);
    // Node B finds the lease held by A and does nothing.
    expect(await support().sweepOnce('node-b', 60_000, later)).toBeUndefined();
    expect((await world.state(v.conversationId)).outcome).toBe('abandoned');
    expect(resolvedEvents(v.conversationId)).toHaveLength(1);
  });

  it('commits a handoff and its outbox row together: a store failing on either write keeps neither', async () => {
    const v = await world.visit(rep);
    const since = Date.now();
    const handoff = () => world.server.api('POST', `/api/support/conversations/${v.conversationId}/handoff`, {}, v.token);
    const supportEvents = async () => (await db.selectFrom('support_events').select('type').where('app_id', '=', 'default')
      .where('conversation_id', '=', v.conversationId).execute()).map((r) => r.type);

    for (const table of ['webhook_deliveries', 'support_events']) {
      await failInserts(db, kind, table);
      const refused = await handoff();
      expect(refused.status).toBeGreaterThanOrEqual(500);
      expect(JSON.stringify(refused.body)).not.toContain('injected');
      await healInserts(db, kind, table);
      // Neither the change nor its announcement happened.
      expect((await world.state(v.conversationId)).status).toBe('bot');
      expect(await supportEvents()).toEqual([]);
      expect(await outboxRows('conversation.handoff', since)).toBe(0);
      expect(heard.filter((e) => e.type === 'conversation.handoff' && e.data.conversation_id === v.conversationId)).toEqual([]);
    }

    const ok = await handoff();
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('pending_human');
    expect(await supportEvents()).toEqual(['handoff']);
    expect(await outboxRows('conversation.handoff', since)).toBe(1);
    expect(heard.filter((e) => e.type === 'conversation.handoff' && e.data.conversation_id === v.conversationId)).toHaveLength(1);
  });
});

/** A failing store, injected in the database itself: every insert into `table` is refused until healInserts. */
async function failInserts(db: Kysely<any>, kind: string, table: string): Promise<void> {
  if (kind === 'sqlite') {
    await sql.raw(`create trigger fail_${table} before insert on ${table} begin select raise(abort, 'injected failure'); end`).execute(db);
  } else {
    await sql.raw(`create or replace function fail_insert() returns trigger as $$ begin raise exception 'injected failure'; end $$ language plpgsql`).execute(db);
    await sql.raw(`create trigger fail_${table} before insert on ${table} for each row execute function fail_insert()`).execute(db);
  }
}

async function healInserts(db: Kysely<any>, kind: string, table: string): Promise<void> {
  await sql.raw(kind === 'sqlite' ? `drop trigger fail_${table}` : `drop trigger fail_${table} on ${table}`).execute(db);
}
