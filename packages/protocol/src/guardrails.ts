import { z } from 'zod';

// Guardrail interventions as the console reads them: every time a sensitive
// word, a personal-data mask or the injection screen acted on a call.

export const GuardrailPath = z.enum(['v1', 'batch', 'agent']);
export type GuardrailPath = z.infer<typeof GuardrailPath>;
export const GuardrailAction = z.enum(['block', 'mask', 'flag', 'strip']);
export type GuardrailAction = z.infer<typeof GuardrailAction>;

export const GuardrailInterventionQuery = z.object({
  action: GuardrailAction.optional(),
  /** A rule as it is recorded: words:<list>, pii:<kind> or injection:<rule>. */
  rule: z.string().min(1).max(200).regex(/^(words|pii|injection):[^\u0000-\u001f]{1,190}$/, 'words:<list>, pii:<kind> or injection:<rule>').optional(),
  path: GuardrailPath.optional(),
  since: z.coerce.number().int().min(0).max(8.64e15).optional(),
  until: z.coerce.number().int().min(0).max(8.64e15).optional(),
  /** Page backwards: interventions older than this cursor (next_before of the last page). */
  before: z.string().min(1).max(100).regex(/^[A-Za-z0-9_-]+$/, 'the next_before of the previous page').optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type GuardrailInterventionQuery = z.infer<typeof GuardrailInterventionQuery>;

export const GuardrailIntervention = z.object({
  id: z.string(),
  at: z.number().int(),
  path: GuardrailPath,
  /** The gateway key (v1, batch) or agent (agent) the call was for; null for the master key. */
  who: z.string().nullable(),
  rule: z.string(),
  action: GuardrailAction,
  /** The policy that applied. */
  policy: z.string(),
  /** Occurrences in the call. */
  count: z.number().int(),
  /** The listed word, for word rules. */
  word: z.string().nullable(),
  /** A few words around the first occurrence, with the word itself and any personal data masked. */
  excerpt: z.string().nullable(),
});
export type GuardrailIntervention = z.infer<typeof GuardrailIntervention>;

export const GuardrailInterventionPage = z.object({
  interventions: z.array(GuardrailIntervention),
  /** Rules seen in the app's stored interventions, for a filter. */
  rules: z.array(z.string()),
  next_before: z.string().nullable(),
});
export type GuardrailInterventionPage = z.infer<typeof GuardrailInterventionPage>;
