/**
 * Who is calling. With a user token, userId is that user and every check is
 * made as them. With the app secret (or master key), userId is undefined: the
 * app's backend may act for any of its users, naming them explicitly.
 */
export interface Actor {
  appId: string;
  userId?: string;
  /** The realtime session the call came from, so its own push can be skipped (it gets an ack). */
  sessionId?: string;
}

export const isApp = (actor: Actor): boolean => actor.userId === undefined;
