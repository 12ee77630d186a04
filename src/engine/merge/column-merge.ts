import { pickWinner, type DecideTable, type WireRow } from '../decide.ts';
import type { ColumnPlan } from '../plan/types.ts';
import { compareVersion, same } from '../values/codec.ts';
import { addable, addDelta } from './counters.ts';

export interface MergeTable extends DecideTable {
  key: readonly ColumnPlan[];
  counters?: readonly ColumnPlan[] | undefined;
}

/** A three-way merge of one row: what each side changed since the base, and the result. */
export interface ColumnMerge {
  row: WireRow;
  /** Postgres names of the columns the till changed since the base (counters included). */
  localChanged: string[];
  serverChanged: string[];
  /** Columns both sides changed to different values: only these went to the policy. */
  clashing: string[];
  /** The policy's pick for the clashing columns (undefined when nothing clashed). */
  winner: 'local' | 'server' | undefined;
}

/**
 * Merges the till's row (`local`) and the cloud's (`server`) against the values both last agreed
 * on (`base`). A column only one side changed takes that side's value; a counter column takes
 * the cloud's value plus the till's delta; a column both changed to different values goes to the
 * table's policy (lww compares the rows' updatedCol, version their versionCol), which picks one
 * side for all clashing columns, so a row never mixes two edits of the same field. Pull and push
 * see the same three rows and so reach the same result. Under conflict "manual" nothing is
 * picked: `clashing` names the columns an admin decides (engine/manual), except updatedCol,
 * where the newer stamp stands.
 */
export function mergeColumns(t: MergeTable, base: WireRow, local: WireRow, server: WireRow): ColumnMerge {
  const keys = new Set(t.key.map((k) => k.pg));
  const counters = new Set((t.counters ?? []).map((c) => c.pg));
  const out: ColumnMerge = { row: { ...server }, localChanged: [], serverChanged: [], clashing: [], winner: undefined };
  let winner: 'local' | 'server' | undefined;
  const policy = () => (winner ??= pickWinner(t, 'push', { row: local }, { row: server }));
  for (const c of t.columns) {
    if (keys.has(c.pg)) continue;
    const b = base[c.pg] ?? null;
    const l = local[c.pg] ?? null;
    const s = server[c.pg] ?? null;
    const localChanged = !same(c.codec, l, b);
    const serverChanged = !same(c.codec, s, b);
    if (localChanged) out.localChanged.push(c.pg);
    if (serverChanged) out.serverChanged.push(c.pg);
    if (!localChanged) continue; // the server's value (changed or not) stands
    if (counters.has(c.pg) && addable(s, l, b)) {
      out.row[c.pg] = serverChanged ? addDelta(c, s!, l!, b!) : l;
      continue;
    }
    if (!serverChanged || same(c.codec, l, s)) {
      out.row[c.pg] = l;
      continue;
    }
    if (t.conflict === 'manual') {
      // Both stamped the row: that alone is no reason to ask an admin; the newer stamp stands.
      if (t.updated?.pg === c.pg) {
        if (compareVersion(c.family, l, s) > 0) out.row[c.pg] = l;
        continue;
      }
      out.clashing.push(c.pg); // the cloud's value stays in `row`: the row is set aside whole
      continue;
    }
    out.clashing.push(c.pg);
    if (policy() === 'local') out.row[c.pg] = l;
  }
  if (out.clashing.length > 0) out.winner = winner;
  return out;
}

/** Both sides changed the row since the base: a merge worth recording, clashing or not. */
export function isMerge(m: ColumnMerge): boolean {
  return m.localChanged.length > 0 && m.serverChanged.length > 0;
}
