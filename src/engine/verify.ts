import { matchName } from '../config/naming.ts';
import type { ResolvedConfig, TableConfig } from '../config/types.ts';
import type { PgGateway } from '../db/postgres/gateway.ts';
import { introspectPg, type PgTableInfo } from '../db/postgres/introspect.ts';
import type { SqliteDb } from '../db/sqlite/gateway.ts';
import { introspectSqlite, sqliteTableNames } from '../db/sqlite/introspect.ts';
import { buildPlan } from './plan/build.ts';
import type { SyncPlan } from './plan/types.ts';
import { captureFindings } from './verify/capture.ts';
import { keyFindings } from './verify/keys.ts';
import { privilegeFindings } from './verify/privileges.ts';
import { columnFindings } from './verify/columns.ts';
import { finding, SEVERITY_ORDER, type Finding } from './verify/finding.ts';
import { temporalNotes, typeFindings } from './verify/types.ts';
import { writePathFindings } from './verify/write-path.ts';
import { lossyFindings } from './verify/lossy.ts';
import { outsideFkFindings } from './verify/fk-outside.ts';
import { evolutionFindings } from './verify/evolution.ts';
import { orphanedCaptureFindings } from './verify/orphaned-capture.ts';
import { beforeInsertTriggers } from '../db/postgres/triggers.ts';

export type { Finding, Severity } from './verify/finding.ts';

/**
 * `possync verify-schemas`: compares the config, the terminal database and Postgres and returns
 * every finding, most severe first, without changing anything on either side (it only reads
 * catalogs, checkpoints and a few sample values). Made for CI before a deploy.
 */
export async function verifySchemas(config: ResolvedConfig, pg: PgGateway, db: SqliteDb): Promise<Finding[]> {
  const names = config.tables.map((t) => t.name);
  const pgTables = await introspectPg(pg, config.postgresSchema, names);
  const triggers = await beforeInsertTriggers(pg, config.postgresSchema, names);
  const { plan, problems } = buildPlan(config, pgTables, db);
  const findings: Finding[] = problems.map((p) => finding('error', p.table, 'config-mismatch', p.message, p.fix));
  const sqliteNames = sqliteTableNames(db);

  for (const table of config.tables) {
    const pgInfo = pgTables.get(table.name);
    const sqliteName = table.sqliteName ?? matchName(table.name, sqliteNames, config.naming);
    const sqliteInfo = sqliteName === undefined ? undefined : introspectSqlite(db, sqliteName);
    if (pgInfo) findings.push(...keyFindings(table, pgInfo));
    if (pgInfo && sqliteInfo) {
      const translated = translatedColumns(config, table, plan);
      findings.push(
        ...columnFindings(config, table, pgInfo, sqliteInfo, triggers.get(table.name)),
        ...typeFindings(config, table, pgInfo, sqliteInfo, translated),
        ...lossyFindings(config, table, pgInfo, sqliteInfo, db, translated),
      );
    }
    // buildPlan checks fkMap only for tables it could plan; check the others' fields here.
    if (pgInfo && !plan.byName.has(table.name)) findings.push(...fkMapFindings(config, table, pgInfo));
  }
  const sqliteOf = (name: string) => {
    const table = config.tables.find((t) => t.name === name)!;
    const sqliteName = table.sqliteName ?? matchName(table.name, sqliteNames, config.naming);
    return sqliteName === undefined ? undefined : introspectSqlite(db, sqliteName);
  };
  findings.push(...outsideFkFindings(config, pgTables, sqliteOf, sqliteNames));
  for (const t of plan.tables) findings.push(...temporalNotes(t), ...writePathFindings(t));
  for (const w of plan.warnings) findings.push(finding('info', null, 'plan-note', w));
  findings.push(...evolutionFindings(db, plan));
  findings.push(...(await captureFindings(pg, db, plan)));
  findings.push(...(await privilegeFindings(pg, plan)));
  findings.push(...(await orphanedCaptureFindings(pg, plan, config.retentionDays)));

  const order = new Map(config.tables.map((t, i) => [t.name, i]));
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || (order.get(a.f.table ?? '') ?? -1) - (order.get(b.f.table ?? '') ?? -1) || a.i - b.i)
    .map(({ f }) => f);
}

/** Drift means errors or warnings; info findings never fail a check. */
export function hasDrift(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity !== 'info');
}

/** Columns holding a translated FK (parent keeps a local key): from the plan, else from fkMap. */
function translatedColumns(config: ResolvedConfig, table: TableConfig, plan: SyncPlan): Set<string> {
  const planned = plan.byName.get(table.name);
  if (planned) return new Set(planned.fks.filter((f) => f.translate).map((f) => f.column.pg));
  const localParents = new Set(config.tables.filter((t) => t.localPk !== undefined).map((t) => t.name));
  return new Set((config.fkMap[table.name] ?? []).filter((e) => localParents.has(e.refTable)).map((e) => e.field));
}

function fkMapFindings(config: ResolvedConfig, table: TableConfig, pg: PgTableInfo): Finding[] {
  return (config.fkMap[table.name] ?? [])
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => !pg.columns.some((c) => c.name === e.field))
    .map(({ e, i }) => finding('error', table.name, 'fkmap-field-missing', `fkMap.${table.name}[${i}].field "${e.field}" does not exist in Postgres table "${table.name}"`, 'fix the field name in fkMap'));
}
