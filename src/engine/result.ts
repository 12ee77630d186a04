import type { Direction } from '../config/types.ts';
import type { ErrorCode } from '../errors.ts';
import type { RetryCounts } from './retries.ts';
import type { BackfillReport } from './evolve/backfill.ts';

export type Step = 'push' | 'pull';
export type TableStatus = 'success' | 'error' | 'not-run';

/** What happened to one table in one direction. */
export interface TableResult {
  table: string;
  /** `order_item`, or `OrderItem → order_item` when the two sides name it differently. */
  label: string;
  step: Step;
  status: TableStatus;
  inserted: number;
  updated: number;
  deleted: number;
  /** Rows that were already identical on the receiving side. */
  unchanged: number;
  conflicts: number;
  deferred: number;
  /** Rows refused: held for retry (the other database said no), plus rows refused for good this run (refused). */
  rejected: number;
  /** Of those, changes refused for good (another scope's row, a pull-only table): reported once, not retried. */
  refused: number;
  /** New local rows that matched an existing cloud row on the table's naturalKey and took its key. */
  merged: number;
  /** The first few deferral / rejection reasons, e.g. `orders:ord_001 waits for shift_id → shifts[shift_001]`. */
  reasons: string[];
  error?: string;
  /** Set when the error has a kind the caller reacts to (PERMISSION: a GRANT is missing, exit 2). */
  errorCode?: ErrorCode;
  durationMs: number;
}

export type RunStatus = 'success' | 'partial' | 'failed';

export interface RunResult {
  runId: string;
  terminalId: string;
  direction: Direction;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** success: everything applied; partial: some rows deferred/rejected or a table failed; failed: nothing could run. */
  status: RunStatus;
  tables: TableResult[];
  /** Batches and pulls Postgres rolled back on a deadlock or serialization failure and possync redid. */
  retries: RetryCounts;
  warnings: string[];
  /** Columns that joined the sync since the last run, and the values this run brought across for them (evolve/backfill.ts). */
  backfills?: BackfillReport[];
  /** With postgres.readUrl: which server served the pull, and why the primary did when it did. */
  pullServer?: PullServer;
  /** Why the run stopped early, if it did. */
  error?: string;
  /** The error's code (e.g. PG_UNREACHABLE), so callers such as the daemon can react by kind. */
  errorCode?: ErrorCode | 'ABORTED';
}

/** The server a pull read (README "Scaling out"). */
export interface PullServer {
  server: 'standby' | 'primary';
  /** The standby's URL, password hidden. */
  url?: string;
  /** How far behind the primary the standby was when the pull began (0: caught up). */
  lagSeconds?: number;
  /** Why the primary served a pull meant for the standby. */
  reason?: string;
}

/** The run's note about a pull's server. */
export function pullServerNote(s: PullServer): string {
  if (s.server === 'standby') return `pull served by the standby at ${s.url} (${s.lagSeconds === 0 ? 'caught up' : `${s.lagSeconds?.toFixed(1)} s behind`})`;
  return `pull served by the primary${s.reason ? `: ${s.reason}` : ''}`;
}

export const MAX_REASONS = 5;

export function emptyTableResult(table: string, label: string, step: Step): TableResult {
  return { table, label, step, status: 'success', inserted: 0, updated: 0, deleted: 0, unchanged: 0, conflicts: 0, deferred: 0, rejected: 0, refused: 0, merged: 0, reasons: [], durationMs: 0 };
}

export function applied(r: TableResult): number {
  return r.inserted + r.updated + r.deleted;
}

export function addReason(r: TableResult, reason: string): void {
  if (r.reasons.length < MAX_REASONS && !r.reasons.includes(reason)) r.reasons.push(reason);
}

export function runStatus(tables: TableResult[]): RunStatus {
  const problems = tables.some((t) => t.status !== 'success' || t.deferred > 0 || t.rejected > 0);
  if (!problems) return 'success';
  return tables.every((t) => t.status !== 'success') ? 'failed' : 'partial';
}
