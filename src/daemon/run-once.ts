import type { Direction, ResolvedConfig } from '../config/types.ts';
import { backupSqlite } from '../db/sqlite/backup.ts';
import { describeHolder, isRawBusy, lockHolder } from '../db/sqlite/lock-holder.ts';
import type { ProgressEvent } from '../engine/context.ts';
import { runSync } from '../engine/run.ts';
import { asPossyncError, type RunOutcome } from './outcome.ts';

export interface AttemptOptions {
  direction: Direction;
  /** Only these tables (config names, already checked); default all. */
  tables?: string[] | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** Back up the SQLite file before the run, keeping the newest `keep`. */
  backup: { keep: number } | undefined;
}

/**
 * One daemon attempt: the optional backup, then a sync that fails at once when another process
 * holds the terminal lock (the tick is skipped; the next tick tries again). Gateways are opened
 * per run, so a restarted Postgres or a replaced SQLite file is picked up without a restart.
 */
export async function attemptRun(config: ResolvedConfig, options: AttemptOptions, signal: AbortSignal): Promise<RunOutcome> {
  // Checked first, so a locked-out tick neither waits nor makes a backup (see lock-holder.ts).
  const holder = lockHolder(config.sqlitePath);
  if (holder) return { kind: 'locked', holder: describeHolder(holder) };
  try {
    const backup = options.backup ? (await backupSqlite(config.sqlitePath, { keep: options.backup.keep })).file : undefined;
    const result = await runSync(config, { direction: options.direction, tables: options.tables, onProgress: options.onProgress, signal, lockWaitMs: 0 });
    return { kind: 'ran', result, backup };
  } catch (err) {
    // Raw SQLITE_BUSY: the lock was taken between the check and the run, or the POS app kept the
    // database busy for longer than the busy timeout. Either way: not a failure, try next tick.
    if (isRawBusy(err)) {
      const h = lockHolder(config.sqlitePath);
      return { kind: 'locked', holder: h ? describeHolder(h) : undefined };
    }
    const error = asPossyncError(err);
    if (error.code === 'LOCKED') return { kind: 'locked', holder: error.message.match(/\((.*)\)$/)?.[1] };
    return { kind: 'error', error };
  }
}
