import { PossyncError } from '../../errors.ts';
import { isPgLockTimeout, isPgRetryable } from './errors.ts';
import type { PgClient, PgGateway } from './gateway.ts';

/** Tries at a lock before the run gives up on it; the pauses between them let the app's writers through. */
const LOCK_TRIES = 3;
/** Tries after a deadlock or serialization failure (another till installing the same table). */
const RETRYABLE_TRIES = 5;

/**
 * Runs possync's DDL on an app table (install, upgrade, reinstall of a dropped trigger) without
 * ever holding up the app's writers for long.
 *
 * CREATE/DROP TRIGGER need a lock that conflicts with every INSERT, UPDATE and DELETE. Postgres
 * grants locks in queue order: a DDL statement waiting behind one open transaction (a back-office
 * session left idle after a write) makes every later write of that table queue behind the DDL,
 * so a patient install freezes the shop's cloud writes. So the DDL waits at most
 * postgres.ddlLockTimeoutSeconds (lock_timeout, SET LOCAL in its transaction), tries a few times
 * with pauses in between, and then gives up with an error that names the session holding the
 * lock. The next run tries again.
 */
export async function runDdl<T>(pg: PgGateway, relation: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const ms = pg.settings.timeouts.ddlLockTimeoutMs;
  let lockTries = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await pg.tx(async (client) => {
        await client.query(`SET LOCAL lock_timeout = ${Math.round(ms)}`);
        return fn(client);
      });
    } catch (err) {
      if (isPgLockTimeout(err)) {
        if (++lockTries >= LOCK_TRIES) throw await blockedError(pg, relation, ms, lockTries, err);
        await pause(250 * lockTries);
        continue;
      }
      if (isPgRetryable(err) && attempt < RETRYABLE_TRIES) {
        await pause(50 * attempt + Math.random() * 100);
        continue;
      }
      throw err;
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Holder {
  pid: number;
  application_name: string;
  usename: string | null;
  state: string | null;
  xact_start: Date | null;
}

/** The sessions holding a lock on `relation` (a quoted, qualified name), oldest transaction first. */
export async function lockHolders(pg: PgGateway, relation: string): Promise<Holder[]> {
  return pg.query<Holder>(
    `SELECT a.pid, a.application_name, a.usename::text AS usename, a.state, a.xact_start
       FROM pg_stat_activity a
      WHERE a.pid <> pg_backend_pid()
        AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.granted)
      ORDER BY a.xact_start NULLS LAST
      LIMIT 3`,
    [relation],
  );
}

export function describeHolder(h: Holder): string {
  const parts = [
    `pid ${h.pid}`,
    h.application_name ? `application "${h.application_name}"` : 'no application name',
    ...(h.usename ? [`user ${h.usename}`] : []),
    ...(h.xact_start ? [`transaction open since ${h.xact_start.toISOString()}`] : []),
    ...(h.state ? [h.state] : []),
  ];
  return parts.join(', ');
}

/** Who holds locks on `relation` now, in words: the sessions, oldest transaction first. */
export async function describeLockHolders(pg: PgGateway, relation: string): Promise<{ who: string; holders: Holder[] }> {
  const holders = await lockHolders(pg, relation).catch(() => []);
  const who = holders.length > 0 ? `held by ${holders.map((h) => `session ${describeHolder(h)}`).join('; ')}` : 'held by another session (it had let go by the time possync looked)';
  return { who, holders };
}

async function blockedError(pg: PgGateway, relation: string, ms: number, tries: number, cause: unknown): Promise<PossyncError> {
  const { who, holders } = await describeLockHolders(pg, relation);
  return new PossyncError(
    'BLOCKED',
    `could not lock ${relation} to install possync's capture triggers (${tries} tries of ${ms / 1000} s): the lock is ${who}. possync does not queue its DDL in front of the app's writes; the next run tries again`,
    {
      hint: holders.length > 0 ? `commit or end that transaction (SELECT pg_terminate_backend(${holders[0]!.pid}) ends it), or raise postgres.ddlLockTimeoutSeconds` : 'run again; if it repeats, look for long transactions on this table in pg_stat_activity',
      cause,
    },
  );
}
