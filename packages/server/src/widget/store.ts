import type { Kysely } from 'kysely';

/** An app's widget settings as stored; origins as a JSON array. */
export interface WidgetSettingsRow {
  app_id: string;
  allowed_origins: string;
  agent_id: string | null;
  captcha_url: string | null;
  identified_only: number | boolean;
  /** The identity verification secret, sealed with the master key. */
  identity_secret: string | null;
  updated_at: number | string;
}

interface WidgetTables {
  widget_settings: WidgetSettingsRow;
  widget_identity_uses: { app_id: string; signature: string; expires_at: number | string };
}

/** The widget room's tables, behind the few queries it makes. */
export class WidgetStore {
  private readonly db: Kysely<WidgetTables>;

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<WidgetTables>;
  }

  async settings(appId: string): Promise<WidgetSettingsRow | undefined> {
    return this.db.selectFrom('widget_settings').selectAll().where('app_id', '=', appId).executeTakeFirst();
  }

  /** Every app's origins, for answering a preflight (it names no app). Bounded by the number of apps. */
  async allOrigins(): Promise<Array<{ app_id: string; allowed_origins: string }>> {
    return this.db.selectFrom('widget_settings').select(['app_id', 'allowed_origins']).execute();
  }

  async saveSettings(row: Omit<WidgetSettingsRow, 'identity_secret'>): Promise<void> {
    // SQLite binds no booleans: 0/1 there, and PostgreSQL reads '1' and '0' as booleans.
    const { app_id, ...rest } = { ...row, identified_only: row.identified_only ? 1 : 0 };
    await this.db.insertInto('widget_settings').values({ app_id, ...rest, identity_secret: null })
      .onConflict((oc) => oc.column('app_id').doUpdateSet(rest)).execute();
  }

  async saveIdentitySecret(appId: string, sealed: string, now: number): Promise<void> {
    await this.db.insertInto('widget_settings')
      .values({ app_id: appId, allowed_origins: '[]', agent_id: null, captcha_url: null, identified_only: 0, identity_secret: sealed, updated_at: now })
      .onConflict((oc) => oc.column('app_id').doUpdateSet({ identity_secret: sealed, updated_at: now })).execute();
  }

  /**
   * Records one use of a signed identity; false when it was used before (a replay).
   * Uses are kept until the signature expires, then swept: an expired one is refused anyway.
   */
  async useSignature(appId: string, signature: string, expiresAt: number, now: number): Promise<boolean> {
    await this.db.deleteFrom('widget_identity_uses').where('expires_at', '<', now).execute();
    const result = await this.db.insertInto('widget_identity_uses').values({ app_id: appId, signature, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['app_id', 'signature']).doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
}
