import { AsyncLocalStorage } from 'node:async_hooks';
import { LOCK_NOT_AVAILABLE, pgErrorCode } from '../db/postgres/errors.ts';

/**
 * Work Postgres rolled back on a deadlock (40P01), a serialization failure (40001) or a lock wait
 * that ran past lock_timeout (55P03), and possync redid. Retries are normal under contention (many tills pushing the same catalogue rows); a
 * steady rise in them is the early sign of a lock-ordering problem or an overloaded server.
 */
export interface RetryCounts {
  /** Push batches rolled back and retried (one count per retry of one batch). */
  push: number;
  /** Pulls redone from a new snapshot (a pull reads all tables in one, so it is retried whole). */
  pull: number;
  /** The same retries by cause: deadlock_detected (40P01) ... */
  deadlock: number;
  /** ... serialization_failure (40001) ... */
  serialization: number;
  /** ... and lock_not_available (55P03): a push batch waited postgres.lockTimeoutSeconds for rows another session held. */
  lockTimeout: number;
}

export function noRetries(): RetryCounts {
  return { push: 0, pull: 0, deadlock: 0, serialization: 0, lockTimeout: 0 };
}

// The counts of the run in progress follow its async call chain, so every place that retries
// (the push batch path, the bulk scan's COPY path, the pull) counts into its own run without the
// run context threaded through each of them; runs side by side in one process stay apart.
const current = new AsyncLocalStorage<RetryCounts>();

/** Runs `fn` (one sync run) with `counts` receiving every retry made inside it. */
export function countingRetries<T>(counts: RetryCounts, fn: () => Promise<T>): Promise<T> {
  return current.run(counts, fn);
}

/** Records one retry of `step` caused by `err` (a retryable Postgres error); a no-op outside a run. */
export function recordRetry(step: 'push' | 'pull', err: unknown): void {
  const counts = current.getStore();
  if (!counts) return;
  counts[step]++;
  const code = pgErrorCode(err);
  if (code === '40P01') counts.deadlock++;
  else if (code === LOCK_NOT_AVAILABLE) counts.lockTimeout++;
  else counts.serialization++;
}
