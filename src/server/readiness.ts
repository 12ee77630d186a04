import type { ResolvedConfig } from '../config/types.ts';
import type { RunOutcome } from '../daemon/outcome.ts';
import { PgGateway } from '../db/postgres/gateway.ts';
import { SqliteGateway } from '../db/sqlite/gateway.ts';

/** A run that reached both databases this recently makes the daemon ready without asking them. */
export const READY_WINDOW_MS = 15 * 60_000;
const PROBE_TIMEOUT_MS = 3_000;

export interface Readiness {
  ready: boolean;
  /** Which half of the rule decided, in words. */
  reason: string;
  lastRun: { at: string; status: string } | null;
}

/**
 * GET /readyz. Ready when the last attempt of this daemon ended less than READY_WINDOW_MS ago
 * with both databases reached (a success or a partial run: rows waiting are not a fault of the
 * daemon), or else when both databases answer now (the terminal file opens read-only, Postgres
 * answers SELECT 1 within 3 s). So a daemon that just started, or that sits on a quiet schedule,
 * is ready as long as it could sync; one whose runs keep failing on a reachable database is still
 * ready (the failure is in the data, and /metrics counts it), one that cannot reach Postgres is not.
 */
export class ReadinessTracker {
  private last: { at: number; status: string; reached: boolean } | undefined;
  private readonly config: ResolvedConfig;

  constructor(config: ResolvedConfig) {
    this.config = config;
  }

  record(outcome: RunOutcome, now = Date.now()): void {
    if (outcome.kind === 'locked') return;
    if (outcome.kind === 'error') this.last = { at: now, status: `error ${outcome.error.code}`, reached: false };
    else this.last = { at: now, status: outcome.result.status, reached: outcome.result.status !== 'failed' };
  }

  async check(now = Date.now()): Promise<Readiness> {
    const lastRun = this.last ? { at: new Date(this.last.at).toISOString(), status: this.last.status } : null;
    if (this.last?.reached && now - this.last.at < READY_WINDOW_MS) return { ready: true, reason: 'the last run reached both databases', lastRun };
    try {
      SqliteGateway.open(this.config.sqlitePath, { readonly: true }).close();
    } catch (err) {
      return { ready: false, reason: `the terminal database cannot be opened: ${(err as Error).message}`, lastRun };
    }
    let timer: NodeJS.Timeout | undefined;
    const probe = async () => {
      const pg = await PgGateway.open(this.config);
      try {
        await pg.query('SELECT 1');
      } finally {
        // Also when the timeout already answered: the gateway is closed, never left open.
        await pg.close().catch(() => {});
      }
    };
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS))),
      ]);
      return { ready: true, reason: 'both databases answer', lastRun };
    } catch (err) {
      return { ready: false, reason: `Postgres does not answer: ${(err as Error).message}`, lastRun };
    } finally {
      clearTimeout(timer);
    }
  }
}
