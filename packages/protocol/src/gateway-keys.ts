import { z } from 'zod';

// Virtual keys of the /v1 gateway, as /api/gateway/keys takes and shows them (decision 0032).

const Models = z.array(z.string().min(1).max(200)).max(1000).nullable();
const Limit = z.number().int().positive().nullable();
/** A monthly cap beyond any real spend: larger numbers lose cent precision once counted in nano-dollars, so they are refused, not silently rounded. */
export const MAX_MONTHLY_BUDGET_USD = 1_000_000_000;

const KeyFields = {
  allowed_models: Models.optional().describe('Model names this key may call; null or absent: every model'),
  monthly_budget_usd: z.number().nonnegative().max(MAX_MONTHLY_BUDGET_USD).nullable().optional().describe('Spending limit per calendar month (UTC), USD, at most 1e9; CNY models convert at the operator rate'),
  rpm: Limit.optional().describe('Requests per minute; null: no limit'),
  tpm: Limit.optional().describe('Tokens per minute (prompt + completion); null: no limit'),
  expires_at: z.number().int().positive().nullable().optional().describe('Epoch ms after which the key stops working'),
  metadata: z.record(z.string(), z.unknown()).optional().describe('Free-form, e.g. { team, user }'),
};

export const GatewayKeyCreate = z.object({ name: z.string().min(1).max(200), ...KeyFields });
export type GatewayKeyCreate = z.infer<typeof GatewayKeyCreate>;

export const GatewayKeyUpdate = z.object({ name: z.string().min(1).max(200).optional(), ...KeyFields });
export type GatewayKeyUpdate = z.infer<typeof GatewayKeyUpdate>;

/** A key as the API shows it: never the secret or its hash. */
export const GatewayKey = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe('The first characters of the secret, so people can tell keys apart'),
  allowed_models: z.array(z.string()).nullable().describe('null: every model'),
  monthly_budget_usd: z.number().nullable(),
  rpm: z.number().int().nullable(),
  tpm: z.number().int().nullable(),
  expires_at: z.number().nullable(),
  revoked_at: z.number().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.number(),
  updated_at: z.number(),
});
export type GatewayKey = z.infer<typeof GatewayKey>;

/** The create answer: the only time the secret is shown. */
export const GatewayKeyCreated = z.object({ key: GatewayKey, secret: z.string() });
export type GatewayKeyCreated = z.infer<typeof GatewayKeyCreated>;

export const GatewayKeyList = z.object({ keys: z.array(GatewayKey) });
export type GatewayKeyList = z.infer<typeof GatewayKeyList>;

/** One key with what it spent this calendar month (UTC). */
export const GatewayKeyWithSpend = GatewayKey.extend({
  month: z.string().describe("'YYYY-MM', UTC"),
  spent_usd: z.number().describe('Spent this month, converted to USD at the current rates'),
});
export type GatewayKeyWithSpend = z.infer<typeof GatewayKeyWithSpend>;
