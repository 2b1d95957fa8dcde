// The guardrails room: sensitive-word lists (Aho-Corasick on normalized
// text), personal-data masking, and the prompt-injection screen, applied
// through one PromptScreen per call on /v1, batches and agents alike.
// Wiring (app.ts): new Guardrails(file?.guardrails, { onInterventions }) into
// the Gateway (admit) and the AgentRuntime (before the model call; passages
// and tool results). Configuration: warbler.yaml `guardrails:` (settings room).
export { ContentBlocked, Guardrails, PromptScreen, type GuardrailAction, type GuardrailPath, type GuardrailsDeps, type Intervention, type ScreenScope } from './screen.ts';
export { DEFAULT_GUARDRAILS, DEFAULT_POLICY, OFF_POLICY, type GuardrailsSettings, type PiiSettings, type PolicyOverride } from './policy.ts';
export { PII_KINDS, PiiVault, findPii, luhn, validResidentId, type PiiKind } from './pii.ts';
export { WordMatcher, type WordAction, type WordHit, type WordList } from './words.ts';
export { INJECTION_RULES, screenInstructions } from './injection.ts';
export { InterventionNotes, loggedIntervention, type LoggedIntervention } from './intervention-notes.ts';
export { InterventionLog, interventionReporter, type InterventionLogDeps, type InterventionReporterDeps } from './intervention-log.ts';
export { InterventionStore, type InterventionFilter, type InterventionRow } from './intervention-store.ts';
export { ModerationFlagged, NO_MODERATION, openAiModerator, verdictOf, type ModerationSettings, type ModerationVerdict, type Moderator } from './moderation.ts';
