// A call's guardrail interventions told in the call's own log line. A /v1
// request already writes one line (http/index.ts, onResponse); a second line
// per guarded call, for its interventions, was the largest part of what
// guardrails cost the call. Calls without such a line (agents, batches) and
// steps that end after it was written keep a line of their own (the
// interventionReporter writes it).
import type { GuardrailAction, Intervention } from './screen.ts';

/** What a log line says of one intervention: its excerpt is for the console (stored), and bytes are most of a line's cost. */
export interface LoggedIntervention {
  rule: string;
  action: GuardrailAction;
  count: number;
  word?: string;
}

export function loggedIntervention({ rule, action, count, word }: Intervention): LoggedIntervention {
  return word === undefined ? { rule, action, count } : { rule, action, count, word };
}

export class InterventionNotes {
  /** The steps' interventions, in order (one step per /v1 call in the usual case). */
  private steps: Intervention[][] | undefined;
  private written = false;

  /** Takes one step's interventions for the line; false once the line is written (the caller then logs them itself). */
  add(fired: Intervention[]): boolean {
    if (this.written) return false;
    (this.steps ??= []).push(fired);
    return true;
  }

  /**
   * What the line says, once (later steps log their own line): each
   * intervention as logged, and whether one blocked (the line then goes at
   * warn); undefined when nothing fired.
   */
  take(): { guardrails: LoggedIntervention[]; blocked: boolean } | undefined {
    this.written = true;
    const steps = this.steps;
    if (!steps) return undefined;
    this.steps = undefined;
    const guardrails: LoggedIntervention[] = [];
    let blocked = false;
    for (const step of steps) {
      for (const i of step) {
        guardrails.push(loggedIntervention(i));
        if (i.action === 'block') blocked = true;
      }
    }
    return { guardrails, blocked };
  }
}
