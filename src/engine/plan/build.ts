import { toSnake } from '../../config/naming.ts';
import type { ResolvedConfig, TableConfig } from '../../config/types.ts';
import type { PgTableInfo } from '../../db/postgres/introspect.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { introspectSqlite, sqliteTableNames, type SqliteTableInfo } from '../../db/sqlite/introspect.ts';
import { planCloudKey } from './cloud-key.ts';
import { columnPlan, matchColumns } from './columns.ts';
import { fkOrder, planForeignKeys } from './foreign-keys.ts';
import type { ColumnPlan, ConstantColumn, LocalFill, PlanProblem, ScopeFilter, SyncPlan, TablePlan } from './types.ts';

/**
 * Turns the config plus what both databases really contain into a plan: which columns move, how
 * values convert, which key identifies a row on each side, and the FK order tables run in.
 * Every problem is collected (not thrown) so callers can report them all at once.
 */
export function buildPlan(config: ResolvedConfig, pgTables: Map<string, PgTableInfo>, db: SqliteDb): { plan: SyncPlan; problems: PlanProblem[] } {
  const problems: PlanProblem[] = [];
  const warnings: string[] = [];
  const sqliteNames = sqliteTableNames(db);
  const planned: TablePlan[] = [];

  for (const table of config.tables) {
    const sqliteName = table.sqliteName ?? resolveSqliteName(table.name, sqliteNames, config.naming);
    const pg = pgTables.get(table.name);
    const sqlite = sqliteName === undefined ? undefined : introspectSqlite(db, sqliteName);
    if (!pg) {
      problems.push({ table: table.name, message: `table "${table.name}" does not exist in Postgres schema "${config.postgresSchema}"`, fix: 'create it (prisma migrate deploy) or fix tables[].name / postgres.schema' });
    }
    if (!sqlite) {
      const shown = sqliteName ?? table.sqliteName ?? table.name;
      problems.push({ table: table.name, message: `table "${shown}" does not exist in the SQLite database`, fix: 'create it in the terminal database or set tables[].sqliteName' });
    }
    if (!pg || !sqlite) continue;
    const plan = planTable(config, table, pg, sqlite, db, problems);
    if (plan) planned.push(plan);
  }

  const byName = new Map(planned.map((t) => [t.name, t]));
  for (const t of planned) t.fks = planForeignKeys(config, t, byName, problems);
  const ordered = fkOrder(planned, warnings);
  ordered.forEach((t, i) => (t.order = i));
  return { plan: { schema: config.postgresSchema, terminalId: config.terminalId, tables: ordered, byName, warnings }, problems };
}

function resolveSqliteName(pgName: string, sqliteNames: string[], naming: 'exact' | 'snake'): string | undefined {
  if (sqliteNames.includes(pgName)) return pgName;
  if (naming === 'snake') return sqliteNames.find((n) => toSnake(n) === pgName);
  return undefined;
}

function planTable(
  config: ResolvedConfig,
  table: TableConfig,
  pg: PgTableInfo,
  sqlite: SqliteTableInfo,
  db: SqliteDb,
  problems: PlanProblem[],
): TablePlan | undefined {
  const before = problems.length;
  const problem = (message: string, fix?: string) => problems.push(fix ? { table: table.name, message, fix } : { table: table.name, message });
  const { pairs } = matchColumns(config, table, pg.columns, sqlite.columns);
  const columns: ColumnPlan[] = pairs.map(({ pg: p, sqlite: s }) => columnPlan(db, sqlite.name, p, s));
  const byPg = (name: string) => columns.find((c) => c.pg === name);

  // Identity.
  let key: ColumnPlan[] = [];
  let serverIdCol: ColumnPlan | undefined;
  let localKey: string[];
  for (const k of table.pk) {
    if (!pg.columns.some((c) => c.name === k)) problem(`pk column "${k}" does not exist in Postgres table "${table.name}"`);
  }
  if (table.localPk) {
    const pgKey = pg.columns.find((c) => c.name === table.pk[0]);
    const sqliteServerId = sqlite.columns.find((c) => c.name === table.serverIdCol);
    if (!sqlite.columns.some((c) => c.name === table.localPk)) problem(`localPk column "${table.localPk}" does not exist in SQLite table "${sqlite.name}"`);
    if (!sqliteServerId) {
      problem(`serverIdCol "${table.serverIdCol}" does not exist in SQLite table "${sqlite.name}"`, `ALTER TABLE "${sqlite.name}" ADD COLUMN "${table.serverIdCol}" TEXT;`);
    }
    if (pgKey && sqliteServerId) {
      serverIdCol = columnPlan(db, sqlite.name, pgKey, sqliteServerId);
      columns.unshift(serverIdCol);
      key = [serverIdCol];
    }
    localKey = [table.localPk];
  } else {
    for (const k of table.pk) {
      const c = byPg(k);
      if (c) key.push(c);
      else if (pg.columns.some((p) => p.name === k)) problem(`pk column "${k}" has no SQLite counterpart in "${sqlite.name}"`, `add it to the SQLite table or map it with columnMap`);
    }
    localKey = key.map((c) => c.sqlite);
  }
  const pkSet = new Set(table.pk);
  const conflictTarget = [pg.primaryKey, ...pg.uniqueKeys].some((cols) => cols.length === pkSet.size && cols.every((c) => pkSet.has(c)));
  // A parent whose rows live in children or partitions (or go there by rules) is written without
  // ON CONFLICT (push/write-path.ts), and its keys are unique per child: it needs no index of its own.
  const routed = pg.routing !== undefined && (pg.routing.kind !== 'plain' || pg.routing.rules.some((r) => r.event === 'insert' || r.event === 'update'));
  if (!conflictTarget && !routed && key.length > 0) {
    problem(`pk (${table.pk.join(', ')}) is not the primary key or a unique key of Postgres table "${table.name}"`, `CREATE UNIQUE INDEX ON "${table.name}" (${table.pk.map((c) => `"${c}"`).join(', ')});`);
  }

  const special = (col: string | undefined, what: string): ColumnPlan | undefined => {
    if (col === undefined) return undefined;
    const c = byPg(col);
    if (!c) {
      if (!pg.columns.some((p) => p.name === col)) problem(`${what} "${col}" does not exist in Postgres table "${table.name}"`);
      else problem(`${what} "${col}" has no SQLite counterpart in "${sqlite.name}"`, `ALTER TABLE "${sqlite.name}" ADD COLUMN "${col}" TEXT;`);
    }
    return c;
  };
  const updated = special(table.updatedCol, 'updatedCol');
  const deleted = special(table.deletedCol, 'deletedCol');
  special(table.createdCol, 'createdCol');
  const version = special(table.versionCol, 'versionCol');
  if (version && !VERSION_FAMILIES.has(version.family)) problem(`versionCol "${version.pg}" of "${table.name}" is ${version.castType}; a version must be a number or a timestamp`);
  const counters: ColumnPlan[] = [];
  for (const name of table.counters ?? []) {
    const c = special(name, 'counter column');
    if (!c) continue;
    if (!COUNTER_FAMILIES.has(c.family)) problem(`counter column "${name}" of "${table.name}" is ${c.castType}; counters add up, so they must be numeric (integer, numeric or float)`);
    else counters.push(c);
  }

  // fill: SQLite column names; a column SQLite lacks becomes a Postgres-only constant.
  const constants: ConstantColumn[] = [];
  const localFills: LocalFill[] = [];
  for (const [sqliteCol, raw] of Object.entries(table.fill)) {
    const value = raw === '$terminalId' ? config.terminalId : raw;
    const synced = columns.find((c) => c.sqlite === sqliteCol);
    if (synced) {
      localFills.push({ column: synced, value });
      continue;
    }
    const pgName = table.columnMap[sqliteCol] ?? (config.naming === 'snake' ? toSnake(sqliteCol) : sqliteCol);
    const pgCol = pg.columns.find((c) => c.name === pgName);
    if (!pgCol) problem(`fill column "${sqliteCol}" matches no column of Postgres table "${table.name}"`);
    else constants.push({ pg: pgCol.name, castType: pgCol.castType, value });
  }
  const scope: ScopeFilter[] = [];
  for (const [pgName, value] of Object.entries(table.scope)) {
    const pgCol = pg.columns.find((c) => c.name === pgName);
    if (!pgCol) {
      problem(`scope column "${pgName}" does not exist in Postgres table "${table.name}"`);
      continue;
    }
    const column = byPg(pgName);
    scope.push({ pg: pgName, castType: pgCol.castType, value, column });
    if (!column && !constants.some((c) => c.pg === pgName)) constants.push({ pg: pgName, castType: pgCol.castType, value });
  }

  const naturalKey = planNaturalKey(table, pg, byPg, problem);
  const cloudKey = planCloudKey(table, pg, key, problem);

  if (problems.length > before) return undefined;
  return {
    config: table,
    name: table.name,
    sqliteName: sqlite.name,
    label: sqlite.name === table.name ? table.name : `${sqlite.name} → ${table.name}`,
    direction: table.direction,
    conflict: table.conflict,
    key,
    localKey,
    localPk: table.localPk,
    serverIdCol,
    columns,
    updated,
    deleted,
    version,
    fallback: table.fallback,
    merge: table.merge ?? 'row',
    counters,
    immutable: table.immutable ?? false,
    constants,
    localFills,
    scope,
    fks: [],
    naturalKey,
    cloudKey,
    pg,
    sqlite,
    order: 0,
  };
}

const VERSION_FAMILIES = new Set(['int', 'numeric', 'float', 'timestamptz', 'timestamp']);
const COUNTER_FAMILIES = new Set(['int', 'numeric', 'float']);

/**
 * naturalKey columns must be synced and unique in Postgres: adoption relies on at most one cloud
 * row matching, and on Postgres refusing a second one if two terminals race.
 */
function planNaturalKey(table: TableConfig, pg: PgTableInfo, byPg: (name: string) => ColumnPlan | undefined, problem: (message: string, fix?: string) => void): ColumnPlan[] {
  if (table.naturalKey.length === 0) return [];
  const columns: ColumnPlan[] = [];
  for (const name of table.naturalKey) {
    const c = byPg(name);
    if (c) columns.push(c);
    else problem(`naturalKey column "${name}" is not a synced column of "${table.name}"`);
  }
  const wanted = new Set(table.naturalKey);
  const unique = [pg.primaryKey, ...pg.uniqueKeys].some((cols) => cols.length === wanted.size && cols.every((c) => wanted.has(c)));
  if (!unique) {
    problem(
      `naturalKey (${table.naturalKey.join(', ')}) is not a unique key of Postgres table "${table.name}"`,
      `CREATE UNIQUE INDEX ON "${table.name}" (${table.naturalKey.map((c) => `"${c}"`).join(', ')});`,
    );
  }
  return columns;
}
