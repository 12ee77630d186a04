import type { ResolvedConfig } from '../config/types.ts';
import type { PgGateway } from '../db/postgres/gateway.ts';
import type { SqliteGateway } from '../db/sqlite/gateway.ts';
import type { SyncPlan } from './plan/types.ts';
import type { PullServer, Step } from './result.ts';

export interface ProgressEvent {
  step: Step;
  table: string;
  /** Rows handled so far for this table in this step. */
  rows: number;
  /**
   * Rows this table's long phase expects in all, when known: a first push's full scan (SQLite's
   * count) and a full resync (Postgres' row estimate, or a count when it has none). Undefined for
   * an incremental window, which is short.
   */
  total?: number;
}

/** Everything one sync run needs; created by runSync, passed down to each step. */
export interface RunContext {
  config: ResolvedConfig;
  plan: SyncPlan;
  pg: PgGateway;
  sqlite: SqliteGateway;
  runId: string;
  /** When the run started (ISO): held rows record it, so a row tried twice in one run counts one attempt. */
  startedAt: string;
  dryRun: boolean;
  /** Change-log entries below this xid may have been pruned (read in the pull's snapshot; see retention.ts). */
  prunedBelow: string | undefined;
  /** Aborts between batches (daemon shutdown): the current batch finishes or rolls back whole. */
  signal: AbortSignal | undefined;
  onProgress: ((event: ProgressEvent) => void) | undefined;
  /** The run's watchdog, told of gateways opened during the run (the standby a pull reads). */
  watchdog?: { also(gateway: PgGateway): void } | undefined;
  /** With postgres.readUrl: the server serving this run's pull (set by the pull). */
  pullServer?: PullServer | undefined;
}

/** Thrown inside a transaction to roll it back on purpose (dry runs), carrying the outcome out. */
export class DryRunRollback<T> extends Error {
  readonly outcome: T;
  constructor(outcome: T) {
    super('dry run: rolled back');
    this.outcome = outcome;
  }
}

export class RunAborted extends Error {
  constructor() {
    super('run aborted before it finished (shutdown); the next run resumes from the last checkpoint');
  }
}

export function checkAborted(ctx: RunContext): void {
  if (ctx.signal?.aborted) throw new RunAborted();
}
