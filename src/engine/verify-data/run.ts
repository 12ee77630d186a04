import type { ResolvedConfig } from '../../config/types.ts';
import { acquireTerminalLock } from '../../db/sqlite/lock.ts';
import { isRawBusy, lockHolder, lockedError, waitForLockFree } from '../../db/sqlite/lock-holder.ts';
import { openAndPlan } from '../run.ts';
import type { VerifyDataResult } from './report.ts';
import { verifyData, type VerifyDataOptions } from './verify.ts';

/**
 * verify-data's one entry: holds the terminal's run lock (so no sync moves a checkpoint or applies
 * a batch between the till's scan and the cloud's snapshot), plans the tables as a run would, and
 * compares them.
 */
export async function runVerifyData(config: ResolvedConfig, options: VerifyDataOptions & { lockWaitMs?: number } = {}): Promise<VerifyDataResult> {
  await waitForLockFree(config.sqlitePath, options.lockWaitMs ?? 0);
  let lock;
  try {
    lock = await acquireTerminalLock(config.sqlitePath, options.repair ? 'verify-data --repair' : 'verify-data', { waitMs: 0 });
  } catch (err) {
    const h = lockHolder(config.sqlitePath);
    if (isRawBusy(err) && h) throw lockedError(h);
    throw err;
  }
  try {
    const { pg, sqlite, plan, close } = await openAndPlan(config);
    try {
      return await verifyData(pg, sqlite, plan, options);
    } finally {
      await close();
    }
  } finally {
    lock.release();
  }
}
