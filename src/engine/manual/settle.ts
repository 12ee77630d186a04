import { rowsEqual, type WireRow } from '../decide.ts';
import { mergeColumns, type MergeTable } from '../merge/column-merge.ts';
import { same } from '../values/codec.ts';
import type { OpenConflict } from './open-conflicts.ts';

/**
 * What a step does with a row whose key has an open manual conflict:
 *  - `aside`: it stays set aside (no decision yet, or a side changed the row again after the
 *    decision: `reopen`, the decision no longer holds and the admin decides again);
 *  - `resolve`: both sides end with `target` (undefined: the row is deleted on both).
 */
export type Settlement = { kind: 'aside'; reopen: boolean } | { kind: 'resolve'; target: WireRow | undefined };

/** Both versions absent, or both present and equal. */
export function sameVersion(t: MergeTable, a: WireRow | null | undefined, b: WireRow | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return rowsEqual(t.columns, a, b);
}

/**
 * The row a decision leads to, from the versions the sides hold now:
 *  - `till`: the till's row; `cloud`: the cloud's row;
 *  - `set`: the cloud's row (the till's when the cloud deleted it) with the given columns set.
 * With a column merge (`base` given, both rows present) only the clashing columns follow the
 * decision: columns one side changed merge as always (counters add up).
 */
export function targetRow(t: MergeTable, oc: Pick<OpenConflict, 'decision' | 'setValues'>, till: WireRow | undefined, cloud: WireRow | undefined, base: WireRow | undefined): WireRow | undefined {
  const merged = (winner: 'client-wins' | 'server-wins') => (base && till && cloud ? mergeColumns({ ...t, conflict: winner }, base, till, cloud).row : undefined);
  if (oc.decision === 'till') return merged('client-wins') ?? till;
  if (oc.decision === 'cloud') return merged('server-wins') ?? cloud;
  const start = merged('server-wins') ?? cloud ?? till;
  return start ? { ...start, ...(oc.setValues ?? {}) } : undefined;
}

/**
 * Settles a row with an open conflict given what both sides hold now. Undecided, it stays aside
 * unless both sides hold the same row again (then it closes, 'agreed'). A decision holds while
 * the losing side has not changed the row since the admin saw it (or already holds the target:
 * a run that stopped half way through carrying it out). The winning side may have: its newer
 * version is what the admin chose.
 */
export function settle(t: MergeTable, oc: OpenConflict, till: WireRow | undefined, cloud: WireRow | undefined, base: WireRow | undefined): Settlement {
  // The sides agree again (someone made one match the other): nothing is left to decide.
  if (!oc.decision && sameVersion(t, till, cloud)) return { kind: 'resolve', target: till };
  if (!oc.decision) return { kind: 'aside', reopen: false };
  const target = targetRow(t, oc, till, cloud, base);
  const tillOk = oc.decision === 'till' || sameVersion(t, till, oc.till) || sameVersion(t, till, target);
  const cloudOk = oc.decision === 'cloud' || sameVersion(t, cloud, oc.cloud) || sameVersion(t, cloud, target);
  return tillOk && cloudOk ? { kind: 'resolve', target } : { kind: 'aside', reopen: true };
}

/**
 * A column merge that clashed under conflict "manual": only the clashing columns wait for the
 * admin. The cloud takes `merge.row` (the columns one side changed, merged; its own values in
 * the clashing ones); the till takes the same with its own values in the clashing columns; and
 * what both now agree on (the next base) is that row with the old base in the clashing columns,
 * so the clash stays a clash and nothing else does.
 */
export function splitClash(clashing: readonly string[], merged: WireRow, till: WireRow, base: WireRow): { till: WireRow; base: WireRow } {
  const tillRow = { ...merged };
  const next = { ...merged };
  for (const c of clashing) {
    tillRow[c] = till[c] ?? null;
    next[c] = base[c] ?? null;
  }
  return { till: tillRow, base: next };
}

/** The non-key columns in which the two versions differ (none when a side deleted the row). */
export function differingColumns(t: MergeTable, a: WireRow | null | undefined, b: WireRow | null | undefined): string[] {
  if (!a || !b) return [];
  const keys = new Set(t.key.map((k) => k.pg));
  return t.columns.filter((c) => !keys.has(c.pg) && !same(c.codec, a[c.pg] ?? null, b[c.pg] ?? null)).map((c) => c.pg);
}
