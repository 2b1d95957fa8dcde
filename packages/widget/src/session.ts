// Types only: the widget bundle carries no zod (its size is part of the product, docs/widget.md).
import type { SupportStatus, WidgetSession } from '@warbler/protocol';
import type { Identity, WidgetConfig } from './config.ts';

/** What POST /api/widget/session answers. */
export type Session = WidgetSession;
export type { SupportStatus };

export class WidgetApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** localStorage may be off (private modes, blocked third-party storage): the widget then forgets on reload. */
function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/**
 * The visitor's session: their key (who they are, kept in localStorage) and a
 * short-lived token, renewed from the server when it runs out.
 */
export class Sessions {
  private current: Session | undefined;
  private readonly keyName: string;
  private readonly sessionName: string;

  constructor(private readonly config: WidgetConfig) {
    this.keyName = `warbler.widget.${config.app}.visitor`;
    this.sessionName = `warbler.widget.${config.app}.session`;
    this.current = this.stored();
  }

  /** A session with a token good for another minute, from memory, storage or the server. */
  async get(fresh = false): Promise<Session> {
    if (!fresh && this.current && this.current.expires_at - Date.now() > 60_000) return this.current;
    const identity = this.config.identity;
    const body: Record<string, unknown> = { app_id: this.config.app, locale: this.config.locale };
    const visitorKey = storage()?.getItem(this.keyName);
    if (identity) body.identity = identity;
    else if (visitorKey) body.visitor_key = visitorKey;
    const session = await this.call<Session>('POST', '/api/widget/session', body).catch((err: unknown) => {
      // A key this app no longer accepts: start again as a new visitor rather than fail for good.
      if (!identity && visitorKey && err instanceof WidgetApiError && err.status === 401) {
        storage()?.removeItem(this.keyName);
        return this.call<Session>('POST', '/api/widget/session', { app_id: this.config.app, locale: this.config.locale });
      }
      throw err;
    });
    this.current = session;
    const s = storage();
    if (session.visitor_key) s?.setItem(this.keyName, session.visitor_key);
    s?.setItem(this.sessionName, JSON.stringify({ ...session, identity_user: identity?.user_id ?? null }));
    return session;
  }

  /** Calls the API as the visitor (or without a token, for the session itself). */
  async call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(this.config.server + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), credentials: 'omit' });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as { error?: { code: string; message: string } }) : {};
    if (!res.ok) throw new WidgetApiError(res.status, parsed.error?.code ?? 'internal', parsed.error?.message ?? res.statusText);
    return parsed as T;
  }

  /** A session kept from an earlier page, when it is for the same visitor (an identified one may have changed). */
  private stored(): Session | undefined {
    try {
      const raw = storage()?.getItem(this.sessionName);
      if (!raw) return undefined;
      const kept = JSON.parse(raw) as Session & { identity_user: string | null };
      const wanted = this.config.identity?.user_id ?? null;
      return kept.identity_user === wanted ? kept : undefined;
    } catch {
      return undefined;
    }
  }

  /** Identify as another user (the company's page signed someone in): the next session is theirs. */
  identify(identity: Identity | undefined): void {
    this.config.identity = identity;
    this.current = undefined;
  }
}
