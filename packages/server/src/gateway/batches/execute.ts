import type { CompletionEndpoint, CompletionResult } from '../service.ts';
import type { GatewayCaller } from '../caller.ts';
import type { LineExecutor, LineResult } from './runner.ts';

/** What the runner needs of the gateway core: one body run with the key's limits, budget and metering. */
export interface CompletionRunner {
  runCompletion(caller: GatewayCaller, body: unknown, options: { signal?: AbortSignal; source?: 'gateway' | 'batch'; endpoint?: CompletionEndpoint }): Promise<CompletionResult>;
}

/** When the gateway does not say how long a key's limit needs, ask again after this. */
const DEFAULT_LIMIT_WAIT_MS = 1_000;

/**
 * Batch lines run through the same path as /v1 requests, billed as source
 * 'batch' at normal rates: no provider we route to offers a native batch API
 * we can reach. A provider that does would get a `nativeBatch` capability and
 * its own executor that uploads the lines there and records its results with
 * `batch_rates: true` (docs/costs.md).
 */
export function executeThroughGateway(gateway: CompletionRunner): LineExecutor {
  return async ({ caller, endpoint, body, signal }) => {
    const result = await gateway.runCompletion(caller, body, { signal, source: 'batch', endpoint });
    return lineResult(result, signal);
  };
}

export function lineResult(result: CompletionResult, signal: AbortSignal): LineResult {
  if (result.ok) return { kind: 'response', statusCode: result.status, body: result.body };
  if (signal.aborted || result.status === 499) return { kind: 'aborted' };
  const error = result.body.error;
  if (result.status === 429 && error.type === 'insufficient_quota') {
    return { kind: 'budget', statusCode: result.status, body: result.body, message: error.message };
  }
  // The key's own RPM/TPM (not upstream's, which the router has already retried): a batch waits its turn.
  if (result.status === 429 && (error.type === 'requests' || error.type === 'tokens')) {
    const headers = (result as { headers?: Record<string, string> }).headers;
    const neverFits = headers?.['x-should-retry'] === 'false' || error.message.startsWith('Request too large');
    if (!neverFits) {
      const wait = Number(headers?.['retry-after-ms']);
      return { kind: 'limited', retryAfterMs: Number.isFinite(wait) && wait > 0 ? wait : DEFAULT_LIMIT_WAIT_MS };
    }
  }
  return { kind: 'response', statusCode: result.status, body: result.body };
}
