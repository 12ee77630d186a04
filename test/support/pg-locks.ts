import type pg from 'pg';

/**
 * Waits until a possync backend (application_name 'possync') is waiting for a lock that the
 * backend `holderPid` holds: the moment a test holding that lock can close a deadlock cycle.
 */
export async function waitUntilPossyncBlockedBy(q: pg.Pool | pg.Client, holderPid: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await q.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'possync' AND wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid))`,
      [holderPid],
    );
    if (rows[0]) return rows[0].pid;
    if (Date.now() > deadline) throw new Error(`no possync backend waited for a lock held by pid ${holderPid} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The backend pid of a connected client. */
export async function backendPid(c: pg.Client): Promise<number> {
  const { rows } = await c.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
  return rows[0]!.pid;
}
