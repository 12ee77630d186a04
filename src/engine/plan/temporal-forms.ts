import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { sqliteIdent } from '../../db/quote.ts';
import { detectTemporalForm, type Family, type SqliteValue, type TemporalForm } from '../values/codec.ts';
import type { SyncPlan } from './types.ts';

/**
 * How the till app stores a temporal column (ISO text, SQLite datetime text, epoch seconds or
 * ms), read once from its values and then remembered.
 *
 * The form is guessed from the first non-NULL values (values/temporal-form.ts). Reading them is
 * cheap while the column is mostly filled, but on a column that is mostly NULL (`deleted_at`,
 * `closed_at`) `WHERE col IS NOT NULL LIMIT 20` walks the whole table, and it did so in every run:
 * ~0.2 s a run on a 1M-row table, for an incremental cycle that should cost O(changes). So the
 * first run that finds values remembers the form in the till's system_settings (run.ts, after the
 * install; never in a dry run), keyed by table, column and declared type, and later runs read it from
 * there. The remembered form is the one the oldest values vote for, which is what sampling in
 * rowid order found anyway; a column that has no value yet is sampled again next run.
 */
export interface TemporalFormGuess {
  form: TemporalForm;
  /** Read from the column's values just now (and worth remembering), not from a record. */
  learned: boolean;
}

function formKey(table: string, column: string, declaredType: string): string {
  return `possync.temporal-form.${JSON.stringify([table, column, declaredType])}`;
}

export function temporalFormOf(db: SqliteDb, table: string, column: string, family: Family, declaredType: string): TemporalFormGuess {
  const remembered = rememberedForm(db, formKey(table, column, declaredType));
  if (remembered) return { form: remembered, learned: false };
  const samples = db
    .prepare(`SELECT ${sqliteIdent(column)} AS v FROM ${sqliteIdent(table)} WHERE ${sqliteIdent(column)} IS NOT NULL LIMIT 20`)
    .safeIntegers(true)
    .all() as { v: SqliteValue }[];
  return { form: detectTemporalForm(family, declaredType, samples.map((s) => s.v)), learned: samples.length > 0 };
}

function rememberedForm(db: SqliteDb, key: string): TemporalForm | undefined {
  let row: { setting_value: string | null } | undefined;
  try {
    row = db.prepare(`SELECT setting_value FROM system_settings WHERE setting_key = ?`).get(key) as typeof row;
  } catch {
    return undefined; // no system_settings yet: possync has not run on this till
  }
  return (row?.setting_value ?? undefined) as TemporalForm | undefined;
}

/** In the install's write step: records the forms this run's plan read from values. */
export function rememberTemporalForms(db: SqliteDb, plan: SyncPlan): void {
  const put = db.prepare(
    `INSERT INTO system_settings (setting_key, setting_value, updated_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     ON CONFLICT (setting_key) DO UPDATE SET setting_value = excluded.setting_value, updated_at = excluded.updated_at`,
  );
  for (const t of plan.tables) {
    for (const c of t.columns) {
      if (c.codec.form !== undefined && c.formLearned) put.run(formKey(t.sqliteName, c.sqlite, c.formLearned.declaredType), c.codec.form);
    }
  }
}
