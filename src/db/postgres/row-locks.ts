import { PossyncError } from '../../errors.ts';
import { describeLockHolders } from './ddl-locks.ts';
import { LOCK_NOT_AVAILABLE, pgErrorCode } from './errors.ts';
import type { PgClient, PgGateway } from './gateway.ts';

/** SQLSTATE query_canceled: here, the lock phase's statement_timeout ran out. */
const QUERY_CANCELED = '57014';

/**
 * Runs the statements that lock a push batch's rows (`fn`) in a transaction opened with
 * `lockPhase` (gateway.ts), then lifts the bound. lock_timeout bounds each lock wait; a statement
 * that locks ten rows others hold waits for each in turn, and under a queue of tills could wait
 * ten times lockTimeoutSeconds, silent all along, until the read timeout takes it for a dead link.
 * So the whole phase is bounded by lockTimeoutSeconds (statement_timeout), and running out is
 * reported as what it is: a lock wait past lockTimeoutSeconds (55P03), which the push retries.
 */
export async function inLockPhase<T>(client: PgClient, fn: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    if (pgErrorCode(err) !== QUERY_CANCELED) throw err;
    throw Object.assign(new Error(`canceling statement: the rows it must lock stayed locked past postgres.lockTimeoutSeconds (${(err as Error).message})`), { code: LOCK_NOT_AVAILABLE, cause: err });
  }
  await client.query('SET LOCAL statement_timeout TO DEFAULT');
  return result;
}

/**
 * Tries in all of a push batch that waited postgres.lockTimeoutSeconds for rows another session
 * holds: many tills pushing edits of the same rows at once form a queue on those rows, and a till
 * that gave up its place (rolling back its own locks) and comes back a moment later usually gets
 * through. A session that holds its locks longer (an app's open transaction) fails the table.
 */
export const ROW_LOCK_TRIES = 3;

/**
 * A push batch that kept meeting rows another session held locked (lock_not_available after
 * every try): BLOCKED, naming the sessions that hold locks on the table now, oldest transaction
 * first. The batch rolled back; its rows stay on the till and go with a later run.
 */
export async function rowsLockedError(pg: PgGateway, relation: string, cause: unknown): Promise<PossyncError> {
  const { who, holders } = await describeLockHolders(pg, relation);
  const seconds = pg.settings.timeouts.lockTimeoutMs / 1000;
  return new PossyncError(
    'BLOCKED',
    `rows of ${relation} stayed locked by another session for longer than postgres.lockTimeoutSeconds (${seconds} s, ${ROW_LOCK_TRIES} tries): the table's locks are ${who}. The rows stay on the till and go with a later run`,
    {
      hint:
        holders.length > 0
          ? `if that transaction is stuck, commit or end it (SELECT pg_terminate_backend(${holders[0]!.pid}) ends it); under many tills pushing the same rows at once, spread their schedules or raise postgres.lockTimeoutSeconds`
          : 'run again; if it repeats, look for long transactions on this table in pg_stat_activity',
      cause,
    },
  );
}
