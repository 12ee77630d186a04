import { PossyncError } from '../../errors.ts';
import { describeLockHolders, lockHolders } from './ddl-locks.ts';
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
 * The most tries while the queue moves: every time the batch gave up, the oldest transaction
 * holding locks on the table was a different one (see RowLockWaits). The run's watchdog
 * (runTimeoutSeconds) still bounds the whole run.
 */
export const ROW_LOCK_TRIES_MOVING = 10;

/**
 * Decides whether a push batch that ran out of lockTimeoutSeconds tries again. The first
 * ROW_LOCK_TRIES tries always go. After that it goes on only while the queue moves: at each
 * give-up it notes the oldest transaction holding locks on the table (pid and start), and the
 * same one twice in a row means one session is sitting on the rows (an app's stuck transaction),
 * not a queue of tills each done in a moment. That ends the table with BLOCKED naming it; a
 * queue of 200 tills pushing the same rows does not.
 */
export class RowLockWaits {
  tries = 0;
  private lastOldest: string | undefined;

  constructor(
    private readonly pg: PgGateway,
    private readonly relation: string,
  ) {}

  /** After a lock timeout: true when the batch should try again. */
  async again(): Promise<boolean> {
    this.tries += 1;
    const holders = await lockHolders(this.pg, this.relation).catch(() => []);
    const oldest = holders[0] ? `${holders[0].pid}@${holders[0].xact_start?.toISOString() ?? ''}` : undefined;
    const moved = oldest === undefined || oldest !== this.lastOldest;
    this.lastOldest = oldest;
    if (this.tries < ROW_LOCK_TRIES) return true;
    return moved && this.tries < ROW_LOCK_TRIES_MOVING;
  }
}

/** The tries a push batch made before it gave up on locked rows (RowLockWaits), carried on the error for the message. */
export function lockTriesOf(err: unknown): number {
  const tries = typeof err === 'object' && err !== null ? (err as { possyncLockTries?: unknown }).possyncLockTries : undefined;
  return typeof tries === 'number' ? tries : ROW_LOCK_TRIES;
}

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
    `rows of ${relation} stayed locked by another session for longer than postgres.lockTimeoutSeconds (${seconds} s, ${lockTriesOf(cause)} tries): the table's locks are ${who}. The rows stay on the till and go with a later run`,
    {
      hint:
        holders.length > 0
          ? `if that transaction is stuck, commit or end it (SELECT pg_terminate_backend(${holders[0]!.pid}) ends it); under many tills pushing the same rows at once, spread their schedules or raise postgres.lockTimeoutSeconds`
          : 'run again; if it repeats, look for long transactions on this table in pg_stat_activity',
      cause,
    },
  );
}
