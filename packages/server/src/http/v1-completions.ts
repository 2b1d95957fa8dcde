// POST /v1/completions, the legacy text-completion API, run as chat
// (gateway/legacy-completions.ts): same admission, limits and ledger.
import { performance } from 'node:perf_hooks';
import type { FastifyPluginAsync } from 'fastify';
import { countPrompt, legacyToChat, TextCompletionChunks, textCompletionBody, toOpenAiError, type Gateway } from '../gateway/index.ts';
import { quickPromptTokens } from '../llm/index.ts';
import { drained, sseHeaders, type V1RouteKit } from './v1-kit.ts';

const ROUTE = '/v1/completions';
let seq = 0;
const base = Date.now().toString(36);
const ms = (n: number) => (n > 0 ? n : 0).toFixed(3);

export const legacyCompletionRoutes = (deps: { gateway: Gateway; bodyLimit: number }, kit: V1RouteKit): FastifyPluginAsync => async (app) => {
  const { gateway } = deps;
  app.post(ROUTE, { bodyLimit: deps.bodyLimit, schema: { tags: ['gateway'], summary: 'OpenAI legacy completions (prompt in, text out), run as a chat completion' } }, async (request, reply) => {
    const who = await kit.caller(request);
    await kit.holdSlot(who, reply);
    const chat = legacyToChat(request.body);
    kit.logBody(request, who);
    const admission = await gateway.admit(who, chat.request.model, () => countPrompt(chat.request), () => quickPromptTokens(chat.request), chat.request);
    const abort = kit.abortOnClose(reply);
    const id = `cmpl-w${base}${(++seq).toString(36)}`;
    if (!chat.stream) {
      const answer = await gateway.complete(who, chat, admission, { signal: abort.signal });
      return kit.sendJson(reply, ROUTE, textCompletionBody(answer.body, id), answer.upstreamMs, admission.headers, answer.deployment);
    }
    const opened = await gateway.openStream(who, chat, admission, abort.signal);
    const preUpstream = reply.elapsedTime - (performance.now() - opened.upstreamStart);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, sseHeaders(admission.headers, request.id, ms(preUpstream), opened.deployment || null));
    const writer = new TextCompletionChunks(id, opened.model, Math.floor(Date.now() / 1000), chat.includeUsage);
    try {
      let part = opened.first;
      for (;;) {
        if (part.type === 'error') {
          if (!abort.signal.aborted) res.write(`data: ${JSON.stringify(toOpenAiError(part.error).toJSON())}\n\n`);
          break;
        }
        const text = writer.part(part);
        if (text && !res.write(text)) await drained(res);
        if (part.type === 'finish') break;
        const next = await opened.parts.next();
        if (next.done) break;
        part = next.value;
      }
    } finally {
      await opened.parts.return(undefined);
      res.end();
    }
  });
};
