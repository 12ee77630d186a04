import { matchName } from '../../config/naming.ts';
import { outsideFkFix, outsideFkMessage, outsideForeignKeys } from '../../config/fk-outside.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import type { PgTableInfo } from '../../db/postgres/introspect.ts';
import type { SqliteTableInfo } from '../../db/sqlite/introspect.ts';
import { matchColumns } from '../plan/columns.ts';
import { finding, type Finding } from './finding.ts';

/**
 * Links from synced tables to tables outside the config (see config/fk-outside.ts for what
 * happens to such rows), and fkMap entries naming a parent that is not synced, which the plan
 * ignores. Warnings: rows will be held, the admin decides which way out.
 */
export function outsideFkFindings(
  config: ResolvedConfig,
  pgTables: ReadonlyMap<string, PgTableInfo>,
  sqliteOf: (table: string) => SqliteTableInfo | undefined,
  sqliteNames: readonly string[],
): Finding[] {
  const out: Finding[] = [];
  const synced = new Set(config.tables.map((t) => t.name));
  for (const table of config.tables) {
    const pg = pgTables.get(table.name);
    const sqlite = sqliteOf(table.name);
    if (!pg || !sqlite || table.direction === 'pull') continue;
    const pairs = new Set(matchColumns(config, table, pg.columns, sqlite.columns).pairs.map((p) => p.pg.name));
    for (const fk of outsideForeignKeys(pg, synced, (c) => pairs.has(c))) {
      const onTill = fk.refSchema === pg.schema && matchName(fk.refTable, [...sqliteNames], config.naming) !== undefined;
      out.push(finding('warning', table.name, 'fk-outside-config', outsideFkMessage(table.name, fk), outsideFkFix(table.name, fk, onTill)));
    }
    for (const [i, entry] of (config.fkMap[table.name] ?? []).entries()) {
      if (synced.has(entry.refTable)) continue;
      out.push(
        finding(
          'warning',
          table.name,
          'fkmap-ref-outside',
          `fkMap.${table.name}[${i}] links "${entry.field}" to "${entry.refTable}", which is not in tables: possync ignores the link, so rows are neither ordered after nor held for a ${entry.refTable} row`,
          `add "${entry.refTable}" to tables, or remove fkMap.${table.name}[${i}]`,
        ),
      );
    }
  }
  return out;
}
