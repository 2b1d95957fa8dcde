// Encryption at rest on the store's own paths, without the network: the same
// appends (group-committed, 100 in flight like a busy fan-out) and history
// reads on two SQLite stores in this one process, one sealing and one not,
// in alternating rounds so a busy machine slows both alike. Prints one JSON
// line: time per 1,000 messages each way, and the ratios (sealed / plain).
//   npm run -s bench:at-rest     (AT_REST_ROUNDS, AT_REST_MESSAGES)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAtRest } from '../packages/server/src/at-rest/index.ts';
import { openSqliteStore, type Store } from '../packages/server/src/store/index.ts';
import { envNumber, log } from './lib/util.ts';

const ROUNDS = envNumber('AT_REST_ROUNDS', 6);
const MESSAGES = envNumber('AT_REST_MESSAGES', 5_000);
const IN_FLIGHT = 100;

async function open(sealed: boolean): Promise<{ store: Store; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'warbler-at-rest-bench-'));
  const store = openSqliteStore(join(dir, 'warbler.db'));
  await store.migrate();
  const atRest = await openAtRest({ db: store.roomTables(), dataDir: dir, filesDir: join(dir, 'files'), key: 'bench-encryption-key-0123456789abcdef', enabled: sealed, warn: () => {}, onError: () => {} });
  store.useSealer(atRest.rows);
  const now = Date.now();
  await store.createApp({ id: 'bench', name: 'bench', secret_hash: 'x', created_at: now, updated_at: now });
  for (const id of ['ann', 'ben']) await store.createUser({ id, app_id: 'bench', kind: 'human', name: id, avatar_url: null, metadata: {}, created_at: now });
  await store.createConversation(
    { id: 'c1', app_id: 'bench', kind: 'group', title: null, direct_key: null, created_by: 'ann', created_at: now },
    [{ user_id: 'ann', role: 'owner', joined_at: now }, { user_id: 'ben', role: 'member', joined_at: now }],
  );
  return { store, dir };
}

let n = 0;
async function appendRound(store: Store): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i += IN_FLIGHT) {
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => {
      const k = ++n;
      return store.appendMessage({
        id: `msg_${k}`, app_id: 'bench', conversation_id: 'c1', sender_id: 'ann', client_msg_id: `c${k}`, type: 'text',
        content: { text: `${k} ${performance.now()} a message of ordinary length, about as long as a chat line is` }, state: 'complete', created_at: Date.now(),
      });
    }));
  }
  return ((performance.now() - started) / MESSAGES) * 1000;
}

async function readRound(store: Store): Promise<number> {
  const started = performance.now();
  let read = 0;
  for (let after = 0; read < MESSAGES; ) {
    const page = await store.listMessages('bench', 'c1', { after, limit: 100 });
    read += page.messages.length;
    after = page.messages.at(-1)!.seq;
  }
  return ((performance.now() - started) / read) * 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round2 = (x: number) => Math.round(x * 100) / 100;

const plain = await open(false);
const sealed = await open(true);
const figures = { plain: { append: [] as number[], read: [] as number[] }, sealed: { append: [] as number[], read: [] as number[] } };
for (let r = 0; r < ROUNDS; r++) {
  // Alternate which goes first, so a burst of load on the machine does not always land on the same one.
  const order = r % 2 === 0 ? (['plain', 'sealed'] as const) : (['sealed', 'plain'] as const);
  for (const which of order) {
    const { store } = which === 'plain' ? plain : sealed;
    figures[which].append.push(await appendRound(store));
    figures[which].read.push(await readRound(store));
  }
  log(`round ${r + 1}: append ms/1000 plain ${round2(figures.plain.append.at(-1)!)} sealed ${round2(figures.sealed.append.at(-1)!)}; read plain ${round2(figures.plain.read.at(-1)!)} sealed ${round2(figures.sealed.read.at(-1)!)}`);
}
for (const s of [plain, sealed]) {
  await s.store.close();
  rmSync(s.dir, { recursive: true, force: true });
}
const m = (which: 'plain' | 'sealed', what: 'append' | 'read') => median(figures[which][what]);
process.stdout.write(`${JSON.stringify({
  bench: 'at-rest',
  messages_per_round: MESSAGES, rounds: ROUNDS, in_flight: IN_FLIGHT,
  append_ms_per_1000: { plain: round2(m('plain', 'append')), sealed: round2(m('sealed', 'append')) },
  read_ms_per_1000: { plain: round2(m('plain', 'read')), sealed: round2(m('sealed', 'read')) },
  ratio: { append: round2(m('sealed', 'append') / m('plain', 'append')), read: round2(m('sealed', 'read') / m('plain', 'read')) },
})}\n`);
