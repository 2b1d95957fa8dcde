import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/index.ts';
import { MAX_ROWS_PER_WRITE, MessageTermsStore } from './search-store.ts';

// Index changes are group-committed (many messages per transaction): each
// call still resolves only once its own change is stored, and a message's
// last change is the one that holds.
describe('MessageTermsStore group commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warbler-search-store-'));
  const store = openSqliteStore(join(dir, 'search.db'));
  const terms = new MessageTermsStore(store.roomTables());
  const inConversation = (words: string[]) => terms.find('app', words, { conversationId: 'c1' }, { limit: 500 });

  beforeAll(() => store.migrate());
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores 200 messages indexed at once, each findable when its call resolves', async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => terms.replace('app', `m${String(i).padStart(3, '0')}`, 'c1', ['shared', `only${i}`])));
    expect(await inConversation(['shared'])).toHaveLength(200);
    expect(await inConversation(['only7'])).toEqual([{ message_id: 'm007', conversation_id: 'c1' }]);
  });

  it('writes a large group in several transactions and lets the event loop turn between them (sockets are not paused for all of it)', async () => {
    const perMessage = 1000;
    const messages = Math.ceil((5 * MAX_ROWS_PER_WRITE) / perMessage);
    let turns = 0;
    let counting = true;
    const turn = () => {
      turns++;
      if (counting) setImmediate(turn);
    };
    setImmediate(turn);
    await Promise.all(Array.from({ length: messages }, (_, i) => terms.replace('app', `big${i}`, 'c3', Array.from({ length: perMessage }, (_, t) => `t${i}x${t}`))));
    counting = false;
    // One transaction for all of it would let the loop turn about twice; a group per ~MAX_ROWS_PER_WRITE rows turns it at least that many times.
    expect(turns).toBeGreaterThanOrEqual(5);
    for (const i of [0, messages - 1]) expect(await terms.find('app', [`t${i}x999`], { conversationId: 'c3' }, { limit: 5 })).toEqual([{ message_id: `big${i}`, conversation_id: 'c3' }]);
  });

  it('stores a message of many terms whole, whatever its count of rows (inserts go in fixed sizes)', async () => {
    const words = Array.from({ length: 293 }, (_, i) => `w${i}`);
    await terms.replace('app', 'long', 'c2', [...words, 'w0']);
    const found = (word: string) => terms.find('app', [word], { conversationId: 'c2' }, { limit: 10 });
    for (const word of ['w0', 'w255', 'w256', 'w287', 'w288', 'w291', 'w292']) expect(await found(word)).toEqual([{ message_id: 'long', conversation_id: 'c2' }]);
    expect(await found('w293')).toEqual([]);
  });

  it('keeps the last change of a message made in the same turn, and later changes replace earlier ones', async () => {
    const first = terms.replace('app', 'x1', 'c1', ['draft']);
    const second = terms.replace('app', 'x1', 'c1', ['final']);
    const gone = terms.replace('app', 'x2', 'c1', ['draft']);
    const removed = terms.remove('app', 'x2', 'c1');
    await Promise.all([first, second, gone, removed]);
    expect(await inConversation(['draft'])).toEqual([]);
    expect(await inConversation(['final'])).toEqual([{ message_id: 'x1', conversation_id: 'c1' }]);
    await terms.replace('app', 'x1', 'c1', ['edited']);
    expect(await inConversation(['final'])).toEqual([]);
    expect(await inConversation(['edited'])).toEqual([{ message_id: 'x1', conversation_id: 'c1' }]);
  });

  it('indexes a new message without looking for old rows, and its edit still replaces them', async () => {
    await terms.replace('app', 'n1', 'c1', ['newborn'], { fresh: true });
    expect(await inConversation(['newborn'])).toEqual([{ message_id: 'n1', conversation_id: 'c1' }]);
    await terms.replace('app', 'n1', 'c1', ['grown']);
    expect(await inConversation(['newborn'])).toEqual([]);
    // A change that must delete old rows, superseded in the same turn by one marked fresh: the delete still happens.
    const edit = terms.replace('app', 'n1', 'c1', ['again']);
    const fresh = terms.replace('app', 'n1', 'c1', ['last'], { fresh: true });
    await Promise.all([edit, fresh]);
    expect(await inConversation(['grown'])).toEqual([]);
    expect(await inConversation(['last'])).toEqual([{ message_id: 'n1', conversation_id: 'c1' }]);
  });
});
