import type pg from 'pg';

/**
 * Waits until a possync backend (application_name 'possync') is waiting for a lock that the
 * backend `holderPid` holds: the moment a test holding that lock can close a deadlock cycle.
 */
export async function waitUntilPossyncBlockedBy(q: pg.Pool | pg.Client, holderPid: number, timeoutMs = 30_000): Promise<number> {
  return (await waitForBlockedPossync(q, holderPid, undefined, timeoutMs)).pid;
}

export interface BlockedPossync {
  pid: number;
  /** Its transaction's start, as Postgres' text (microseconds kept). */
  xactStart: string;
}

/**
 * A possync backend blocked by `holderPid`; with `after` (an earlier waiter's xact_start), one whose
 * transaction began later: a retry of the work, seen waiting again.
 */
export async function waitForBlockedPossync(q: pg.Pool | pg.Client, holderPid: number, after: string | undefined, timeoutMs = 30_000): Promise<BlockedPossync> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await q.query<{ pid: number; xact_start: string }>(
      `SELECT pid, xact_start::text FROM pg_stat_activity
        WHERE application_name = 'possync' AND wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid))
          AND ($2::timestamptz IS NULL OR xact_start > $2::timestamptz)`,
      [holderPid, after ?? null],
    );
    if (rows[0]) return { pid: rows[0].pid, xactStart: rows[0].xact_start };
    if (Date.now() > deadline) throw new Error(`no possync backend waited for a lock held by pid ${holderPid} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The backend pid of a connected client. */
export async function backendPid(c: pg.Client): Promise<number> {
  const { rows } = await c.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
  return rows[0]!.pid;
}

/** Waits until no possync backend waits for a lock `holderPid` holds (the waiter gave up, or got it). */
export async function waitUntilPossyncStopsWaitingFor(q: pg.Pool | pg.Client, holderPid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await q.query(
      `SELECT 1 FROM pg_stat_activity WHERE application_name = 'possync' AND wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid))`,
      [holderPid],
    );
    if (rows.length === 0) return;
    if (Date.now() > deadline) throw new Error(`a possync backend still waited for pid ${holderPid} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
