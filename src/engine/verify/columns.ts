import { toSnake } from '../../config/naming.ts';
import type { ResolvedConfig, TableConfig } from '../../config/types.ts';
import type { PgTableInfo } from '../../db/postgres/introspect.ts';
import { missingColumnOutcome, type BeforeInsertTrigger } from '../../db/postgres/triggers.ts';
import type { SqliteTableInfo } from '../../db/sqlite/introspect.ts';
import { matchColumns } from '../plan/columns.ts';
import { pgAddColumn, sqliteAddColumn } from './ddl.ts';
import { finding, type Finding } from './finding.ts';

/**
 * Columns one side has and the other lacks. The plan already reports the key, updatedCol,
 * createdCol and deletedCol; this covers every other column, plus generated columns, which
 * possync never writes. A NOT NULL column without a default that the till lacks is judged with the
 * table's BEFORE INSERT triggers in mind: one that names the column may fill it.
 */
export function columnFindings(config: ResolvedConfig, table: TableConfig, pg: PgTableInfo, sqlite: SqliteTableInfo, triggers: readonly BeforeInsertTrigger[] = []): Finding[] {
  const out: Finding[] = [];
  const localOnly = new Set([...config.localOnly, ...table.localOnly]);
  const { unmatchedPg, unmatchedSqlite } = matchColumns(config, table, pg.columns, sqlite.columns);
  const special = new Set([...table.pk, table.updatedCol, table.createdCol, table.deletedCol].filter((c): c is string => c !== undefined));
  const constants = new Set([...Object.keys(table.scope), ...Object.keys(table.fill).map((c) => table.columnMap[c] ?? (config.naming === 'snake' ? toSnake(c) : c))]);
  const where = `"${table.name}"`;

  for (const col of unmatchedPg) {
    if (special.has(col.name) || constants.has(col.name)) continue;
    const fix = `${sqliteAddColumn(sqlite.name, col)} or add "${col.name}" to localOnly`;
    if (col.notNull && !col.hasDefault && col.identity === undefined) {
      const outcome = missingColumnOutcome(col.name, triggers);
      const severity = outcome.certain === 'refused' ? 'error' : outcome.certain === 'unknown' ? 'warning' : 'info';
      const code = outcome.certain === 'filled' ? 'column-filled-by-trigger' : 'column-missing-sqlite';
      out.push(finding(severity, table.name, code, `Postgres column ${where}."${col.name}" (${col.declaredType}, NOT NULL, no default) has no SQLite counterpart in "${sqlite.name}": ${outcome.says}`, fix));
    } else {
      // Server-only columns (nullable or with a default) are common and harmless: a note, not drift.
      out.push(finding('info', table.name, 'column-postgres-only', `Postgres column ${where}."${col.name}" (${col.declaredType}) has no SQLite counterpart in "${sqlite.name}": it stays in the cloud`, fix));
    }
  }

  const generatedPg = pg.columns.filter((c) => c.generated && !localOnly.has(c.name));
  for (const col of generatedPg) {
    out.push(finding('info', table.name, 'generated-column', `Postgres column ${where}."${col.name}" is ${col.identity === 'always' ? 'an identity (always)' : 'a generated'} column: possync never writes or pulls it`, `add "${col.name}" to localOnly to make that explicit`));
  }
  const mirrorsGenerated = (name: string) => generatedPg.some((g) => g.name === name || g.name === toSnake(name));

  for (const col of unmatchedSqlite) {
    if (mirrorsGenerated(col.name)) continue;
    out.push(finding('warning', table.name, 'column-missing-postgres', `SQLite column "${sqlite.name}"."${col.name}" has no Postgres counterpart in ${where} and is not in localOnly: its values never leave the terminal`, `${pgAddColumn(pg.schema, pg.name, col, config.naming === 'snake' ? toSnake(col.name) : col.name)} or add "${col.name}" to localOnly`));
  }
  for (const col of sqlite.columns.filter((c) => c.generated && !localOnly.has(c.name))) {
    out.push(finding('info', table.name, 'generated-column', `SQLite column "${sqlite.name}"."${col.name}" is generated: possync never writes or pushes it`, `add "${col.name}" to localOnly to make that explicit`));
  }
  return out;
}
