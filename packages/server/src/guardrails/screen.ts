// One call's guardrails: the policy chosen for it, applied to the prompt
// before it leaves Warbler (sensitive words, personal data), to passages and
// tool results before they enter the prompt (the injection screen), and to
// the reply (masked personal data put back, where the operator allows).
import type { ChatMessage } from '../llm/index.ts';
import { excerptAround, excerptAtPlaceholder } from './excerpt.ts';
import type { InterventionNotes } from './intervention-notes.ts';
import { screenInstructions } from './injection.ts';
import { ModerationFlagged, type Moderator } from './moderation.ts';
import { PiiVault, type PiiKind } from './pii.ts';
import { buildPolicies, DEFAULT_GUARDRAILS, DEFAULT_POLICY, type GuardrailsSettings, type Policy } from './policy.ts';
import { maskRanges, type WordHit } from './words.ts';

const NO_HITS: readonly WordHit[] = Object.freeze([]);

export type GuardrailPath = 'v1' | 'batch' | 'agent';
export type GuardrailAction = 'block' | 'mask' | 'flag' | 'strip';

/** One guardrail that fired: logged, and counted in warbler_guardrail_interventions_total{rule,action,path}. */
export interface Intervention {
  /** words:<list>, pii:<kind>, injection:<rule> or moderation:<category>. */
  rule: string;
  action: GuardrailAction;
  path: GuardrailPath;
  app_id: string;
  /** The key or agent the call was for; null for the master key. */
  who: string | null;
  policy: string;
  /** Occurrences in this call. */
  count: number;
  /** The listed word, for word rules (never the personal data itself). */
  word?: string;
  /** A few words around the first occurrence, the word and any personal data masked (for the console). */
  excerpt?: string;
}

/** Who a call is for, and the policy its key or agent names (if any). */
export interface ScreenScope {
  appId: string;
  path: GuardrailPath;
  who: string | null;
  policy?: string | null | undefined;
  /** The call's own log line, when it has one (a /v1 request's): its interventions are told there instead of in a line per step. */
  notes?: InterventionNotes | undefined;
}

/** A prompt refused by a block rule; nothing was sent and nothing is billed. */
export class ContentBlocked extends Error {
  override name = 'ContentBlocked';
  readonly rule: string;
  constructor(readonly hit: WordHit) {
    super(
      `Blocked by this server's content policy: the prompt contains "${hit.word}", from the list "${hit.list}" (rule words:${hit.list}). ` +
        'Nothing was sent to the model and nothing was billed. Rephrase without it, or ask the operator if this is a mistake.',
    );
    this.rule = `words:${hit.list}`;
  }
}

export interface GuardrailsDeps {
  /**
   * The interventions of one screening step (a prompt, a passage or tool
   * result, a moderation verdict), together: one log line per step instead
   * of one per rule, since with guardrails on most calls have several;
   * `notes` is the call's own log line when it has one (the scope's).
   */
  onInterventions(interventions: Intervention[], notes?: InterventionNotes): void;
  warn?(message: string): void;
  /** The moderation model policies with `moderation:` use (OpenAI's, when configured); absent: such policies warn and skip it. */
  moderator?: Moderator;
}

/** The guardrails room's service: policies built once, a PromptScreen per call. */
export class Guardrails {
  private readonly policies: Map<string, Policy>;
  private readonly warned = new Set<string>();

  constructor(
    private readonly settings: GuardrailsSettings = DEFAULT_GUARDRAILS,
    private readonly deps: GuardrailsDeps,
  ) {
    this.policies = buildPolicies(settings);
  }

  /** The policy for a call: the key's or agent's, else the app's, else the default. An unknown name falls back to the default, with a warning. */
  policyFor(scope: ScreenScope): Policy {
    const name = scope.policy || this.settings.apps[scope.appId] || DEFAULT_POLICY;
    const policy = this.policies.get(name);
    if (policy) return policy;
    if (!this.warned.has(name)) {
      this.warned.add(name);
      this.deps.warn?.(`guardrails: no policy named "${name}" (named by ${scope.who ?? `app ${scope.appId}`}); the default policy applies. Declare it under guardrails.policies in warbler.yaml.`);
    }
    return this.policies.get(DEFAULT_POLICY)!;
  }

  /** The screen for one call; undefined when its policy does nothing (no cost on the hot path). */
  screen(scope: ScreenScope): PromptScreen | undefined {
    const policy = this.policyFor(scope);
    // Only agents read passages and tool results: /v1 and batches need a screen only for words and PII.
    const moderates = policy.moderates && this.moderatorFor(policy) !== undefined;
    if (!policy.screensPrompts && !moderates && (!policy.injectionScreen || scope.path !== 'agent')) return undefined;
    return new PromptScreen(policy, scope, this.deps.onInterventions, moderates ? { moderator: this.deps.moderator!, warn: (m) => this.deps.warn?.(m) } : undefined);
  }

  private moderatorFor(policy: Policy): Moderator | undefined {
    if (!this.deps.moderator && !this.warned.has(`moderation:${policy.name}`)) {
      this.warned.add(`moderation:${policy.name}`);
      this.deps.warn?.(`guardrails: policy "${policy.name}" asks for provider moderation, but no moderation model is configured (set OPENAI_API_KEY); prompts and answers are not moderated.`);
    }
    return this.deps.moderator;
  }
}

export class PromptScreen {
  private readonly vault: PiiVault | undefined;
  /** Where each word hit and each kind of personal data was first seen, masked: computed only when something fired. */
  private readonly excerpts = new Map<string, string>();
  private readonly piiExcerpts = new Map<PiiKind, string>();
  /** The interventions of the step under way, reported together when it ends (also when it ends in a block). */
  private fired: Intervention[] = [];

  constructor(
    readonly policy: Policy,
    private readonly scope: ScreenScope,
    private readonly report: (interventions: Intervention[], notes?: InterventionNotes) => void,
    private readonly moderation?: { moderator: Moderator; warn(message: string): void },
  ) {
    this.vault = policy.pii.size > 0 ? new PiiVault(policy.pii) : undefined;
  }

  /** Whether the prompt goes to the moderation model before it is sent. */
  get moderatesInput(): boolean {
    return this.moderation !== undefined && this.policy.moderation.input;
  }

  /** Whether the answer goes to the moderation model before the caller has it whole. */
  get moderatesOutput(): boolean {
    return this.moderation !== undefined && this.policy.moderation.output;
  }

  /**
   * The new turn (the last user message, masked as it will be sent) judged by
   * the moderation model; throws ModerationFlagged when it is flagged. A
   * moderator that fails lets the call through (logged): moderation is a
   * screen on top of the provider's own, not a reason to stop serving.
   */
  async moderateInput(messages: ChatMessage[], signal?: AbortSignal): Promise<void> {
    if (!this.moderatesInput) return;
    const last = [...messages].reverse().find((m) => m.role === 'user');
    const text = last ? textOf(last.content) : '';
    const flagged = text ? await this.judge('input', text, signal) : undefined;
    if (flagged) throw flagged;
  }

  /** The model's whole answer judged; the ModerationFlagged to answer with when it is flagged, else undefined. */
  async moderateOutput(text: string, signal?: AbortSignal): Promise<ModerationFlagged | undefined> {
    if (!this.moderatesOutput || !text.trim()) return undefined;
    return this.judge('output', text, signal);
  }

  private async judge(side: 'input' | 'output', text: string, signal?: AbortSignal): Promise<ModerationFlagged | undefined> {
    let verdict;
    try {
      verdict = await this.moderation!.moderator.judge(text, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      this.moderation!.warn(`guardrails: the moderation model failed on the ${side} of a call (${err instanceof Error ? err.message : String(err)}); it was let through unmoderated.`);
      return undefined;
    }
    if (!verdict.flagged) return undefined;
    const flagged = new ModerationFlagged(side, verdict.categories);
    this.emit(flagged.rule, 'block', 1);
    this.reportFired();
    return flagged;
  }

  /** Whether the reply gets masked values back (and so must pass through restore()). */
  get restoresReply(): boolean {
    return this.vault !== undefined && this.policy.restoreInReply;
  }

  /**
   * The prompt, screened in place: listed words masked or flagged, personal
   * data replaced by placeholders. Throws ContentBlocked for a block word.
   * In the model's own turns, and in every message but `answering` when it
   * is given (an agent's history), a block word is masked instead: one bad
   * answer, or an earlier refused message, must not lock the conversation.
   */
  messages(messages: ChatMessage[], answering?: ChatMessage): void {
    if (!this.policy.screensPrompts) return;
    const hits: WordHit[] = [];
    const before = this.vault ? new Map(this.vault.masked) : undefined;
    const last = messages[messages.length - 1];
    try {
      for (const m of messages) {
        const own = m.role === 'assistant' || (answering !== undefined && m !== answering);
        // The system prompt and earlier turns come again on the next call: their scans are remembered (the new turn's are not).
        const again = m !== last || m.role === 'system' || m.role === 'developer';
        if (typeof m.content === 'string') m.content = this.text(m.content, hits, own, again);
        else if (Array.isArray(m.content)) {
          for (const part of m.content) if (part.type === 'text' && typeof part.text === 'string') part.text = this.text(part.text, hits, own, again);
        }
      }
      this.reportWords(hits);
      this.reportPii(before);
    } finally {
      this.reportFired();
    }
  }

  /** A passage or tool result on its way into the prompt: instruction-like lines out; words and personal data as in messages(). */
  retrieved(text: string): string {
    let out = text;
    if (this.policy.injectionScreen) {
      const screened = screenInstructions(out);
      if (screened.removed.length > 0) {
        const counts = new Map<string, number>();
        for (const r of screened.removed) counts.set(r.rule, (counts.get(r.rule) ?? 0) + 1);
        for (const [rule, count] of counts) this.emit(`injection:${rule}`, 'strip', count);
        out = screened.text;
      }
    }
    if (!this.policy.screensPrompts) {
      this.reportFired();
      return out;
    }
    const hits: WordHit[] = [];
    const before = this.vault ? new Map(this.vault.masked) : undefined;
    try {
      // Retrieved text is not the user's: a block word there is masked, not a reason to refuse the user.
      out = this.text(out, hits, true);
      this.reportWords(hits);
      this.reportPii(before);
    } finally {
      this.reportFired();
    }
    return out;
  }

  /** A whole reply with masked values put back (when allowed). */
  restore(text: string): string {
    return this.restoresReply ? this.vault!.restore(text) : text;
  }

  /** A whole JSON text with masked values put back in its strings (when allowed); undefined when only a parse could (PiiVault.restoreJson). */
  restoreJson(json: string): string | undefined {
    return this.restoresReply ? this.vault!.restoreJson(json) : json;
  }

  /** For a streamed reply: push each delta, flush at the end. */
  restorer(): { push(text: string): string; flush(): string } {
    return this.restoresReply ? this.vault!.restorer() : { push: (t) => t, flush: () => '' };
  }

  private text(text: string, hits: WordHit[], softBlock: boolean, again = false): string {
    let out = text;
    // A text scanned before holds no personal data (only such texts are remembered) and these words.
    const known = again ? this.policy.scans.get(text) : undefined;
    const found = known ?? (this.policy.words ? this.policy.words.find(out) : NO_HITS);
    if (found.length > 0) {
      const block = softBlock ? undefined : found.find((h) => h.action === 'block');
      if (block) {
        this.emit(`words:${block.list}`, 'block', 1, block.word, excerptAround(out, block.start, block.end));
        throw new ContentBlocked(block);
      }
      for (const h of found) {
        const k = `${h.list}\u0000${h.word}`;
        if (!this.excerpts.has(k)) this.excerpts.set(k, excerptAround(out, h.start, h.end));
      }
      hits.push(...found.map((h) => (h.action === 'block' ? { ...h, action: 'mask' as const } : h)));
      out = maskRanges(out, found.filter((h) => h.action !== 'flag'));
    }
    if (known) return out;
    if (!this.vault) {
      if (again) this.policy.scans.set(text, found);
      return out;
    }
    const before = this.vault.size;
    const masked = this.vault.mask(out);
    // mask() returns the very text when it found nothing to mask.
    if (again && masked === out) this.policy.scans.set(text, found);
    // A new value masked here: note where, for the console (the first text that had one of its kind).
    if (this.vault.size > before) {
      for (const kind of this.vault.masked.keys()) if (!this.piiExcerpts.has(kind)) {
        const e = excerptAtPlaceholder(masked, kind);
        if (e) this.piiExcerpts.set(kind, e);
      }
    }
    return masked;
  }

  private reportWords(hits: WordHit[]): void {
    const grouped = new Map<string, { hit: WordHit; count: number }>();
    for (const h of hits) {
      const k = `${h.list}\u0000${h.action}\u0000${h.word}`;
      const g = grouped.get(k);
      if (g) g.count++;
      else grouped.set(k, { hit: h, count: 1 });
    }
    for (const { hit, count } of grouped.values()) {
      this.emit(`words:${hit.list}`, hit.action, count, hit.word, this.excerpts.get(`${hit.list}\u0000${hit.word}`));
    }
  }

  private reportPii(before: Map<string, number> | undefined): void {
    if (!this.vault || !before) return;
    for (const [kind, n] of this.vault.masked) {
      const count = n - (before.get(kind) ?? 0);
      if (count > 0) this.emit(`pii:${kind}`, 'mask', count, undefined, this.piiExcerpts.get(kind));
    }
  }

  private emit(rule: string, action: GuardrailAction, count: number, word?: string, excerpt?: string): void {
    // Built field by field, not spread: one object shape for every intervention, which the log and the store serialize.
    const { scope } = this;
    const out: Intervention = { rule, action, path: scope.path, app_id: scope.appId, who: scope.who, policy: this.policy.name, count };
    if (word !== undefined) out.word = word;
    if (excerpt !== undefined) out.excerpt = excerpt;
    this.fired.push(out);
  }

  private reportFired(): void {
    if (this.fired.length === 0) return;
    const fired = this.fired;
    this.fired = [];
    this.report(fired, this.scope.notes);
  }
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.flatMap((p) => (p.type === 'text' && typeof p.text === 'string' ? [p.text] : [])).join('\n');
}
