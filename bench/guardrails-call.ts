// What guardrails add to one /v1 chat call, in µs of CPU, in-process: the
// work `bench/gateway-cpu.ts`'s chat_on does that chat_off does not, without
// the HTTP, the router and the upstream around it, so a busy machine moves
// it less. Per call: the bench policy (a 1,000-word mask list, mobile numbers
// and emails masked and restored) screens a system prompt and a question with
// a mobile number and an email; the reply is restored; the interventions are
// logged as app.ts logs them (pino to /dev/null, asynchronous, 4 KB writes),
// counted in the /metrics counter and recorded by the InterventionLog (its
// store a no-op: the SQLite rows are the same in both trees). Each call also
// writes the request's own log line as http/index.ts does, in every tree: in
// trees with InterventionNotes, the interventions are told in that line
// rather than in one of their own.
//
// GUARDRAILS_CALL_TREES: comma-separated roots of Warbler trees (default: this
// one); each tree's own guardrails room and Metrics are loaded, and the trees
// take turns, GUARDRAILS_CALL_ROUNDS rounds of GUARDRAILS_CALL_N calls each,
// CPU time from process.cpuUsage() (all threads: the log's writes too). Median per tree; the last stdout line is
// one JSON object.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchWords } from './lib/bench-words.ts';
import { envNumber, log } from './lib/util.ts';

const TREES = (process.env.GUARDRAILS_CALL_TREES ?? resolve(import.meta.dirname, '..')).split(',').map((t) => resolve(t.trim()));
const ROUNDS = envNumber('GUARDRAILS_CALL_ROUNDS', 15);
const N = envNumber('GUARDRAILS_CALL_N', 2000);

const pino = createRequire(import.meta.url)('pino') as typeof import('pino').default;


interface Tree {
  root: string;
  call(i: number): void;
}

async function load(root: string): Promise<Tree> {
  const src = (p: string) => pathToFileURL(resolve(root, 'packages/server/src', p)).href;
  const g = await import(src('guardrails/index.ts'));
  const { Metrics } = await import(src('metrics/index.ts'));
  const metrics = new Metrics({ processMetrics: false });
  const interventions = new g.InterventionLog({ store: { insert: async () => {}, list: async () => [], rules: async () => [], prune: async () => 0 }, retentionDays: 90 });
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }));
  // The wiring of each tree's app.ts: the room's own reporter (one log line per screening step) where the tree has it,
  // one log line per intervention in trees from before issue 17's fixes.
  // GUARDRAILS_CALL_PARTS=screen: the screen and the restore alone, the interventions dropped (not logged, counted or recorded).
  const screenOnly = process.env.GUARDRAILS_CALL_PARTS === 'screen';
  const count = (rule: string, action: string, path: string, n: number) => metrics.guardrail(rule, action, path, n);
  const deps = screenOnly ? { onInterventions: () => {}, onIntervention: () => {} } : g.interventionReporter
    ? { onInterventions: g.interventionReporter({ count, record: (i: unknown) => interventions.record(i), log: logger }) }
    : {
        onIntervention: (i: { rule: string; action: string; path: string; count: number }) => {
          count(i.rule, i.action, i.path, i.count);
          interventions.record(i);
          logger[i.action === 'block' ? 'warn' : 'info']({ guardrail: i }, `guardrail ${i.rule}: ${i.action} on ${i.path}`);
        },
      };
  const guardrails = new g.Guardrails({
    lists: [{ name: 'bench', action: 'mask', words: benchWords() }], allow: [], pii: { mask: [], restoreInReply: false }, injectionScreen: true,
    policies: { bench: { lists: ['bench'], pii: { mask: ['mobile', 'email'], restoreInReply: true } } }, apps: {},
  }, deps);
  const Notes = screenOnly ? undefined : (g.InterventionNotes as (new () => { take(): { guardrails: unknown[]; blocked: boolean } | undefined }) | undefined);
  return {
    root,
    call(i) {
      const notes = Notes ? new Notes() : undefined;
      const screen = guardrails.screen({ appId: 'app_bench', path: 'v1', who: 'key_bench0000000000000000', policy: 'bench', ...(notes && { notes }) })!;
      screen.messages([
        { role: 'system', content: 'You are a concise assistant for a chat app.' },
        { role: 'user', content: `In one sentence: why do gateways keep a ledger of every model call? I am on 13800138000, mail ops@example.com (question ${i})` },
      ]);
      if (screen.restore('A ledger records each call, so [PHONE_1] and [EMAIL_1] can see what was spent.').length === 0) throw new Error('unreachable');
      if (screenOnly) return;
      const line = { method: 'POST', url: '/v1/chat/completions', status: 200, ms: 1.23 };
      const fired = notes?.take();
      if (fired) logger[fired.blocked ? 'warn' : 'info']({ ...line, guardrails: fired.guardrails }, 'request');
      else logger.info(line, 'request');
    },
  };
}

const trees: Tree[] = [];
for (const root of TREES) trees.push(await load(root));
const perCall = new Map<string, number[]>(trees.map((t) => [t.root, []]));
let i = 0;
/** N calls, the event loop turning every 16 (the server's concurrency), so the log's writes and the store's batches happen as they would. */
async function calls(t: Tree): Promise<void> {
  for (let k = 0; k < N; k++) {
    t.call(i++);
    if (k % 16 === 15) await new Promise(setImmediate);
  }
}
for (const t of trees) await calls(t); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const t of trees) {
    const c0 = process.cpuUsage();
    await calls(t);
    const c = process.cpuUsage(c0);
    perCall.get(t.root)!.push((c.user + c.system) / N);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const result: Record<string, unknown> = { bench: 'guardrails-call', parts: process.env.GUARDRAILS_CALL_PARTS ?? 'all', calls_per_round: N, rounds: ROUNDS };
for (const t of trees) {
  const xs = perCall.get(t.root)!;
  result[t.root] = { us_per_call_median: Math.round(median(xs) * 10) / 10, min: Math.round(Math.min(...xs) * 10) / 10, max: Math.round(Math.max(...xs) * 10) / 10 };
  log(`${t.root}: ${median(xs).toFixed(1)} µs CPU per call (median of ${ROUNDS}; ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`);
}
console.log(JSON.stringify(result));
