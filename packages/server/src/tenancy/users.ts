import type { User, UserKind } from '@warbler/protocol';
import { MAX_TOKEN_TTL_SECONDS, type UserTokens } from '../auth/tokens.ts';
import { badRequest, notFound, WarblerError } from '../errors.ts';
import { newId } from '../ids.ts';
import { StoreConflict, type Store, type UserRow } from '../store/index.ts';
import type { PublishChatEvent } from '../chat/index.ts';
import { CloseCode } from '@warbler/protocol';

export interface CreateUserInput {
  id?: string;
  name: string;
  kind?: UserKind;
  avatar_url?: string | null;
  metadata?: Record<string, unknown>;
}

export const toUser = (row: UserRow): User => ({
  id: row.id,
  app_id: row.app_id,
  kind: row.kind,
  name: row.name,
  avatar_url: row.avatar_url,
  metadata: row.metadata,
  created_at: row.created_at,
});

/** An app's users (people and agents) and the tokens they connect with. */
export class Users {
  constructor(
    private readonly store: Store,
    private readonly tokens: UserTokens,
    private readonly publish: PublishChatEvent,
  ) {}

  async create(appId: string, input: CreateUserInput): Promise<User> {
    try {
      const row = await this.store.createUser({
        id: input.id ?? newId('usr'),
        app_id: appId,
        kind: input.kind ?? 'human',
        name: input.name,
        avatar_url: input.avatar_url ?? null,
        metadata: input.metadata ?? {},
        created_at: Date.now(),
      });
      return toUser(row);
    } catch (err) {
      if (err instanceof StoreConflict) throw new WarblerError('conflict', `A user with id "${input.id}" already exists in this app. Pick another id or update that user.`);
      throw err;
    }
  }

  async get(appId: string, userId: string): Promise<UserRow> {
    const row = await this.store.getUser(appId, userId);
    if (!row) throw notFound('The user');
    return row;
  }

  async list(appId: string, page: { limit: number; after?: string; kind?: UserKind }): Promise<{ users: User[]; next_after: string | null }> {
    const rows = await this.store.listUsers(appId, page);
    return { users: rows.map(toUser), next_after: rows.length === page.limit ? (rows.at(-1)?.id ?? null) : null };
  }

  async update(appId: string, userId: string, patch: { name?: string; avatar_url?: string | null; metadata?: Record<string, unknown> }): Promise<User> {
    const row = await this.store.updateUser(appId, userId, { ...patch, updated_at: Date.now() });
    if (!row) throw notFound('The user');
    return toUser(row);
  }

  async mintToken(appId: string, userId: string, ttlSeconds = 3600): Promise<{ token: string; user_id: string; expires_at: number }> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
      throw badRequest(`ttl_seconds must be a whole number from 60 to ${MAX_TOKEN_TTL_SECONDS} (30 days).`);
    }
    const user = await this.get(appId, userId);
    const { token, expiresAt } = await this.tokens.mint({ appId, userId, version: user.token_version }, ttlSeconds);
    return { token, user_id: userId, expires_at: expiresAt };
  }

  /** Invalidates every token the user holds and closes their open sockets. */
  async revokeTokens(appId: string, userId: string): Promise<{ token_version: number }> {
    const version = await this.store.bumpTokenVersion(appId, userId);
    if (version === undefined) throw notFound('The user');
    this.publish({ to: 'user', app_id: appId, user_id: userId, close: { code: CloseCode.unauthorized, reason: 'tokens revoked' } });
    return { token_version: version };
  }
}
