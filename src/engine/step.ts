import { isPossyncError } from '../errors.ts';
import { redactUrl } from '../config/format.ts';
import { RunAborted, type RunContext } from './context.ts';
import { isPgRetryable } from '../db/postgres/errors.ts';
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
  options: { rethrowRetryable?: boolean } = {},
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
  } catch (err) {
    if (stopsRun(err)) throw err;
    // A pull reads one snapshot for all tables: a serialization failure or deadlock there is
    // retried by redoing the whole pull (its batches are idempotent), so let it through.
    if (options.rethrowRetryable && isPgRetryable(err)) throw err;
    result.status = 'error';
    result.error = redactUrl(err instanceof Error ? err.message : String(err));
    if (process.env.DEBUG && err instanceof Error) result.error += `\n${err.stack}`;
  } finally {
    result.durationMs += performance.now() - started;
  }
}

/** Whether an error stops the whole run (it is thrown on) rather than one table or step. */
function stopsRun(err: unknown): boolean {
  return err instanceof RunAborted || (isPossyncError(err) && (err.code === 'PG_UNREACHABLE' || err.code === 'SQLITE_UNREACHABLE'));
}

/**
 * Runs work a whole step needs (a query for all its tables). If it fails, every table of the
 * step that had not run yet reports the error, and the run goes on to return its result.
 */
export async function stepWide(results: Iterable<TableResult>, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (stopsRun(err)) throw err;
    const message = redactUrl(err instanceof Error ? err.message : String(err));
    for (const r of results) {
      if (r.status !== 'success' || r.durationMs > 0) continue;
      r.status = 'error';
      r.error = message;
    }
  }
}

