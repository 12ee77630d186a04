import type { Queryable } from './gateway.ts';

/**
 * Upserts key/value settings in possync.system_settings in one statement: a push batch's
 * checkpoint and column merge's commit token go in together, one round trip inside the batch's
 * transaction.
 */
export async function writeSettings(q: Queryable, settings: ReadonlyArray<readonly [key: string, value: string]>): Promise<void> {
  if (settings.length === 0) return;
  await q.query(
    `INSERT INTO possync.system_settings (setting_key, setting_value, updated_at) SELECT k, v, now() FROM unnest($1::text[], $2::text[]) AS s(k, v)
     ON CONFLICT (setting_key) DO UPDATE SET setting_value = EXCLUDED.setting_value, updated_at = EXCLUDED.updated_at`,
    [settings.map((e) => e[0]), settings.map((e) => e[1])],
  );
}
