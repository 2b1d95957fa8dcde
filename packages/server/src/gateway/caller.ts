import type { InterventionNotes } from '../guardrails/index.ts';
import type { ApiKeyRow } from '../store/index.ts';

/**
 * Who is calling /v1. A virtual key carries its app and its limits; the
 * master key (operator) acts for the app named in X-Warbler-App, or the
 * default app, with no limits.
 */
export interface GatewayCaller {
  appId: string;
  /** null for the master key. */
  key: ApiKeyRow | null;
  /** The x-request-id of this request, for the ledger and logs. */
  requestId: string;
  /** The request's log line, which tells the call's guardrail interventions (set by the /v1 routes). */
  guardrails?: InterventionNotes;
}

/** May this caller use this model? */
export function mayUse(caller: GatewayCaller, model: string): boolean {
  return caller.key?.allowed_models == null || caller.key.allowed_models.includes(model);
}
