import { describe, expect, it } from 'vitest';
import type { StoredResponseRow } from '../../store/index.ts';
import { ResponseKeeper } from './keeper.ts';

const row = (id: string, app_id = 'app'): StoredResponseRow => ({
  app_id, id, key_id: null, status: 'completed', previous_response_id: null, body: { id }, input: [], history: [], created_at: 0,
});

/** A store that records what each write carried, and refuses rows of app "gone". */
function fakeStore() {
  const stored = new Map<string, StoredResponseRow>();
  const writes: string[][] = [];
  const check = (r: StoredResponseRow) => {
    if (r.app_id === 'gone') throw new Error(`App ${r.app_id} does not exist`);
  };
  return {
    stored,
    writes,
    async putResponse(r: StoredResponseRow) {
      writes.push([r.id]);
      check(r);
      stored.set(r.id, r);
    },
    async putResponses(rows: readonly StoredResponseRow[]) {
      writes.push(rows.map((r) => r.id));
      rows.forEach(check);
      for (const r of rows) stored.set(r.id, r);
    },
  };
}

describe('stored responses written in groups', () => {
  it('writes the responses that finish in the same turn in one statement, and each put resolves once its row is stored', async () => {
    const store = fakeStore();
    const keeper = new ResponseKeeper(store);
    const puts = ['a', 'b', 'c'].map((id) => keeper.put(row(id)).then(() => store.stored.has(id)));
    expect(await Promise.all(puts)).toEqual([true, true, true]);
    expect(store.writes).toEqual([['a', 'b', 'c']]);
  });

  it('a lone response is written alone, and responses put while a write runs go in the next one', async () => {
    const store = fakeStore();
    const keeper = new ResponseKeeper(store);
    const first = keeper.put(row('a'));
    await new Promise((r) => setImmediate(r));
    const later = [keeper.put(row('b')), keeper.put(row('c'))];
    await Promise.all([first, ...later]);
    expect(store.writes).toEqual([['a'], ['b', 'c']]);
  });

  it('when one row of a group fails, the others are still stored and only its put rejects', async () => {
    const store = fakeStore();
    const keeper = new ResponseKeeper(store);
    const results = await Promise.allSettled([keeper.put(row('a')), keeper.put(row('x', 'gone')), keeper.put(row('b'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/does not exist/);
    expect([...store.stored.keys()].sort()).toEqual(['a', 'b']);
  });
});
