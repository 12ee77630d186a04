/**
 * How long the daemon waits after consecutive failed runs before it lets a cron tick run again.
 * A pure function of the failure kind, the count and a random number, so it is unit-tested
 * without clocks (graphile-worker's calculateDelay, pg-boss's retryBackoff).
 *
 *   unreachable  a database did not answer: the network or server usually comes back by itself,
 *                so retry soon (5 s, doubling, at most 5 min).
 *   sync         the run reached both databases and still failed (schema drift, bad data, a
 *                table error): that usually needs a person, so retrying fast only fills the logs
 *                (30 s, doubling, at most 30 min).
 */
export type FailureKind = 'unreachable' | 'sync';

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const BACKOFF: Readonly<Record<FailureKind, BackoffPolicy>> = {
  unreachable: { baseMs: 5_000, capMs: 5 * 60_000 },
  sync: { baseMs: 30_000, capMs: 30 * 60_000 },
};

/**
 * Delay in ms before the next attempt after `consecutiveFailures` failures in a row (0 → no
 * delay). "Equal jitter": half of the exponential step is fixed and half is random, so terminals
 * that lost the same server spread their retries out but never retry immediately.
 * `random` is a number in [0, 1) (Math.random in production); values outside are clamped.
 */
export function nextDelay(kind: FailureKind, consecutiveFailures: number, random: number): number {
  if (!(consecutiveFailures >= 1)) return 0;
  const { baseMs, capMs } = BACKOFF[kind];
  // The exponent is bounded so 2 ** n never overflows to Infinity on a very long outage.
  const step = Math.min(capMs, baseMs * 2 ** Math.min(Math.floor(consecutiveFailures) - 1, 40));
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0;
  return Math.round(step / 2 + (step / 2) * r);
}
