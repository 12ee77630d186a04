import type { ConflictPolicy, FallbackPolicy } from '../config/types.ts';
import type { Step } from './result.ts';
import { compareVersion, same, type Wire } from './values/codec.ts';
import type { ColumnPlan } from './plan/types.ts';

const TEMPORAL = new Set(['timestamptz', 'timestamp', 'date']);

export type WireRow = Record<string, Wire>;

/** One side's version of a row: its values, or the time it was deleted, or nothing at all. */
export interface Version {
  row?: WireRow | undefined;
  deletedAt?: string | undefined;
}

/** 'aside': conflict "manual": neither side's row is overwritten; the row waits for an admin (engine/manual). */
export type Action = 'insert' | 'update' | 'delete' | 'unchanged' | 'keep' | 'aside';

export interface Decision {
  action: Action;
  /** Both sides changed the row since they last agreed; the policy picked a winner. */
  conflict: boolean;
  winner?: 'local' | 'server';
}

export interface DecideTable {
  columns: readonly ColumnPlan[];
  updated: ColumnPlan | undefined;
  conflict: ConflictPolicy;
  /** conflict "version": the version column and what settles equal versions. */
  version?: ColumnPlan | undefined;
  fallback?: FallbackPolicy | undefined;
}

export function rowsEqual(columns: readonly ColumnPlan[], a: WireRow, b: WireRow): boolean {
  return columns.every((c) => same(c.codec, a[c.pg] ?? null, b[c.pg] ?? null));
}

/**
 * What to do with an incoming version (`incoming`, from the sending side) given what the
 * receiving side has (`existing`). `contested` says the receiving side also changed the row since
 * the two last agreed (push: another writer changed it in Postgres after this terminal's last
 * pull; pull: the row has a local change not yet pushed). Only contested rows are conflicts;
 * anything else simply takes the incoming version, whatever the timestamps say, which is what
 * makes every terminal converge on Postgres.
 */
export function decide(table: DecideTable, step: Step, incoming: Version, existing: Version, contested: boolean): Decision {
  const inc = incoming.row;
  const ex = existing.row;
  if (!inc && !ex) return { action: 'unchanged', conflict: false };
  if (inc && ex && rowsEqual(table.columns, inc, ex)) return { action: 'unchanged', conflict: false };
  const apply: Action = inc ? (ex ? 'update' : 'insert') : 'delete';
  // Nothing to contest with: the receiving side has neither the row nor a record of deleting it.
  if (!contested || (!ex && existing.deletedAt === undefined)) return { action: apply, conflict: false };

  // Nobody picks a winner: the row is set aside with both versions until an admin decides.
  if (table.conflict === 'manual') return { action: 'aside', conflict: true };
  const incomingSide = step === 'push' ? 'local' : 'server';
  const winner = pickWinner(table, step, incoming, existing);
  return winner === incomingSide ? { action: apply, conflict: true, winner } : { action: 'keep', conflict: true, winner };
}

/** Which side's version a conflict keeps (pull and push see the same two versions, so they agree). */
export function pickWinner(table: DecideTable, step: Step, incoming: Version, existing: Version): 'local' | 'server' {
  const local = step === 'push' ? incoming : existing;
  const server = step === 'push' ? existing : incoming;
  if (table.conflict === 'version') {
    // The apps raise the version on every edit; possync only compares. A delete carries no
    // version, and equal versions with different content are a true tie: the fallback decides.
    const v = table.version;
    if (v && local.row && server.row) {
      const cmp = compareVersion(v.family, local.row[v.pg] ?? null, server.row[v.pg] ?? null);
      if (cmp !== 0) return cmp > 0 ? 'local' : 'server';
    }
    return byPolicy({ ...table, conflict: table.fallback ?? 'server-wins' }, local, server);
  }
  return byPolicy(table, local, server);
}

function byPolicy(table: DecideTable, local: Version, server: Version): 'local' | 'server' {
  if (table.conflict === 'client-wins') return 'local';
  if (table.conflict === 'server-wins' || !table.updated) return 'server';
  if ((!local.row || !server.row) && !TEMPORAL.has(table.updated.family)) {
    // A delete carries a time, not a version number: against a counter column the delete wins.
    return local.row ? 'server' : 'local';
  }
  const cmp = compareVersion(table.updated.family, versionOf(table.updated, local), versionOf(table.updated, server));
  // Ties go to the server: deterministic, and every terminal resolves the same way.
  return cmp > 0 ? 'local' : 'server';
}

/** A row's version is its updatedCol; a deleted row's version is the time it was deleted. */
function versionOf(updated: ColumnPlan, v: Version): Wire {
  if (v.row) return v.row[updated.pg] ?? null;
  return v.deletedAt ?? null;
}

/**
 * The row to write for an update: the incoming values, except where the receiving side already
 * holds the same value in another spelling (a timestamp with microseconds vs its milliseconds, 12.5
 * vs 12.50, reformatted jsonb). Keeping the receiving side's spelling means a round trip through
 * the other database never loses precision and never rewrites what did not change.
 */
export function mergeForUpdate(columns: readonly ColumnPlan[], incoming: WireRow, existing: WireRow): WireRow {
  const out: WireRow = { ...incoming };
  for (const c of columns) {
    const ex = existing[c.pg];
    if (ex !== undefined && same(c.codec, incoming[c.pg] ?? null, ex)) out[c.pg] = ex;
  }
  return out;
}
