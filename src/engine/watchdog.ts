import type { PgGateway } from '../db/postgres/gateway.ts';
import { PossyncError } from '../errors.ts';

/**
 * The bound on a whole run (postgres.runTimeoutSeconds). Every single wait already has its own
 * bound (connect, a silent read, a lock); this one catches what they cannot: a run that keeps
 * making slow progress far past any sensible time, or a wait nobody thought of. When it fires, the
 * run's abort signal is raised (the run stops at the next batch boundary) and every Postgres
 * connection is cut (whatever waits on one fails at once); the error that then ends the run is
 * reported as the timeout. Batches are atomic with their checkpoints, so the next run resumes.
 */
export class RunWatchdog {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private fired = false;
  /** Every gateway the run reads or writes through: the primary, and a standby serving the pull. */
  private readonly gateways: PgGateway[];

  constructor(
    pg: PgGateway,
    private readonly ms: number,
  ) {
    this.gateways = [pg];
    if (ms <= 0) return;
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort();
      for (const g of this.gateways) g.cutAll(this.error());
    }, ms);
    this.timer.unref();
  }

  /** A gateway opened during the run (the standby a pull reads): cut with the others when the watchdog fires. */
  also(gateway: PgGateway): void {
    this.gateways.push(gateway);
  }

  /** The run's abort signal: the caller's (daemon shutdown) or this watchdog's, whichever comes first. */
  signal(outer: AbortSignal | undefined): AbortSignal {
    return outer ? AbortSignal.any([outer, this.controller.signal]) : this.controller.signal;
  }

  /** Once the watchdog has fired, whatever error ended the run is reported as the timeout. */
  explain(err: unknown): unknown {
    return this.fired ? this.error() : err;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private error(): PossyncError {
    return new PossyncError('TIMEOUT', `the run took longer than postgres.runTimeoutSeconds (${this.ms / 1000} s) and was stopped; the next run resumes from the last checkpoint`, {
      hint: 'raise postgres.runTimeoutSeconds if runs this long are expected (a first sync of a large store over a slow link), or set it to 0 to turn the watchdog off',
    });
  }
}
