// Conversation memory: one 200-turn support chat (bench/lib/support-chat.ts:
// English and Chinese turns of realistic length, 20 facts planted in the
// first 40 turns and asked about from turn 120) against the upstream fixture,
// under three policies in the same run:
//
//   warbler   an AI agent in Warbler with its default history budget: the
//             chat goes through the real server (WebSocket in, agent runtime,
//             router, ledger), summaries and all;
//   naive     the whole history on every call (what an agent left on the
//             model's window did), sent by the bench straight to the fixture;
//   last_20   the last 20 messages (Lanying IM's policy), the same way.
//
// Per policy: upstream calls, prompt, cached and completion tokens (as the
// fixture reports them: it counts with o200k and reports cached tokens when a
// prompt's beginning repeats, as OpenAI does), cost at gpt-4o-mini's prices,
// and how many of the 20 facts were in front of the model (in the prompt,
// summary included) when the customer asked about them.
//
// The fixture's summaries are fixed text that holds no facts, so what Warbler
// keeps is what its own memory keeps, not what a model happened to repeat.
//
// MEMORY_TURNS (200), MEMORY_HISTORY_TOKENS (the agent default when unset).
// Progress goes to stderr; the last stdout line is one JSON object.

import { startUpstreamFixture, type RecordedRequest, type UpstreamFixture } from '@warbler/upstream-fixture';
import WebSocket from 'ws';
import { FACTS, supportChat, SYSTEM_PROMPT, type Turn } from './lib/support-chat.ts';
import { envNumber, log, round } from './lib/util.ts';
import { api, createApp, pickId, startWarbler } from './lib/warbler.ts';

const TURNS = envNumber('MEMORY_TURNS', 200);
const HISTORY_TOKENS = envNumber('MEMORY_HISTORY_TOKENS', 0);
const FIXTURE_KEY = 'sk-bench-fixture';
const FOLD = 'New turns to fold in';
const SUMMARY = 'The customer, a bilingual shopper, has asked about late parcels, delivery times, returns, refunds, gift wrapping and an app problem; the assistant checked shipments, explained the return and refund policy and added notes to the order.';
/** gpt-4o-mini, USD per 1M tokens: input, cached input, output. */
const PRICE = { input: 0.15, cached: 0.075, output: 0.6 };

interface Figures {
  upstream_calls: number;
  calls_per_turn: number;
  summary_calls: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  facts_kept: number;
  /** Where each kept fact was: in the turns sent, the summary, or quoted back from folded turns. */
  facts_where?: Record<string, number>;
  facts_lost?: string[];
}

interface Usage {
  prompt: number;
  cached: number;
  completion: number;
}

const costOf = (u: Usage) => ((u.prompt - u.cached) * PRICE.input + u.cached * PRICE.cached + u.completion * PRICE.output) / 1e6;
const add = (a: Usage, b: Usage) => ({ prompt: a.prompt + b.prompt, cached: a.cached + b.cached, completion: a.completion + b.completion });

// ---------------------------------------------------------------- naive and last-20: the bench is the client

async function windowPolicy(fixture: UpstreamFixture, chat: Turn[], keep: number): Promise<Figures> {
  fixture.reset();
  const history: Array<{ role: 'user' | 'assistant'; content: string }> = [];
  let total: Usage = { prompt: 0, cached: 0, completion: 0 };
  let kept = 0;
  const lost: string[] = [];
  for (const turn of chat) {
    const sent = keep === Infinity ? history : history.slice(-keep);
    const messages = [{ role: 'system', content: SYSTEM_PROMPT }, ...sent, { role: 'user', content: turn.user }];
    if (turn.asks !== undefined) {
      const fact = FACTS[turn.asks]!;
      if (JSON.stringify(messages.slice(0, -1)).includes(fact.value)) kept++;
      else lost.push(fact.value);
    }
    fixture.script({ text: turn.reply });
    const res = await fetch(`${fixture.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FIXTURE_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: 1024 }),
    });
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } } };
    total = add(total, { prompt: body.usage.prompt_tokens, cached: body.usage.prompt_tokens_details.cached_tokens, completion: body.usage.completion_tokens });
    history.push({ role: 'user', content: turn.user }, { role: 'assistant', content: turn.reply });
  }
  return figures(chat.length, chat.length, 0, total, kept, undefined, lost);
}

function figures(turns: number, calls: number, summaries: number, u: Usage, kept: number, where: Record<string, number> | undefined, lost: string[]): Figures {
  return {
    upstream_calls: calls, calls_per_turn: round(calls / turns, 3), summary_calls: summaries,
    prompt_tokens: u.prompt, cached_tokens: u.cached, completion_tokens: u.completion, cost_usd: round(costOf(u), 5),
    facts_kept: kept, ...(where && { facts_where: where }), ...(lost.length > 0 && { facts_lost: lost }),
  };
}

// ---------------------------------------------------------------- Warbler: the chat goes through the server

/** One user's socket: sends a message and resolves when the agent's reply to it has ended. */
async function openChat(url: string, token: string, conversationId: string, agentId: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
  let waiting: { id: string; resolve: (state: string) => void; reject: (err: Error) => void } | undefined;
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; id?: string; code?: string; message?: { sender_id: string; state: string } | string };
      if (f.type === 'ready') resolve();
      if (f.type === 'error' && waiting && f.id === waiting.id) waiting.reject(new Error(`the send was refused: ${f.code} ${JSON.stringify(f.message)}`));
      const m = typeof f.message === 'object' ? f.message : undefined;
      if (f.type === 'message.updated' && m?.sender_id === agentId && m.state !== 'streaming') {
        waiting?.resolve(m.state);
        waiting = undefined;
      }
    });
  });
  let n = 0;
  return {
    ask(text: string): Promise<string> {
      const id = `s${++n}`;
      const done = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply to message ${n} within 30 s`)), 30_000);
        waiting = { id, resolve: (s) => (clearTimeout(timer), resolve(s)), reject: (e) => (clearTimeout(timer), reject(e)) };
      });
      ws.send(JSON.stringify({ type: 'send', id, conversation_id: conversationId, client_msg_id: `m${n}`, content: { text } }));
      return done;
    },
    close: () => ws.close(),
  };
}

const isSummary = (r: RecordedRequest) => JSON.stringify(r.body?.messages ?? []).includes(FOLD);
const lastUser = (r: RecordedRequest) => {
  const messages = (r.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  return String(messages.findLast((m) => m.role === 'user')?.content ?? '');
};

/** Where a fact was in the prompt that answered the question: the summary, quoted folded turns, or the turns themselves. */
function whereIs(value: string, request: RecordedRequest): string | undefined {
  const messages = request.body.messages as Array<{ role: string; content: unknown }>;
  const before = messages.slice(0, -1);
  for (const [i, m] of before.entries()) {
    const text = typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
    if (!text.includes(value)) continue;
    if (i === 0) return 'summary';
    if (m.role === 'system') return 'recalled';
    return 'turns';
  }
  return undefined;
}

async function warblerPolicy(fixture: UpstreamFixture, chat: Turn[]): Promise<Figures & { history_tokens: number; ledger_cost_usd: number; by_purpose: unknown }> {
  fixture.reset();
  fixture.script({ promptContains: FOLD, text: SUMMARY, times: Infinity });
  const server = await startWarbler({ env: {
    OPENAI_API_KEY: FIXTURE_KEY, OPENAI_BASE_URL: fixture.url, WARBLER_LOG_LEVEL: 'warn',
    // One customer typing 200 turns back to back: the per-user send rate is not what this bench measures.
    WARBLER_WS_SEND_RATE: '1000', WARBLER_WS_SEND_BURST: '1000',
  } });
  try {
    const base = server.url;
    const { secret } = await createApp(server, `memory-${Date.now()}`);
    const userId = pickId(await api(base, 'POST', '/api/users', secret, { id: 'bench_customer', name: 'Customer' }), 'user');
    const { token } = await api<{ token: string }>(base, 'POST', `/api/users/${userId}/tokens`, secret, {});
    const agent = await api<{ id: string; history_tokens: number }>(base, 'POST', '/api/agents', secret, {
      name: 'Acme Home support', model: 'gpt-4o-mini', system_prompt: SYSTEM_PROMPT, ...(HISTORY_TOKENS > 0 && { history_tokens: HISTORY_TOKENS }),
    });
    const conversationId = pickId(await api(base, 'POST', '/api/conversations', secret, { kind: 'direct', member_ids: [userId, agent.id], created_by: userId }), 'conversation');
    const socket = await openChat(base, token, conversationId, agent.id);
    const started = Date.now();
    for (const [i, turn] of chat.entries()) {
      fixture.script({ text: turn.reply });
      const state = await socket.ask(turn.user);
      if (state !== 'complete') throw new Error(`turn ${i}: the reply ended ${state}`);
      if ((i + 1) % 50 === 0) log(`  warbler: ${i + 1} turns, ${fixture.counts.chat} upstream calls, ${Math.round((Date.now() - started) / (i + 1))} ms a turn`);
    }
    socket.close();

    const chats = fixture.requests.filter((r) => r.path.endsWith('/chat/completions'));
    const summaries = chats.filter(isSummary).length;
    const where: Record<string, number> = {};
    const lost: string[] = [];
    let kept = 0;
    for (const turn of chat) {
      if (turn.asks === undefined) continue;
      const fact = FACTS[turn.asks]!;
      const request = chats.findLast((r) => !isSummary(r) && lastUser(r) === turn.user);
      const found = request && whereIs(fact.value, request);
      if (found) {
        kept++;
        where[found] = (where[found] ?? 0) + 1;
      } else lost.push(fact.value);
    }
    // Tokens and cost as Warbler's ledger recorded them, grouped by purpose (reply, summary).
    const report = await api<{ groups: Array<{ key: string | null; attempts: number; promptTokens: number; cachedTokens: number; completionTokens: number; costUsd: number }>; total: { costUsd: number } }>(
      base, 'GET', '/api/usage?group_by=purpose', secret,
    );
    const u = report.groups.reduce<Usage>((t, g) => add(t, { prompt: g.promptTokens, cached: g.cachedTokens, completion: g.completionTokens }), { prompt: 0, cached: 0, completion: 0 });
    const calls = report.groups.reduce((n, g) => n + g.attempts, 0);
    if (calls !== fixture.counts.chat) log(`  warning: the ledger has ${calls} calls, the fixture answered ${fixture.counts.chat}`);
    return {
      ...figures(chat.length, calls, summaries, u, kept, where, lost),
      history_tokens: agent.history_tokens,
      ledger_cost_usd: round(report.total.costUsd, 5),
      by_purpose: Object.fromEntries(report.groups.map((g) => [g.key ?? 'none', { calls: g.attempts, prompt_tokens: g.promptTokens, cached_tokens: g.cachedTokens, cost_usd: round(g.costUsd, 5) }])),
    };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const chat = supportChat(TURNS);
  const fixture = await startUpstreamFixture({ apiKey: FIXTURE_KEY, recordRequests: 100_000, stampChunks: false });
  try {
    log(`${TURNS} turns, ${FACTS.length} facts; policy warbler`);
    const warbler = await warblerPolicy(fixture, chat);
    log('policy naive (the whole history)');
    const naive = await windowPolicy(fixture, chat, Infinity);
    log('policy last_20 (the last 20 messages)');
    const last20 = await windowPolicy(fixture, chat, 20);
    const asked = chat.filter((t) => t.asks !== undefined).length;
    const result = {
      bench: 'memory',
      turns: TURNS,
      facts_asked: asked,
      prices_usd_per_1m: PRICE,
      policies: { warbler, naive, last_20: last20 },
      targets: {
        calls_per_turn_below_1_2: warbler.calls_per_turn < 1.2,
        cost_vs_naive: round(warbler.cost_usd / naive.cost_usd, 3),
        cost_at_most_a_third_of_naive: warbler.cost_usd <= naive.cost_usd / 3,
        facts_at_least_18_of_20: warbler.facts_kept >= Math.min(18, asked),
      },
    };
    console.log(JSON.stringify(result));
  } finally {
    await fixture.close();
  }
}

await main();
