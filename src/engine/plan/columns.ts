import { matchName } from '../../config/naming.ts';
import type { ResolvedConfig, TableConfig } from '../../config/types.ts';
import type { PgColumn } from '../../db/postgres/introspect.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { SqliteColumn } from '../../db/sqlite/introspect.ts';
import { affinityOf, familyOf } from '../values/codec.ts';
import { temporalFormOf } from './temporal-forms.ts';
import type { ColumnPlan } from './types.ts';
import { modifierOf } from '../values/fits.ts';

const TEMPORAL = new Set(['timestamptz', 'timestamp', 'date']);

/** Pairs a Postgres column with a SQLite column and the codec between them. */
export function columnPlan(db: SqliteDb, sqliteTable: string, pg: PgColumn, sqlite: SqliteColumn): ColumnPlan {
  const { family, element } = familyOf({ dataType: pg.dataType, udtName: pg.udtName, elementUdtName: pg.elementUdtName });
  const affinity = affinityOf(sqlite.declaredType);
  const codec: ColumnPlan['codec'] = { family, affinity };
  if (element) codec.element = element;
  let learned: ColumnPlan['formLearned'];
  if (TEMPORAL.has(family)) {
    // Keep whatever form the till app already stores (ISO text, SQLite datetime text, epoch ...).
    const guess = temporalFormOf(db, sqliteTable, sqlite.name, family, sqlite.declaredType);
    codec.form = guess.form;
    if (guess.learned) learned = { declaredType: sqlite.declaredType };
  }
  return { pg: pg.name, sqlite: sqlite.name, family, castType: pg.castType, codec, pgNotNull: pg.notNull, modifier: modifierOf(family, pg.declaredType), ...(learned ? { formLearned: learned } : {}) };
}

/**
 * Synced columns = Postgres columns that have a SQLite counterpart (columnMap first, then the
 * naming convention), minus localOnly names (either side), minus generated / identity-always
 * columns on either side, minus the table's own localPk and serverIdCol (handled as identity).
 */
export function matchColumns(
  config: ResolvedConfig,
  table: TableConfig,
  pgColumns: readonly PgColumn[],
  sqliteColumns: readonly SqliteColumn[],
): { pairs: Array<{ pg: PgColumn; sqlite: SqliteColumn }>; unmatchedPg: PgColumn[]; unmatchedSqlite: SqliteColumn[] } {
  const localOnly = new Set([...config.localOnly, ...table.localOnly]);
  const reserved = new Set([table.localPk, table.serverIdCol].filter((c): c is string => c !== undefined));
  const explicit = new Map<string, string>(); // pg -> sqlite
  for (const [sqliteCol, pgCol] of Object.entries(table.columnMap)) explicit.set(pgCol, sqliteCol);
  const mappedAway = new Set(Object.keys(table.columnMap));

  const candidates = sqliteColumns.filter((c) => !c.generated && !localOnly.has(c.name) && !reserved.has(c.name));
  const candidateNames = candidates.filter((c) => !mappedAway.has(c.name)).map((c) => c.name);
  const pairs: Array<{ pg: PgColumn; sqlite: SqliteColumn }> = [];
  const unmatchedPg: PgColumn[] = [];
  const used = new Set<string>();
  for (const pg of pgColumns) {
    if (pg.generated || localOnly.has(pg.name)) continue;
    const sqliteName = explicit.get(pg.name) ?? matchName(pg.name, candidateNames, config.naming);
    const sqlite = sqliteName === undefined ? undefined : candidates.find((c) => c.name === sqliteName);
    if (!sqlite || used.has(sqlite.name)) {
      unmatchedPg.push(pg);
      continue;
    }
    used.add(sqlite.name);
    pairs.push({ pg, sqlite });
  }
  const unmatchedSqlite = candidates.filter((c) => !used.has(c.name));
  return { pairs, unmatchedPg, unmatchedSqlite };
}
