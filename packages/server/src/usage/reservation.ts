// What a model call may use at most, known before it starts: the prompt (a
// quick upper estimate from its size) plus the output it asked for. Key TPM
// limits reserve it, the ledger's in-flight row and budgets count it, and
// both settle to what upstream reported once the call ends (docs/costs.md).
import { quickPromptTokens, type ChatRequest, type EmbedRequest } from '../llm/index.ts';

/**
 * Output reserved for a chat call that sets neither max_tokens nor
 * max_completion_tokens. Most chat answers are shorter; a longer one is
 * charged in full when it ends (the key's bucket goes into debt and it waits).
 * Clients that need a hard bound send max_tokens.
 */
export const DEFAULT_OUTPUT_RESERVATION = 1_024;

/** Most output a call asked for, or the default reservation when it did not say. */
export function expectedOutputTokens(request: Pick<ChatRequest, 'max_tokens' | 'max_completion_tokens'>): number {
  const asked = request.max_completion_tokens ?? request.max_tokens;
  return typeof asked === 'number' && asked > 0 ? Math.ceil(asked) : DEFAULT_OUTPUT_RESERVATION;
}

/** Whether the request itself bounds its output (so a reservation larger than the key's TPM is the client's to lower). */
export function asksForOutput(request: Pick<ChatRequest, 'max_tokens' | 'max_completion_tokens'>): boolean {
  return typeof (request.max_completion_tokens ?? request.max_tokens) === 'number';
}

export interface ReservedUsage {
  promptTokens: number;
  completionTokens: number;
}

/** The worst case of one call: its prompt estimate and the output it may produce (none for embeddings). */
export function reservedUsage(request: ChatRequest | EmbedRequest): ReservedUsage {
  if ('input' in request) {
    let bytes = 0;
    for (const s of request.input) bytes += Buffer.byteLength(s);
    return { promptTokens: Math.ceil(bytes / 3), completionTokens: 0 };
  }
  return { promptTokens: quickPromptTokens(request), completionTokens: expectedOutputTokens(request) };
}
