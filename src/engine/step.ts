import { isPossyncError } from '../errors.ts';
import { redactUrl } from '../config/format.ts';
import { RunAborted, type RunContext } from './context.ts';
import { isPgLockTimeout, isPgRetryable, isPgUnreachable } from '../db/postgres/errors.ts';
import { rowsLockedError } from '../db/postgres/row-locks.ts';
import { pgTable } from '../db/quote.ts';
import { lostConnectionError } from '../db/postgres/liveness.ts';
import { sqliteStopError } from '../db/sqlite/errors.ts';
import { isPermissionDenied, permissionError } from '../db/postgres/privileges.ts';
import type { Queryable } from '../db/postgres/gateway.ts';
import type { TablePlan } from './plan/types.ts';
import type { TableResult } from './result.ts';

/**
 * Runs one table's push or pull and turns a failure into the table's result instead of throwing:
 * the other tables still run, except those that depend on a failed one (they are marked not-run).
 * Aborts (shutdown) and lost connections stop the whole run.
 */
export async function runTableStep(
  ctx: RunContext,
  t: TablePlan,
  result: TableResult,
  results: Map<TablePlan, TableResult>,
  fn: () => Promise<void>,
  options: {
    rethrowRetryable?: boolean;
    /**
     * The connection whose transaction the step runs in (the pull's), used to look up a missing
     * privilege: a second connection taken while it is held would wait forever behind a
     * transaction-pooling proxy whose pool is full of runs doing the same.
     */
    client?: Queryable;
  } = {},
): Promise<void> {
  const failedParent = t.fks.map((f) => ctx.plan.byName.get(f.refTable)!).find((p) => p !== t && results.get(p)?.status !== 'success' && results.get(p)?.step === result.step);
  if (failedParent) {
    result.status = 'not-run';
    result.error = `not run: it depends on ${failedParent.name}, which did not sync`;
    return;
  }
  const started = performance.now();
  try {
    await fn();
  } catch (caught) {
    const err = asRunStopper(ctx, caught);
    if (stopsRun(err)) {
      // The table it was on is reported as failed with the reason the run stopped.
      if (!(err instanceof RunAborted)) {
        result.status = 'error';
        result.error = redactUrl((err as Error).message);
      }
      throw err;
    }
    // A pull reads one snapshot for all tables: a serialization failure or deadlock there is
    // retried by redoing the whole pull (its batches are idempotent), so let it through.
    if (options.rethrowRetryable && isPgRetryable(err)) throw err;
    result.status = 'error';
    result.error = redactUrl(err instanceof Error ? err.message : String(err));
    // Rows another session kept locked through every try of a push batch (push/table.ts
    // withRetries): name the sessions. A pull locks no rows.
    if (isPgLockTimeout(err) && result.step === 'push') {
      const blocked = await rowsLockedError(ctx.pg, pgTable(ctx.plan.schema, t.name), err);
      result.error = `${blocked.message} — ${blocked.hint}`;
      result.errorCode = 'BLOCKED';
    }
    // A missing privilege: say which, and the GRANT; retrying cannot help (exit 2).
    if (isPermissionDenied(err)) {
      const denied = await permissionError(options.client ?? ctx.pg.pool, err, 'sync', ctx.plan.schema);
      result.error = `${denied.message} — ${denied.hint}`;
      result.errorCode = 'PERMISSION';
    }
    if (process.env.DEBUG && err instanceof Error) result.error += `\n${err.stack}`;
  } finally {
    result.durationMs += performance.now() - started;
  }
}

/**
 * Errors that stop the run rather than one table, made PossyncErrors. A full disk on the till or
 * a file that cannot be written (sqlite/errors.ts) would fail every later table too. And a
 * connection that died under a statement surfaces as pg's own error ("Connection terminated
 * unexpectedly", a reset socket, a silent link cut by liveness.ts): it becomes PG_UNREACHABLE,
 * which stops the run, instead of failing this table and then every later one the same way.
 */
export function asRunStopper(ctx: Pick<RunContext, 'pg' | 'config'>, err: unknown): unknown {
  if (isPossyncError(err)) return err;
  if (isPgUnreachable(err)) return lostConnectionError(ctx.pg.url, ctx.pg.lostReason ?? err);
  return sqliteStopError(ctx.config.sqlitePath, err) ?? err;
}

const STOPS_RUN = new Set<string>(['PG_UNREACHABLE', 'SQLITE_UNREACHABLE', 'TIMEOUT', 'DISK_FULL', 'LOCKED']);

/** Whether an error stops the whole run (it is thrown on) rather than one table or step. */
export function stopsRun(err: unknown): boolean {
  return err instanceof RunAborted || (isPossyncError(err) && STOPS_RUN.has(err.code));
}

/**
 * Runs work a whole step needs (a query for all its tables). If it fails, every table of the
 * step that had not run yet reports the error, and the run goes on to return its result.
 */
export async function stepWide(ctx: Pick<RunContext, 'pg' | 'config'>, results: Iterable<TableResult>, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (caught) {
    const err = asRunStopper(ctx, caught);
    if (stopsRun(err)) throw err;
    const message = redactUrl(err instanceof Error ? err.message : String(err));
    for (const r of results) {
      if (r.status !== 'success' || r.durationMs > 0) continue;
      r.status = 'error';
      r.error = message;
    }
  }
}
