import type { CloseCode as ServerCloseCode } from '@warbler/protocol';

export interface BackoffOptions {
  minDelayMs: number;
  maxDelayMs: number;
}

export const defaultBackoff: BackoffOptions = { minDelayMs: 500, maxDelayMs: 30_000 };

/**
 * The server's close codes, repeated here because `@warbler/protocol` also
 * carries zod schemas a browser bundle should not pay for; `satisfies`
 * keeps the two from drifting apart.
 */
export const CloseCode = {
  normal: 1000,
  restart: 1012,
  unauthorized: 4001,
  slowConsumer: 4008,
  policy: 4009,
} as const satisfies typeof ServerCloseCode;

/**
 * Exponential backoff with "equal jitter": half the delay is fixed so a
 * client never hammers a server that is down, half is random so a thousand
 * clients dropped at once do not come back in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Why the socket went away, in the words the status event uses. */
export type DropReason =
  | 'restart'
  | 'slow_consumer'
  | 'policy'
  | 'unauthorized'
  | 'heartbeat_timeout'
  | 'connect_timeout'
  | 'connect_failed'
  | 'connection_lost';

export interface Drop {
  code: number;
  /** The socket never reached `ready`. */
  beforeReady: boolean;
  /** The client gave up on it: no heartbeat, or no `ready` in time. */
  cause?: 'heartbeat_timeout' | 'connect_timeout';
  /** The handshake was answered with HTTP 401 (only Node's `ws` can tell). */
  unauthorized?: boolean;
  /** The server's `bye` said how long to wait. */
  retryAfterMs?: number;
}

export interface ReconnectPlan {
  reason: DropReason;
  delayMs: number;
  /** Whether this drop counts towards the growing backoff. */
  countsAsFailure: boolean;
}

/**
 * What to do after a drop. `unauthorized` is returned with delay 0: the
 * caller first gets a fresh token, and gives up if it cannot.
 */
export function planReconnect(drop: Drop, attempt: number, options: BackoffOptions, random: () => number = Math.random): ReconnectPlan {
  if (drop.code === CloseCode.unauthorized || drop.unauthorized) return { reason: 'unauthorized', delayMs: 0, countsAsFailure: false };
  if (drop.code === CloseCode.restart) {
    // A restart is planned: come back soon, but spread out so the new node is not stampeded.
    const spread = Math.round(random() * options.minDelayMs);
    return { reason: 'restart', delayMs: (drop.retryAfterMs ?? 0) + spread, countsAsFailure: false };
  }
  if (drop.code === CloseCode.slowConsumer) {
    // Nothing is wrong with the network; resume right away from the cursors.
    return { reason: 'slow_consumer', delayMs: Math.max(drop.retryAfterMs ?? 0, Math.round(random() * options.minDelayMs)), countsAsFailure: false };
  }
  if (drop.code === CloseCode.policy) {
    // The server thinks this client misbehaves; coming back quickly would only repeat it.
    const delay = backoffDelay(attempt + 4, { ...options, maxDelayMs: Math.max(options.maxDelayMs, options.minDelayMs * 16) }, random);
    return { reason: 'policy', delayMs: Math.max(drop.retryAfterMs ?? 0, delay), countsAsFailure: true };
  }
  const reason: DropReason = drop.cause ?? (drop.beforeReady ? 'connect_failed' : 'connection_lost');
  return { reason, delayMs: Math.max(drop.retryAfterMs ?? 0, backoffDelay(attempt, options, random)), countsAsFailure: true };
}
