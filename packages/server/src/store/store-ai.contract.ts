import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreConflict, StoreNotFound, type Store } from './port.ts';
import type { AgentRow, KbChunkRow, KbDocumentRow, LedgerRow } from './port-ai.ts';

const T0 = 1_700_000_000_000;
const TWO_53 = 2n ** 53n;

/**
 * The AI half of the Store contract (agents, knowledge bases, ledger), run by
 * describeStoreContract inside its suite, so every adapter gets it on the
 * store and database the chat half uses.
 */
export function describeAiStoreContract(getStore: () => Store): void {
  const uid = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

  async function newApp() {
    const id = uid('app');
    await getStore().createApp({ id, name: id, secret_hash: 'hash', created_at: T0, updated_at: T0 });
    return id;
  }

  function agent(appId: string, id: string, extra: Partial<AgentRow> = {}): AgentRow {
    return {
      app_id: appId,
      id,
      config: { name: 'Helper', model: 'gpt-4o-mini', knowledge_base_ids: ['kb1'], trigger: { group: 'mention' }, monthly_budget_usd: null },
      created_at: T0,
      updated_at: T0,
      ...extra,
    };
  }

  function doc(appId: string, kbId: string, id: string, extra: Partial<KbDocumentRow> = {}): KbDocumentRow {
    return {
      app_id: appId,
      kb_id: kbId,
      id,
      title: `Doc ${id}`,
      source: `${id}.md`,
      format: 'markdown',
      text: '# Title\n\nBody',
      bytes: 14,
      chunk_count: 0,
      created_at: T0,
      updated_at: T0,
      ...extra,
    };
  }

  function chunksOf(d: KbDocumentRow, n: number, text = 'passage'): KbChunkRow[] {
    return Array.from({ length: n }, (_, ordinal) => ({
      app_id: d.app_id,
      kb_id: d.kb_id,
      document_id: d.id,
      id: `${d.id}#${ordinal}`,
      ordinal,
      title: d.title,
      source: d.source,
      heading_path: ordinal === 0 ? [] : ['Guide', `Step ${ordinal}`, '安装 “quoted”'],
      text: `${text} ${ordinal}`,
      tokens: 10 + ordinal,
    }));
  }

  async function newKb(appId: string, id = uid('kb')) {
    await getStore().putKnowledgeBase({ app_id: appId, id, name: 'Docs', description: 'Product docs', created_at: T0, updated_at: T0 });
    return id;
  }

  async function putDoc(appId: string, kbId: string, id: string, n: number, text?: string) {
    const d = doc(appId, kbId, id, { chunk_count: n });
    const chunks = chunksOf(d, n, text);
    await getStore().putDocument(d, chunks);
    return { doc: d, chunks };
  }

  function ledger(appId: string, extra: Partial<LedgerRow> = {}): LedgerRow {
    return {
      id: uid('led'),
      app_id: appId,
      source: 'agent',
      agent_id: null,
      key_id: null,
      user_id: null,
      conversation_id: null,
      message_id: null,
      request_id: null,
      purpose: null,
      model: 'gpt-4o-mini',
      deployment: null,
      provider: null,
      upstream_model: null,
      attempt: 1,
      prompt_tokens: 100,
      cached_tokens: 0,
      completion_tokens: 20,
      reasoning_tokens: 0,
      estimated: false,
      cost_nanos: 1_000n,
      currency: 'USD',
      price_id: null,
      ttft_ms: null,
      latency_ms: 300,
      outcome: 'ok',
      error: null,
      created_at: T0,
      ...extra,
    };
  }

  describe('agents', () => {
    it('puts, gets, lists and replaces an agent definition', async () => {
      const store = getStore();
      const app = await newApp();
      const a = agent(app, 'bot-a', { created_at: T0 + 2 });
      const b = agent(app, 'bot-b', { created_at: T0 + 1 });
      await store.putAgent(a);
      await store.putAgent(b);
      expect(await store.getAgent(app, 'bot-a')).toEqual(a);
      expect((await store.listAgents(app)).map((x) => x.id)).toEqual(['bot-b', 'bot-a']);

      const replaced = { ...a, config: { name: 'Renamed', tools: [{ name: 't', headers: {} }] }, updated_at: T0 + 9 };
      await store.putAgent(replaced);
      expect(await store.getAgent(app, 'bot-a')).toEqual(replaced);
      expect(await store.listAgents(app)).toHaveLength(2);
      expect(await store.getAgent(app, 'ghost')).toBeUndefined();
      await expect(store.putAgent(agent(uid('no_app'), 'x'))).rejects.toBeInstanceOf(StoreNotFound);
    });

    it('listAllAgents returns every app\'s agents', async () => {
      const store = getStore();
      const a = await newApp();
      const b = await newApp();
      await store.putAgent(agent(a, 'same'));
      await store.putAgent(agent(b, 'same'));
      const all = await store.listAllAgents();
      expect(all.filter((x) => x.app_id === a || x.app_id === b).map((x) => [x.app_id, x.id])).toEqual(
        [[a, 'same'], [b, 'same']].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
      );
    });

    it('deleteAgent removes the agent and its memory', async () => {
      const store = getStore();
      const app = await newApp();
      await store.putAgent(agent(app, 'bot'));
      await store.putAgentMemory({ app_id: app, agent_id: 'bot', conversation_id: 'c1', summary: 's', summary_seq: 3, reset_seq: 0, updated_at: T0 });
      expect(await store.deleteAgent(app, 'bot')).toBe(true);
      expect(await store.deleteAgent(app, 'bot')).toBe(false);
      expect(await store.getAgent(app, 'bot')).toBeUndefined();
      // A new agent with the same id starts without the old one's memory.
      await store.putAgent(agent(app, 'bot'));
      expect(await store.getAgentMemory(app, 'bot', 'c1')).toBeUndefined();
    });
  });

  describe('agent memory', () => {
    it('is per conversation, upserted, and survives a redefinition of the agent', async () => {
      const store = getStore();
      const app = await newApp();
      await store.putAgent(agent(app, 'bot'));
      expect(await store.getAgentMemory(app, 'bot', 'c1')).toBeUndefined();

      const first = { app_id: app, agent_id: 'bot', conversation_id: 'c1', summary: '', summary_seq: 0, reset_seq: 0, updated_at: T0 };
      await store.putAgentMemory(first);
      expect(await store.getAgentMemory(app, 'bot', 'c1')).toEqual(first);

      const later = { ...first, summary: 'User asked about refunds; 总结', summary_seq: 42, reset_seq: 17, updated_at: T0 + 5 };
      await store.putAgentMemory(later);
      await store.putAgentMemory({ ...first, conversation_id: 'c2', summary: 'other' });
      expect(await store.getAgentMemory(app, 'bot', 'c1')).toEqual(later);
      expect(await store.getAgentMemory(app, 'bot', 'c2')).toMatchObject({ summary: 'other' });

      await store.putAgent(agent(app, 'bot', { config: { name: 'v2' }, updated_at: T0 + 6 }));
      expect(await store.getAgentMemory(app, 'bot', 'c1')).toEqual(later);
    });

    it('needs the agent to exist', async () => {
      const store = getStore();
      const app = await newApp();
      await expect(
        store.putAgentMemory({ app_id: app, agent_id: 'ghost', conversation_id: 'c', summary: '', summary_seq: 0, reset_seq: 0, updated_at: T0 }),
      ).rejects.toBeInstanceOf(StoreNotFound);
    });
  });

  describe('knowledge bases', () => {
    it('puts, gets, lists and replaces knowledge bases', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = { app_id: app, id: 'kb1', name: 'Docs', description: '', created_at: T0 + 1, updated_at: T0 + 1 };
      await store.putKnowledgeBase(kb);
      await store.putKnowledgeBase({ ...kb, id: 'kb0', created_at: T0 + 2 });
      expect(await store.getKnowledgeBase(app, 'kb1')).toEqual(kb);
      await store.putKnowledgeBase({ ...kb, name: 'Handbook', description: 'All of it', updated_at: T0 + 3 });
      expect(await store.getKnowledgeBase(app, 'kb1')).toMatchObject({ name: 'Handbook', description: 'All of it', updated_at: T0 + 3 });
      expect((await store.listKnowledgeBases(app)).map((k) => k.id)).toEqual(['kb1', 'kb0']);
      expect(await store.getKnowledgeBase(app, 'ghost')).toBeUndefined();
      await expect(store.putKnowledgeBase({ ...kb, app_id: uid('no_app') })).rejects.toBeInstanceOf(StoreNotFound);
    });

    it('stores a document with its chunks, round-tripping heading paths', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = await newKb(app);
      const { doc: d, chunks } = await putDoc(app, kb, 'd1', 3);
      expect(await store.getDocument(app, 'd1')).toEqual(d);
      expect(await store.listChunks(app, 'd1')).toEqual(chunks);
      expect(typeof (await store.getDocument(app, 'd1'))?.bytes).toBe('number');

      await putDoc(app, kb, 'd0', 1);
      expect((await store.listDocuments(app, kb)).map((x) => x.id)).toEqual(['d0', 'd1']);
      expect(await store.getDocument(app, 'ghost')).toBeUndefined();
      expect(await store.listChunks(app, 'ghost')).toEqual([]);
    });

    it('putDocument replaces the document and drops its old chunks', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = await newKb(app);
      await putDoc(app, kb, 'd1', 5, 'old');
      await putDoc(app, kb, 'other', 2);
      const replaced = doc(app, kb, 'd1', { title: 'New title', text: 'new', bytes: 3, chunk_count: 2, updated_at: T0 + 1 });
      const fresh = chunksOf(replaced, 2, 'new');
      await store.putDocument(replaced, fresh);
      expect(await store.getDocument(app, 'd1')).toEqual(replaced);
      expect(await store.listChunks(app, 'd1')).toEqual(fresh);
      expect(await store.listChunks(app, 'other')).toHaveLength(2);

      // A document with no chunks left (emptied) keeps its row.
      await store.putDocument({ ...replaced, chunk_count: 0 }, []);
      expect(await store.listChunks(app, 'd1')).toEqual([]);
      expect(await store.getDocument(app, 'd1')).toMatchObject({ chunk_count: 0 });
    });

    it('putDocument is one transaction: a failing chunk leaves the old document and chunks in place', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = await newKb(app);
      const { doc: old, chunks: oldChunks } = await putDoc(app, kb, 'd1', 3, 'old');
      const { chunks: otherChunks } = await putDoc(app, kb, 'd2', 1);
      const next = doc(app, kb, 'd1', { title: 'Half written', chunk_count: 2 });
      // The second chunk takes an id that belongs to d2.
      const clash = [...chunksOf(next, 1, 'new'), { ...chunksOf(next, 2)[1]!, id: otherChunks[0]!.id }];
      await expect(store.putDocument(next, clash)).rejects.toBeInstanceOf(StoreConflict);
      expect(await store.getDocument(app, 'd1')).toEqual(old);
      expect(await store.listChunks(app, 'd1')).toEqual(oldChunks);
    });

    it('putDocument needs the knowledge base, and chunks of that very document', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = await newKb(app);
      const orphan = doc(app, uid('kb'), 'd1');
      await expect(store.putDocument(orphan, chunksOf(orphan, 1))).rejects.toBeInstanceOf(StoreNotFound);
      expect(await store.getDocument(app, 'd1')).toBeUndefined();
      const d = doc(app, kb, 'd1');
      await expect(store.putDocument(d, [{ ...chunksOf(d, 1)[0]!, document_id: 'd2' }])).rejects.toThrow(/does not belong/);
      await expect(store.putDocument(d, [{ ...chunksOf(d, 1)[0]!, kb_id: 'elsewhere' }])).rejects.toThrow(/does not belong/);
      expect(await store.getDocument(app, 'd1')).toBeUndefined();
    });

    it('a document of many chunks (several insert batches) is stored whole', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = await newKb(app);
      await putDoc(app, kb, 'big', 750);
      const stored = await store.listChunks(app, 'big');
      expect(stored.map((c) => c.ordinal)).toEqual(Array.from({ length: 750 }, (_, i) => i));
    });

    it('deleteDocument removes the document and its chunks', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = await newKb(app);
      await putDoc(app, kb, 'd1', 3);
      await putDoc(app, kb, 'd2', 2);
      expect(await store.deleteDocument(app, 'd1')).toBe(true);
      expect(await store.deleteDocument(app, 'd1')).toBe(false);
      expect(await store.getDocument(app, 'd1')).toBeUndefined();
      expect(await store.listChunks(app, 'd1')).toEqual([]);
      expect(await store.listChunks(app, 'd2')).toHaveLength(2);
      expect((await store.listDocuments(app, kb)).map((x) => x.id)).toEqual(['d2']);
    });

    it('deleteKnowledgeBase removes its documents and chunks, and only its own', async () => {
      const store = getStore();
      const app = await newApp();
      const kb = await newKb(app);
      const keep = await newKb(app);
      await putDoc(app, kb, 'd1', 3);
      await putDoc(app, kb, 'd2', 2);
      await putDoc(app, keep, 'k1', 2);
      expect(await store.deleteKnowledgeBase(app, kb)).toBe(true);
      expect(await store.deleteKnowledgeBase(app, kb)).toBe(false);
      expect(await store.getKnowledgeBase(app, kb)).toBeUndefined();
      expect(await store.listDocuments(app, kb)).toEqual([]);
      expect(await store.getDocument(app, 'd1')).toBeUndefined();
      expect(await store.listChunks(app, 'd1')).toEqual([]);
      expect(await store.listChunks(app, 'd2')).toEqual([]);
      expect(await store.listChunks(app, 'k1')).toHaveLength(2);
      expect(await store.getKnowledgeBase(app, keep)).toBeDefined();
      // Its ids are free again.
      await newKb(app, kb);
      await putDoc(app, kb, 'd1', 1);
      expect(await store.listChunks(app, 'd1')).toHaveLength(1);
    });
  });

  describe('scanChunks', () => {
    async function scanAll(limit: number): Promise<{ pages: KbChunkRow[][]; rows: KbChunkRow[] }> {
      const pages: KbChunkRow[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await getStore().scanChunks({ limit, ...(after !== undefined && { after }) });
        pages.push(page);
        if (page.length < limit) break;
        after = page[page.length - 1]!.id;
      }
      return { pages, rows: pages.flat() };
    }

    it('visits every chunk of every app exactly once, whatever the page size', async () => {
      const a = await newApp();
      const b = await newApp();
      const kbA = await newKb(a);
      const kbB = await newKb(b);
      // Equal document (so chunk) ids in both apps: the scan must not lose one of a tied pair at a page edge.
      const mine = [
        ...(await putDoc(a, kbA, 'shared', 4)).chunks,
        ...(await putDoc(b, kbB, 'shared', 4)).chunks,
        ...(await putDoc(a, kbA, uid('doc'), 3)).chunks,
        ...(await putDoc(b, kbB, uid('doc'), 5)).chunks,
      ];
      const key = (c: KbChunkRow) => `${c.app_id}\u0000${c.id}`;
      const total = (await scanAll(1_000_000)).rows.length;
      const single = await scanAll(1);
      for (const limit of [1, 3, 7, 1000]) {
        const { rows } = limit === 1 ? single : await scanAll(limit);
        const keys = rows.map(key);
        expect(new Set(keys).size).toBe(keys.length);
        expect(rows).toHaveLength(total);
        const byKey = new Map(rows.map((c) => [key(c), c]));
        for (const chunk of mine) expect(byKey.get(key(chunk))).toEqual(chunk);
      }
      // With one row per page, a tied id comes with its twin from the other app.
      const tied = single.pages.find((p) => p[0]?.id === 'shared#0');
      expect(tied?.map((c) => c.app_id).filter((x) => x === a || x === b).sort()).toEqual([a, b].sort());
    });

    it('pages after the last id are empty; a zero limit returns nothing', async () => {
      const store = getStore();
      expect(await store.scanChunks({ after: '\u{10FFFF}', limit: 10 })).toEqual([]);
      expect(await store.scanChunks({ limit: 0 })).toEqual([]);
    });
  });

  describe('ledger', () => {
    it('round-trips every column, with cost_nanos exact past 2^53', async () => {
      const store = getStore();
      const app = await newApp();
      const full = ledger(app, {
        source: 'gateway',
        agent_id: 'bot',
        key_id: 'key1',
        user_id: 'u1',
        conversation_id: 'c1',
        message_id: 'm1',
        request_id: 'req1',
        purpose: 'summary',
        deployment: 'dep',
        provider: 'openai',
        upstream_model: 'gpt-4o-mini-2024-07-18',
        attempt: 2,
        prompt_tokens: 1234,
        cached_tokens: 1000,
        completion_tokens: 56,
        reasoning_tokens: 7,
        estimated: true,
        cost_nanos: TWO_53 + 1n,
        currency: 'CNY',
        price_id: 'price1',
        ttft_ms: 120,
        latency_ms: 2345,
        outcome: 'error',
        error: 'upstream 500',
        created_at: T0 + 1,
        billed_unit: 'second',
        billed_units: 3600,
      });
      const max = ledger(app, { cost_nanos: 2n ** 63n - 1n, created_at: T0 });
      await store.appendLedger([full, max]);
      await store.appendLedger([]);
      const rows = await store.listLedger(app, { limit: 10 });
      // A token-billed row has no unit fields; an audio call's seconds come back as written.
      expect(rows).toEqual([full, max]);
      expect(typeof rows[0]!.cost_nanos).toBe('bigint');
      expect(typeof rows[0]!.created_at).toBe('number');
    });

    it('sums cost exactly in bigint, per currency', async () => {
      const store = getStore();
      const app = await newApp();
      // 2^54 + 2 is not a double: any trip through a JS number would round it.
      await store.appendLedger([
        ledger(app, { cost_nanos: TWO_53 }),
        ledger(app, { cost_nanos: TWO_53 + 1n }),
        ledger(app, { cost_nanos: 1n }),
        ledger(app, { cost_nanos: 7n, currency: 'CNY' }),
        ledger(app, { cost_nanos: 0n, currency: 'EUR' }),
      ]);
      expect(await store.sumLedgerCost(app, { since: 0 })).toEqual([
        { currency: 'CNY', nanos: 7n },
        { currency: 'EUR', nanos: 0n },
        { currency: 'USD', nanos: 2n ** 54n + 2n },
      ]);
      expect(await store.sumLedgerCost(await newApp(), { since: 0 })).toEqual([]);
    });

    it('filters sums by agent, key and time window [since, until)', async () => {
      const store = getStore();
      const app = await newApp();
      await store.appendLedger([
        ledger(app, { agent_id: 'a1', cost_nanos: 1n, created_at: T0 }),
        ledger(app, { agent_id: 'a1', cost_nanos: 2n, created_at: T0 + 10 }),
        ledger(app, { agent_id: 'a2', cost_nanos: 4n, created_at: T0 + 10 }),
        ledger(app, { source: 'gateway', key_id: 'k1', cost_nanos: 8n, created_at: T0 + 20 }),
        ledger(app, { source: 'gateway', key_id: 'k2', cost_nanos: 16n, created_at: T0 + 30 }),
        ledger(app, { source: 'gateway', key_id: 'k1', cost_nanos: 32n, created_at: T0 + 40, currency: 'CNY' }),
      ]);
      const usd = async (filter: Parameters<Store['sumLedgerCost']>[1]) =>
        (await store.sumLedgerCost(app, filter)).find((r) => r.currency === 'USD')?.nanos ?? 0n;
      expect(await usd({ since: T0 })).toBe(31n);
      expect(await usd({ since: T0, agent_id: 'a1' })).toBe(3n);
      expect(await usd({ since: T0 + 10, agent_id: 'a1' })).toBe(2n);
      expect(await usd({ since: T0, key_id: 'k1' })).toBe(8n);
      expect(await store.sumLedgerCost(app, { since: T0, key_id: 'k1' })).toEqual([
        { currency: 'CNY', nanos: 32n },
        { currency: 'USD', nanos: 8n },
      ]);
      expect(await usd({ since: T0 + 10, until: T0 + 30 })).toBe(14n);
      expect(await usd({ since: T0, until: T0 })).toBe(0n);
      expect(await usd({ since: T0 + 31 })).toBe(0n);
      expect(await usd({ since: T0, agent_id: 'a1', key_id: 'k1' })).toBe(0n);
    });

    it('lists newest first by (created_at, id), paging with before, with filters', async () => {
      const store = getStore();
      const app = await newApp();
      // Equal created_at values prove the id tie-break keeps pages from skipping or repeating.
      const rows = [
        ledger(app, { id: 'r1', created_at: T0, agent_id: 'a1' }),
        ledger(app, { id: 'r2', created_at: T0 + 5, agent_id: 'a1', model: 'deepseek-chat' }),
        ledger(app, { id: 'r3', created_at: T0 + 5, key_id: 'k1', source: 'gateway' }),
        ledger(app, { id: 'r4', created_at: T0 + 5, agent_id: 'a2' }),
        ledger(app, { id: 'r5', created_at: T0 + 9, key_id: 'k1', source: 'gateway' }),
        ledger(app, { id: 'r0', created_at: T0 + 9, agent_id: 'a1' }),
      ];
      await store.appendLedger(rows);
      const ids = (list: LedgerRow[]) => list.map((r) => r.id);
      expect(ids(await store.listLedger(app, { limit: 10 }))).toEqual(['r5', 'r0', 'r4', 'r3', 'r2', 'r1']);

      for (const limit of [1, 2, 4]) {
        const seen: string[] = [];
        let before: { created_at: number; id: string } | undefined;
        for (;;) {
          const page = await store.listLedger(app, { limit, ...(before && { before }) });
          seen.push(...ids(page));
          if (page.length < limit) break;
          const last = page[page.length - 1]!;
          before = { created_at: last.created_at, id: last.id };
        }
        expect(seen).toEqual(['r5', 'r0', 'r4', 'r3', 'r2', 'r1']);
      }

      expect(ids(await store.listLedger(app, { limit: 10, agent_id: 'a1' }))).toEqual(['r0', 'r2', 'r1']);
      expect(ids(await store.listLedger(app, { limit: 10, key_id: 'k1' }))).toEqual(['r5', 'r3']);
      expect(ids(await store.listLedger(app, { limit: 10, model: 'deepseek-chat' }))).toEqual(['r2']);
      expect(ids(await store.listLedger(app, { limit: 10, since: T0 + 5, until: T0 + 9 }))).toEqual(['r4', 'r3', 'r2']);
      expect(ids(await store.listLedger(app, { limit: 10, agent_id: 'a1', before: { created_at: T0 + 5, id: 'r4' } }))).toEqual(['r2', 'r1']);
      expect(await store.listLedger(app, { limit: 0 })).toEqual([]);
    });

    it('a call\'s settled row replaces its open (pending) row; in-flight rows are listed across apps and left out of sums', async () => {
      const store = getStore();
      const app = await newApp();
      const other = await newApp();
      const open = ledger(app, { id: 'call', outcome: 'pending', estimated: true, prompt_tokens: 40, completion_tokens: 1024, cost_nanos: 700n, created_at: T0 });
      const elsewhere = ledger(other, { id: 'call2', outcome: 'pending', cost_nanos: 5n, created_at: T0 + 1 });
      await store.appendLedger([open, ledger(app, { id: 'done', cost_nanos: 3n, created_at: T0 })]);
      await store.appendLedger([elsewhere]);
      expect((await store.listInFlightLedger(10)).map((r) => [r.app_id, r.id])).toEqual([[app, 'call'], [other, 'call2']]);
      expect(await store.sumLedgerCost(app, { since: 0 })).toEqual([{ currency: 'USD', nanos: 3n }]);

      const settled = ledger(app, { id: 'call', outcome: 'ok', estimated: false, prompt_tokens: 12, completion_tokens: 5, cost_nanos: 9n, created_at: T0 + 50 });
      await store.appendLedger([settled]);
      expect((await store.listLedger(app, { limit: 10 })).find((r) => r.id === 'call')).toEqual(settled);
      expect(await store.sumLedgerCost(app, { since: 0 })).toEqual([{ currency: 'USD', nanos: 12n }]);
      expect((await store.listInFlightLedger(10)).map((r) => r.id)).toEqual(['call2']);
      // Settled is final: writing the id again is a conflict, as for any other row.
      await expect(store.appendLedger([{ ...settled, cost_nanos: 1n }])).rejects.toBeInstanceOf(StoreConflict);
      // A row settled as interrupted (by another node's start-up) still gives way to the call's own settlement.
      await store.appendLedger([{ ...elsewhere, outcome: 'interrupted' }]);
      await store.appendLedger([{ ...elsewhere, outcome: 'ok', cost_nanos: 4n }]);
      expect(await store.sumLedgerCost(other, { since: 0 })).toEqual([{ currency: 'USD', nanos: 4n }]);
    });

    it('ids are unique per app; a failing append writes none of its rows', async () => {
      const store = getStore();
      const app = await newApp();
      const other = await newApp();
      const row = ledger(app, { id: 'same' });
      await store.appendLedger([row]);
      await expect(store.appendLedger([ledger(app, { id: 'fresh' }), ledger(app, { id: 'same' })])).rejects.toBeInstanceOf(StoreConflict);
      await store.appendLedger([ledger(other, { id: 'same' })]);
      expect((await store.listLedger(app, { limit: 10 })).map((r) => r.id)).toEqual(['same']);

      // More rows than one INSERT takes: the batches commit together or not at all.
      const many = Array.from({ length: 450 }, (_, i) => ledger(app, { id: `bulk${i}`, created_at: T0 + i }));
      await expect(store.appendLedger([...many, ledger(app, { id: 'same' })])).rejects.toBeInstanceOf(StoreConflict);
      expect(await store.listLedger(app, { limit: 1000 })).toHaveLength(1);
      await store.appendLedger(many);
      expect(await store.listLedger(app, { limit: 1000 })).toHaveLength(451);
      expect(await store.sumLedgerCost(app, { since: 0 })).toEqual([{ currency: 'USD', nanos: 451_000n }]);

      await expect(store.appendLedger([ledger(uid('no_app'))])).rejects.toBeInstanceOf(StoreNotFound);
    });
  });

  describe('tenant isolation (AI tables)', () => {
    it('app B cannot read, change or delete app A\'s agents, memory, knowledge, chunks or ledger', async () => {
      const store = getStore();
      const a = await newApp();
      const b = await newApp();
      await store.putAgent(agent(a, 'bot'));
      const memory = { app_id: a, agent_id: 'bot', conversation_id: 'c1', summary: 'secret', summary_seq: 1, reset_seq: 0, updated_at: T0 };
      await store.putAgentMemory(memory);
      await newKb(a, 'kb');
      const { doc: d, chunks } = await putDoc(a, 'kb', 'doc', 2, 'confidential');
      await store.appendLedger([ledger(a, { id: 'l1', agent_id: 'bot', key_id: 'k', cost_nanos: 5n })]);

      expect(await store.getAgent(b, 'bot')).toBeUndefined();
      expect(await store.listAgents(b)).toEqual([]);
      expect(await store.getAgentMemory(b, 'bot', 'c1')).toBeUndefined();
      expect(await store.getKnowledgeBase(b, 'kb')).toBeUndefined();
      expect(await store.listKnowledgeBases(b)).toEqual([]);
      expect(await store.listDocuments(b, 'kb')).toEqual([]);
      expect(await store.getDocument(b, 'doc')).toBeUndefined();
      expect(await store.listChunks(b, 'doc')).toEqual([]);
      expect(await store.listLedger(b, { limit: 10 })).toEqual([]);
      expect(await store.listLedger(b, { limit: 10, agent_id: 'bot' })).toEqual([]);
      expect(await store.sumLedgerCost(b, { since: 0 })).toEqual([]);
      expect(await store.sumLedgerCost(b, { since: 0, key_id: 'k' })).toEqual([]);

      expect(await store.deleteAgent(b, 'bot')).toBe(false);
      expect(await store.deleteDocument(b, 'doc')).toBe(false);
      expect(await store.deleteKnowledgeBase(b, 'kb')).toBe(false);
      // B's rows under A's ids are B's own; A's agent and knowledge base are not B's parents.
      await expect(store.putAgentMemory({ ...memory, app_id: b })).rejects.toBeInstanceOf(StoreNotFound);
      const intruder = doc(b, 'kb', 'doc');
      await expect(store.putDocument(intruder, chunksOf(intruder, 1))).rejects.toBeInstanceOf(StoreNotFound);
      await store.putAgent(agent(b, 'bot', { config: { name: 'B bot' } }));
      await store.putAgentMemory({ ...memory, app_id: b, summary: 'B memory' });
      await newKb(b, 'kb');
      await putDoc(b, 'kb', 'doc', 1, 'B text');
      await store.appendLedger([ledger(b, { id: 'l1', cost_nanos: 100n })]);
      expect(await store.deleteDocument(b, 'doc')).toBe(true);
      expect(await store.deleteKnowledgeBase(b, 'kb')).toBe(true);
      expect(await store.deleteAgent(b, 'bot')).toBe(true);

      expect(await store.getAgent(a, 'bot')).toEqual(agent(a, 'bot'));
      expect(await store.getAgentMemory(a, 'bot', 'c1')).toEqual(memory);
      expect(await store.getDocument(a, 'doc')).toEqual(d);
      expect(await store.listChunks(a, 'doc')).toEqual(chunks);
      expect((await store.listDocuments(a, 'kb')).map((x) => x.id)).toEqual(['doc']);
      expect(await store.listLedger(a, { limit: 10 })).toEqual([ledger(a, { id: 'l1', agent_id: 'bot', key_id: 'k', cost_nanos: 5n })]);
      expect(await store.sumLedgerCost(a, { since: 0 })).toEqual([{ currency: 'USD', nanos: 5n }]);
    });
  });
}
