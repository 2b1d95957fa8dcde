import { z } from 'zod';
import { User, UserKind } from './models.ts';

// No '~': ids starting with it are the namespace of sign-ins by name (see sign-in.ts).
export const UserId = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'use 1-128 letters, digits or _ . : @ -');
export const UserMetadata = z.record(z.string(), z.unknown()).refine((m) => JSON.stringify(m).length <= 16_384, 'at most 16 KB of JSON');
const AvatarUrl = z.string().url().max(2048).nullable();

export const CreateUserBody = z.object({
  id: UserId.optional().describe('Your own id for the user; minted (usr_…) when left out'),
  name: z.string().min(1).max(200),
  kind: UserKind.optional(),
  avatar_url: AvatarUrl.optional(),
  metadata: UserMetadata.optional(),
});
export type CreateUserBody = z.input<typeof CreateUserBody>;

export const UpdateUserBody = z.object({ name: z.string().min(1).max(200).optional(), avatar_url: AvatarUrl.optional(), metadata: UserMetadata.optional() });
export type UpdateUserBody = z.input<typeof UpdateUserBody>;

export const UserListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().optional().describe('next_after of the previous page'),
  kind: UserKind.optional(),
});

export const UserPage = z.object({
  users: z.array(User),
  /** Pass as `after` for the next page; null on the last page. */
  next_after: z.string().nullable(),
});
export type UserPage = z.infer<typeof UserPage>;

export const MintTokenBody = z.object({ ttl_seconds: z.number().int().optional().describe('Lifetime of the token; an hour when left out') });

/** A user token for the SDK and the WebSocket. */
export const UserToken = z.object({
  token: z.string(),
  user_id: z.string(),
  /** Milliseconds since the epoch. */
  expires_at: z.number().int(),
});
export type UserToken = z.infer<typeof UserToken>;

export const RevokedTokens = z.object({ token_version: z.number().int().describe('Tokens minted before this version no longer work') });
export type RevokedTokens = z.infer<typeof RevokedTokens>;

/** What a chat shows of someone when starting a chat or adding to a group. */
export const Person = User.pick({ id: true, name: true, kind: true, avatar_url: true });
export type Person = z.infer<typeof Person>;

export const PeopleQuery = z.object({
  q: z.string().max(100).default('').describe('Part of a name or id, any case; empty lists everyone'),
  kind: UserKind.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const PeopleResult = z.object({ users: z.array(Person) });
export type PeopleResult = z.infer<typeof PeopleResult>;
