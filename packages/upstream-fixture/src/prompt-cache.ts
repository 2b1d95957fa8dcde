import { createHash } from 'node:crypto';
import { boundedEncode } from './bounded-tokens.ts';

// OpenAI's automatic prompt caching, as far as a client can see it: a prompt
// whose beginning repeats one sent before (same model, same tools, same
// messages up to a point) reports that beginning as
// `prompt_tokens_details.cached_tokens`, counted in steps of 128 tokens from
// 1,024 up; shorter prompts never hit. Benches and tests use it to see
// whether Warbler orders its prompts so that their beginning stays the same.

export const CACHE_MIN_TOKENS = 1024;
export const CACHE_STEP_TOKENS = 128;

/** Encoded texts kept for reuse: a long chat resends the same turns on every request. */
const MAX_MEMO = 20_000;

export class PromptCache {
  private readonly prefixes = new Set<string>();
  private readonly memo = new Map<string, Uint32Array>();

  /** @param maxPrefixes prefixes remembered before the cache starts over (a bench's memory stays bounded). */
  constructor(private readonly maxPrefixes = 500_000) {}

  /**
   * The tokens at the start of this prompt that an earlier prompt shared
   * (0, or 1,024 + n·128, at most `promptTokens`), then remembers this prompt
   * for the ones after it.
   */
  lookup(body: { model?: unknown; messages?: unknown; tools?: unknown }, promptTokens: number): number {
    const tokens = this.tokensOf(body);
    if (tokens.length < CACHE_MIN_TOKENS) return 0;
    const hash = createHash('sha256').update(`model:${String(body.model ?? '')}\n`);
    let cached = 0;
    let hit = true;
    let from = 0;
    for (let end = CACHE_MIN_TOKENS; end <= tokens.length; end += CACHE_STEP_TOKENS) {
      hash.update(tokens.subarray(from, end));
      from = end;
      const key = hash.copy().digest('base64');
      // A prefix is cached only if every shorter one is: the first miss ends the hits.
      if (hit && this.prefixes.has(key)) cached = end;
      else hit = false;
      this.remember(key);
    }
    while (cached > promptTokens) cached -= CACHE_STEP_TOKENS;
    return cached >= CACHE_MIN_TOKENS ? cached : 0;
  }

  clear(): void {
    this.prefixes.clear();
    this.memo.clear();
  }

  private remember(key: string): void {
    if (this.prefixes.size >= this.maxPrefixes) this.prefixes.clear();
    this.prefixes.add(key);
  }

  /** Tools first, then each message as its role and its content: the order the provider reads them in. */
  private tokensOf(body: { messages?: unknown; tools?: unknown }): Uint32Array {
    const parts: Uint32Array[] = [];
    if (body.tools !== undefined) parts.push(this.encoded(`tools:${JSON.stringify(body.tools)}`));
    for (const m of Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : []) {
      const content = typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? null);
      parts.push(this.encoded(`<${String(m.role ?? '')}>`), this.encoded(content));
      if (m.tool_calls !== undefined) parts.push(this.encoded(JSON.stringify(m.tool_calls)));
    }
    const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private encoded(text: string): Uint32Array {
    let tokens = this.memo.get(text);
    if (!tokens) {
      if (this.memo.size >= MAX_MEMO) this.memo.clear();
      tokens = Uint32Array.from(text.length === 0 ? [] : boundedEncode(text));
      this.memo.set(text, tokens);
    }
    return tokens;
  }
}
