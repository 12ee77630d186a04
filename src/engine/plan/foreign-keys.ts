import type { ResolvedConfig } from '../../config/types.ts';
import { componentOrder } from '../../util/graph.ts';
import { cycleNote } from '../../config/infer.ts';
import type { FkPlan, PlanProblem, TablePlan } from './types.ts';

/**
 * FKs the engine honours: single-column Postgres FKs between synced tables (introspected) plus
 * the config's fkMap. A child row whose parent is missing is deferred, never dropped.
 */
export function planForeignKeys(config: ResolvedConfig, table: TablePlan, byName: Map<string, TablePlan>, problems: PlanProblem[]): FkPlan[] {
  const fks: FkPlan[] = [];
  const add = (field: string, refTable: string, refPg: string | undefined, enforced: boolean) => {
    const parent = byName.get(refTable);
    const column = table.columns.find((c) => c.pg === field);
    if (!parent || !column) return;
    const ref = refPg ?? parent.key[0]?.pg;
    if (!ref || fks.some((f) => f.column.pg === field && f.refTable === refTable)) return;
    fks.push({ column, refTable, refPg: ref, translate: parent.localPk !== undefined && parent.key.length === 1 && parent.key[0]!.pg === ref, enforced, inCycle: false });
  };
  for (const fk of table.pg.foreignKeys) {
    if (fk.columns.length !== 1 || fk.refSchema !== table.pg.schema) continue;
    add(fk.columns[0]!, fk.refTable, fk.refColumns[0], true);
  }
  for (const [i, entry] of (config.fkMap[table.name] ?? []).entries()) {
    if (!table.columns.some((c) => c.pg === entry.field)) {
      problems.push({ table: table.name, message: `fkMap.${table.name}[${i}].field "${entry.field}" is not a synced column of "${table.name}"` });
      continue;
    }
    add(entry.field, entry.refTable, undefined, false);
  }
  return fks;
}

/**
 * Parents before children, config order as the tie-break. Self-references are resolved inside a
 * batch. Tables that reference each other around a cycle run next to each other in config order,
 * and only they do: a table that merely depends on a cycle still comes after it.
 */
export function fkOrder(tables: TablePlan[], warnings: string[]): TablePlan[] {
  const components = componentOrder(tables, (t) => t.name, (t) => t.fks.map((f) => f.refTable).filter((r) => r !== t.name));
  for (const cycle of components.filter((c) => c.length > 1)) {
    const names = new Set(cycle.map((t) => t.name));
    for (const t of cycle) {
      for (const f of t.fks) f.inCycle = names.has(f.refTable) && f.refTable !== t.name && (cycle.find((p) => p.name === f.refTable)?.scope.length ?? 1) === 0;
    }
    warnings.push(cycleNote(cycle.map((t) => t.name)));
  }
  return components.flat();
}
