import { redactUrl } from '../../config/format.ts';
import { PgGateway } from '../../db/postgres/gateway.ts';
import { isPgUnreachable } from '../../db/postgres/errors.ts';
import { isRecoveryConflict, lagSeconds, laterLsn, lsnValue, primaryLsn, standbyState } from '../../db/postgres/read-replica.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { isPossyncError } from '../../errors.ts';
import type { RunContext } from '../context.ts';
import type { PullServer } from '../result.ts';

/**
 * Which server a pull reads: the hot standby at postgres.readUrl when it can serve this till
 * correctly, the primary otherwise. Pushes, the terminal registry, pruning and run logs always go
 * to the primary; the standby only ever serves the pull's one read-only transaction.
 *
 * Read-your-writes. A till's own pushes come back from a pull as echo and are skipped; a standby
 * that has not replayed them would hand back the rows as they were before the push (a fetch of a
 * key someone else also changed, a resync sweeping rows it lacks), and the next pull would skip
 * the push's entries as this till's own: the till would keep the old row. So the till keeps, in
 * its own database, the primary's WAL position after its last push and after its last pull (its
 * checkpoints never go back to an older snapshot), and the standby serves only once its replay
 * has reached it: checked before the pull's snapshot is taken, so the snapshot includes it.
 *
 * Decision: a standby that cannot serve (unreachable, not in recovery, further behind than
 * postgres.readMaxLagSeconds, short of this till's position after a brief wait, or cancelling the
 * pull on a recovery conflict) does not fail the run: the primary serves that pull, and the run's
 * notes say which server served it and why. A till is never left without data because a replica
 * is down; the cost is load on the primary, which the notes make visible.
 */
export interface ReadSource {
  gateway: PgGateway;
  server: PullServer;
  close(): Promise<void>;
}

/** How long a pull waits for the standby to replay this till's own writes before it reads the primary. */
const OWN_WRITES_WAIT_MS = 2_000;

function readAfterKey(terminalId: string): string {
  return `sync.read-after.${terminalId}`;
}

function storedReadAfter(db: SqliteDb, terminalId: string): string | undefined {
  const row = db.prepare(`SELECT setting_value FROM system_settings WHERE setting_key = ?`).get(readAfterKey(terminalId)) as { setting_value: string | null } | undefined;
  return row?.setting_value ?? undefined;
}

/** Raises the WAL position the standby must have replayed before it serves this till (never lowers it). */
export function recordReadAfter(ctx: RunContext, lsn: string | undefined): void {
  if (!ctx.config.postgresRead || lsn === undefined || ctx.dryRun) return;
  const key = readAfterKey(ctx.plan.terminalId);
  const next = laterLsn(storedReadAfter(ctx.sqlite.db, ctx.plan.terminalId), lsn)!;
  ctx.sqlite.immediate(() =>
    ctx.sqlite.db
      .prepare(
        `INSERT INTO system_settings (setting_key, setting_value, updated_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         ON CONFLICT (setting_key) DO UPDATE SET setting_value = excluded.setting_value, updated_at = excluded.updated_at`,
      )
      .run(key, next),
  );
}

/**
 * After a push step that may have written to Postgres: the pull must see those writes. When the
 * primary's position cannot be read (it went away), the recorded one is dropped: the next pull
 * then waits for the standby to reach wherever the primary is by then.
 */
export async function notePushedWrites(ctx: RunContext): Promise<void> {
  if (!ctx.config.postgresRead || ctx.dryRun) return;
  try {
    recordReadAfter(ctx, await primaryLsn(ctx.pg));
  } catch {
    try {
      ctx.sqlite.db.prepare(`DELETE FROM system_settings WHERE setting_key = ?`).run(readAfterKey(ctx.plan.terminalId));
    } catch {
      // the till's database is gone too: the run reports that
    }
  }
}

/** The primary (postgres.url) as the pull's source; `reason` says why the standby did not serve. */
export function primarySource(ctx: RunContext, reason: string | undefined): ReadSource {
  return { gateway: ctx.pg, server: { server: 'primary', ...(reason ? { reason } : {}) }, close: async () => {} };
}

/** Opens the pull's read source for this run (see ReadSource); never throws for the standby's sake. */
export async function openReadSource(ctx: RunContext): Promise<ReadSource> {
  const read = ctx.config.postgresRead;
  if (!read) return primarySource(ctx, undefined);
  const where = redactUrl(read.url);
  // The primary's position now bounds the lag, and stands for this till's position when it has
  // none recorded (a till that pulled from the primary before readUrl was set). Read first, so a
  // failure of the primary stops the run as anywhere else, and everything below is the standby's.
  const now = await primaryLsn(ctx.pg);
  let standby: PgGateway;
  try {
    standby = await PgGateway.connect(read.url, ctx.config.postgresConnection);
  } catch (err) {
    return primarySource(ctx, `the standby at ${where} is unreachable: ${firstLine(err)}`);
  }
  const give = (reason: string) => standby.close().then(() => primarySource(ctx, reason));
  try {
    const needed = storedReadAfter(ctx.sqlite.db, ctx.plan.terminalId) ?? now;
    let state = await standbyState(standby);
    if (!state.inRecovery) return await give(`the server at ${where} (postgres.readUrl) is not a standby (not in recovery)`);
    const lag = lagSeconds(state, now);
    if (lag !== undefined && lag * 1000 > read.maxLagMs) {
      return await give(`the standby at ${where} is ${lag.toFixed(1)} s behind (postgres.readMaxLagSeconds ${read.maxLagMs / 1000})`);
    }
    const deadline = Date.now() + OWN_WRITES_WAIT_MS;
    while (!replayed(state.replayLsn, needed)) {
      if (Date.now() >= deadline) return await give(`the standby at ${where} has not replayed this till's last writes yet (at ${state.replayLsn ?? 'nothing'}, needs ${needed})`);
      // Streaming replay of a push takes milliseconds once its WAL is flushed: poll often.
      await new Promise((r) => setTimeout(r, 25));
      state = await standbyState(standby);
    }
    ctx.watchdog?.also(standby);
    return { gateway: standby, server: { server: 'standby', url: where, lagSeconds: lag ?? 0 }, close: () => standby.close() };
  } catch (err) {
    // Only the standby is asked in here: any failure is the standby's, and the primary serves.
    return give(`the standby at ${where} failed: ${firstLine(err)}`);
  }
}

function replayed(replay: string | undefined, needed: string): boolean {
  return replay !== undefined && lsnValue(replay) >= lsnValue(needed);
}

/**
 * Whether a pull that failed on the standby is redone on the primary: a recovery conflict, or the
 * standby lost under it. Other errors are the pull's own and go on as on the primary.
 */
export function standbyFailed(source: ReadSource, err: unknown): boolean {
  if (source.server.server !== 'standby') return false;
  if (isRecoveryConflict(err)) return true;
  if (source.gateway.lostReason !== undefined) return true;
  return isPgUnreachable(err) || (isPossyncError(err) && err.code === 'PG_UNREACHABLE' && err.message.includes(source.server.url ?? '\0'));
}

export function firstLine(err: unknown): string {
  return redactUrl((err instanceof Error ? err.message : String(err)).split('\n')[0]!);
}
