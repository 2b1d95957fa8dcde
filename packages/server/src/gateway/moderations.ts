// /v1/moderations in OpenAI's shape. With an OpenAI provider configured the
// request goes to OpenAI's own moderation model as it came (it is free there,
// so nothing is billed); otherwise Warbler answers from its own rules (the
// operator's sensitive-word lists), or, with none configured, says it did not
// judge: flagged false, and `warbler.note` telling the operator how to turn
// moderation on.
import { randomBytes } from 'node:crypto';
import { jsonShapeProblem } from '../json-shape.ts';
import { invalidRequest } from './errors.ts';

/** OpenAI's moderation endpoint behind the gateway (the OpenAI preset's base URL and key). */
export interface ModerationUpstream {
  postJson(path: string, body: unknown, signal?: AbortSignal): Promise<unknown>;
  close?(): Promise<void>;
}

/** Warbler's own rules for one text of an app: which rules fired, and on which OpenAI category they report. */
export interface ModerationRules {
  check(appId: string, text: string): { flagged: boolean; rules: string[] };
}

export const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
] as const;

const LOCAL_MODEL = 'warbler-local-rules';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The texts of a moderation input: a string, strings, or OpenAI's multimodal parts (images are not judged locally). */
export function moderationTexts(raw: unknown): string[] {
  if (!isObject(raw)) throw invalidRequest('The body must be a JSON object.');
  const problem = jsonShapeProblem(raw);
  if (problem) throw invalidRequest(`The body was refused: ${problem}`);
  if (raw.model !== undefined && typeof raw.model !== 'string') throw invalidRequest('model must be a string.', 'model');
  const input = raw.input;
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0) {
    if (input.every((s) => typeof s === 'string')) return input as string[];
    // Multimodal: one input made of parts; its text parts are judged together.
    const text = input.flatMap((p) => (isObject(p) && p.type === 'text' && typeof p.text === 'string' ? [p.text] : [])).join('\n');
    if (input.every((p) => isObject(p) && (p.type === 'text' || p.type === 'image_url'))) return [text];
  }
  throw invalidRequest('input must be a string, an array of strings, or an array of { type: "text" | "image_url" } parts.', 'input');
}

/** The part of the guardrails room moderation uses: an app's policy and its word matcher. */
export interface GuardrailsWords {
  policyFor(scope: { appId: string; path: 'v1'; who: null }): { words?: { find(text: string): ReadonlyArray<{ list: string }> } | undefined };
}

/** Moderation by the operator's sensitive-word lists: the app's policy, the rules named as guardrails logs them (words:<list>). */
export function moderationRulesFrom(guardrails: GuardrailsWords): ModerationRules {
  return {
    check(appId, text) {
      const hits = guardrails.policyFor({ appId, path: 'v1', who: null }).words?.find(text) ?? [];
      return { flagged: hits.length > 0, rules: [...new Set(hits.map((h) => `words:${h.list}`))] };
    },
  };
}

export class Moderations {
  constructor(private readonly deps: { upstream?: ModerationUpstream; rules?: ModerationRules } = {}) {}

  /** Where answers come from: OpenAI, Warbler's rules, or nothing configured. */
  get source(): 'openai' | 'local-rules' | 'none' {
    return this.deps.upstream ? 'openai' : this.deps.rules ? 'local-rules' : 'none';
  }

  async moderate(appId: string, raw: unknown, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const texts = moderationTexts(raw);
    if (this.deps.upstream) return (await this.deps.upstream.postJson('/moderations', raw, signal)) as Record<string, unknown>;
    const rules = this.deps.rules;
    const results = texts.map((text) => {
      const verdict = rules ? rules.check(appId, text) : { flagged: false, rules: [] };
      return localResult(verdict.flagged, verdict.rules);
    });
    const note = rules
      ? "Judged by this server's own rules (the operator's sensitive-word lists); a match is reported under `illicit`."
      : 'Not judged: no OpenAI provider (OPENAI_API_KEY) and no guardrails word lists are configured on this server, so every input is reported as not flagged.';
    return { id: `modr-${randomBytes(12).toString('hex')}`, model: LOCAL_MODEL, results, warbler: { source: this.source, note } };
  }

  async close(): Promise<void> {
    await this.deps.upstream?.close?.();
  }
}

function localResult(flagged: boolean, rules: string[]): Record<string, unknown> {
  const categories: Record<string, boolean> = {};
  const scores: Record<string, number> = {};
  const applied: Record<string, string[]> = {};
  for (const c of MODERATION_CATEGORIES) {
    // Word lists say "not allowed here", not which harm: `illicit` is the nearest of OpenAI's categories.
    categories[c] = flagged && c === 'illicit';
    scores[c] = categories[c] ? 1 : 0;
    applied[c] = ['text'];
  }
  return { flagged, categories, category_scores: scores, category_applied_input_types: applied, ...(rules.length ? { warbler_rules: rules } : {}) };
}
