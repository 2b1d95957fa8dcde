// What an operator configures (warbler.yaml `guardrails:`, parsed by the
// settings room) and how one call's policy is chosen: the key's or agent's
// named policy, else the app's, else the default (the top-level settings).
import { NO_MODERATION, type ModerationSettings } from './moderation.ts';
import type { PiiKind } from './pii.ts';
import { ScanCache } from './scan-cache.ts';
import { WordMatcher, type WordHit, type WordList } from './words.ts';

export interface PiiSettings {
  /** Kinds masked before a prompt leaves Warbler; empty: none. */
  mask: PiiKind[];
  /** Put the values back where the reply repeats a placeholder. */
  restoreInReply: boolean;
}

/** A named variation of the defaults; a field left out keeps the default's. */
export interface PolicyOverride {
  /** Names of the lists applied; default: every list. */
  lists?: string[];
  pii?: PiiSettings;
  injectionScreen?: boolean;
  moderation?: ModerationSettings;
}

export interface GuardrailsSettings {
  lists: WordList[];
  /** Phrases never matched: innocent words that contain a listed one (替代开发票据 holds 代开发票). */
  allow: string[];
  pii: PiiSettings;
  injectionScreen: boolean;
  /** Provider moderation of prompts and answers; unset: off. */
  moderation?: ModerationSettings;
  policies: Record<string, PolicyOverride>;
  /** App id → policy name. */
  apps: Record<string, string>;
}

/** Without a guardrails: section: no word lists, no PII masking, the injection screen on. */
export const DEFAULT_GUARDRAILS: GuardrailsSettings = {
  lists: [], allow: [], pii: { mask: [], restoreInReply: false }, injectionScreen: true, policies: {}, apps: {},
};

/** The built-in policy that turns every guardrail off (for a trusted key or an internal agent). */
export const OFF_POLICY = 'off';
export const DEFAULT_POLICY = 'default';

/** One policy, ready to run. */
export class Policy {
  readonly words: WordMatcher | undefined;
  readonly pii: ReadonlySet<PiiKind>;
  readonly restoreInReply: boolean;
  readonly injectionScreen: boolean;
  readonly moderation: ModerationSettings;
  /** Word hits of texts that come again (system prompts, earlier turns) and hold no personal data: see scan-cache.ts. */
  readonly scans = new ScanCache<readonly WordHit[]>();

  constructor(
    readonly name: string,
    settings: GuardrailsSettings,
    override: PolicyOverride = {},
  ) {
    const names = override.lists;
    const lists = names ? settings.lists.filter((l) => names.includes(l.name)) : settings.lists;
    const words = lists.length > 0 ? new WordMatcher(lists, settings.allow) : undefined;
    this.words = words && words.size > 0 ? words : undefined;
    const pii = override.pii ?? settings.pii;
    this.pii = new Set(pii.mask);
    this.restoreInReply = pii.restoreInReply;
    this.injectionScreen = override.injectionScreen ?? settings.injectionScreen;
    this.moderation = override.moderation ?? settings.moderation ?? NO_MODERATION;
  }

  /** Whether a prompt or its answer goes to the moderation model. */
  get moderates(): boolean {
    return this.moderation.input || this.moderation.output;
  }

  /** Whether a prompt needs looking at at all (most calls of an unconfigured server: no). */
  get screensPrompts(): boolean {
    return this.words !== undefined || this.pii.size > 0;
  }
}

/** Every policy of the settings by name, built once (each builds its own automaton). */
export function buildPolicies(settings: GuardrailsSettings): Map<string, Policy> {
  const out = new Map<string, Policy>();
  out.set(DEFAULT_POLICY, new Policy(DEFAULT_POLICY, settings));
  out.set(OFF_POLICY, new Policy(OFF_POLICY, { ...settings, lists: [] }, { lists: [], pii: { mask: [], restoreInReply: false }, injectionScreen: false, moderation: NO_MODERATION }));
  for (const [name, override] of Object.entries(settings.policies)) out.set(name, new Policy(name, settings, override));
  return out;
}
