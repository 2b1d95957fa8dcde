// Types only: the chat app's entry carries no zod schemas.
import type { DevSignIn, DevSignInStatus, User } from '@warbler/protocol';
import { api } from './api.ts';

/** Who is signed in to the chat app, kept in localStorage so a reload stays signed in. */
export interface ChatSession {
  userId: string;
  name: string;
  token: string;
  /** Set for sign-in by name: the token is renewed by signing in again with it. */
  devName?: string;
}

const KEY = 'warbler.session';

export function loadSession(storage: Storage): ChatSession | undefined {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Partial<ChatSession>;
    if (typeof s.token === 'string' && typeof s.userId === 'string') return { userId: s.userId, name: s.name ?? s.userId, token: s.token, ...(s.devName && { devName: s.devName }) };
  } catch {
    // A damaged entry is the same as none.
  }
  return undefined;
}

export function saveSession(storage: Storage, session: ChatSession | undefined): void {
  if (session) storage.setItem(KEY, JSON.stringify(session));
  else storage.removeItem(KEY);
}

/** `locale` is the interface's language: a newcomer's welcome message is written in it. */
export async function devSignIn(name: string, locale?: string): Promise<ChatSession> {
  const r = await api<DevSignIn>('POST', '/api/dev/sign-in', { body: { name, ...(locale && { locale }) } });
  return { userId: r.user_id, name: r.user.name, token: r.token, devName: name };
}

export async function devSignInEnabled(): Promise<boolean> {
  try {
    return (await api<DevSignInStatus>('GET', '/api/dev/sign-in')).enabled;
  } catch {
    return false;
  }
}

/** A token from the app's backend: whose it is comes from its claims, the name from the server. */
export async function tokenSignIn(token: string): Promise<ChatSession> {
  const sub = subjectOf(token);
  if (!sub) throw new Error('That is not a Warbler user token.');
  const user = await api<User>('GET', `/api/users/${encodeURIComponent(sub)}`, { token });
  return { userId: user.id, name: user.name, token };
}

function subjectOf(token: string): string | undefined {
  const payload = token.trim().split('.')[1];
  if (!payload) return undefined;
  try {
    const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
