import pg from 'pg';
import { isPgUnreachable, unreachableError } from './errors.ts';
import { pgLiteral } from '../quote.ts';
import { PossyncError } from '../../errors.ts';
import { redactUrl } from '../../config/format.ts';
import { DEFAULT_PG_CONNECTION, type PgConnectionSettings, type ResolvedConfig } from '../../config/types.ts';
import { cutConnection, guardConnection, lostConnectionError } from './liveness.ts';
import { tlsOptions, type PgTlsOptions } from './tls.ts';

export type PgClient = pg.PoolClient;
/** A pool or a checked-out client: anything that runs a query. */
export type Queryable = pg.Pool | pg.PoolClient;

export interface TxOptions {
  isolation?: 'read committed' | 'repeatable read';
  readOnly?: boolean;
  /** Marks every change this transaction makes as coming from this terminal (echo suppression). */
  origin?: string;
  /**
   * Bounds every statement at lockTimeoutMs from the start, until the transaction ends its lock
   * phase (row-locks.ts endLockPhase): a push batch's total wait for row locks, not each lock's.
   */
  lockPhase?: boolean;
}

/**
 * Session settings every possync transaction runs with, so that `col::text` output is exact and
 * stable (UTC timestamps with microseconds, shortest round-trip floats, hex bytea), and so that no
 * wait is unbounded: a lock another session holds is waited for at most lockTimeoutMs, and if
 * this till vanishes mid-transaction the server ends the transaction after
 * idleInTransactionTimeoutMs instead of holding its snapshot and locks (and vacuum) for good. They
 * are SET LOCAL, inside the transaction, so possync also works behind a transaction-pooling proxy.
 */
function localSettings(settings: PgConnectionSettings): string {
  const t = settings.timeouts;
  return [
    `SET LOCAL TimeZone = 'UTC'`,
    `SET LOCAL DateStyle = 'ISO, YMD'`,
    `SET LOCAL IntervalStyle = 'postgres'`,
    `SET LOCAL extra_float_digits = 1`,
    `SET LOCAL bytea_output = 'hex'`,
    `SET LOCAL lock_timeout = ${Math.round(t.lockTimeoutMs)}`,
    `SET LOCAL idle_in_transaction_session_timeout = ${Math.round(t.idleInTransactionTimeoutMs)}`,
    // A till that vanishes mid-statement (a COPY waiting for data, rows being sent) is not idle:
    // the server's own TCP keepalive probes and unacknowledged-data timeout find the dead peer,
    // within about idleInTransactionTimeoutMs instead of the OS default of two hours.
    `SET LOCAL tcp_keepalives_idle = ${Math.max(1, Math.round(t.idleInTransactionTimeoutMs / 4000))}`,
    `SET LOCAL tcp_keepalives_interval = ${Math.max(1, Math.round(t.idleInTransactionTimeoutMs / 8000))}`,
    `SET LOCAL tcp_keepalives_count = 6`,
    `SET LOCAL tcp_user_timeout = ${Math.round(t.idleInTransactionTimeoutMs)}`,
  ].join('; ');
}

/**
 * The Postgres side of possync, over one pg Pool: the data path needs `col::text` exactness,
 * COPY, and SET LOCAL inside explicit transactions, and the admin reads are a few parameterised
 * queries. Prisma stays the tool for the reference schema and its migrations (prisma/), not a
 * run-time dependency: its client would load a query compiler (hundreds of ms, tens of MB) and
 * add 72 MB to every till's install for `status` alone.
 */
export class PgGateway {
  readonly pool: pg.Pool;
  readonly url: string;
  readonly settings: PgConnectionSettings;
  /** How TLS was set up: sslmode, CA file, and whether prefer fell back to plaintext (for `status`). */
  readonly tls: PgTlsOptions;
  private readonly localSettings: string;
  /**
   * Why the first connection died, if one did. Later statements on dead connections fail with
   * pg's generic "not queryable"; the report names this cause instead.
   */
  lostReason: Error | undefined;
  /** Every open connection of the pool, so the run watchdog can cut them all. */
  private readonly clients = new Set<pg.PoolClient>();

  private constructor(url: string, pool: pg.Pool, settings: PgConnectionSettings, tls: PgTlsOptions) {
    this.url = url;
    this.pool = pool;
    this.settings = settings;
    this.tls = tls;
    this.localSettings = localSettings(settings);
    pool.on('connect', (client) => {
      guardConnection(client, settings.timeouts.readTimeoutMs, (err) => (this.lostReason ??= err));
      this.clients.add(client);
    });
    pool.on('remove', (client) => this.clients.delete(client));
  }

  /** The gateway for a resolved config: its URL, TLS settings and timeouts. */
  static open(config: Pick<ResolvedConfig, 'postgresUrl' | 'postgresConnection'>, options: { max?: number } = {}): Promise<PgGateway> {
    return PgGateway.connect(config.postgresUrl, config.postgresConnection, options);
  }

  /** Opens a pool and proves the server answers; unreachable servers become PG_UNREACHABLE (exit 3). */
  static async connect(url: string, settings: PgConnectionSettings = DEFAULT_PG_CONNECTION, options: { max?: number } = {}): Promise<PgGateway> {
    const tls = await tlsOptions(url, settings.tls, settings.timeouts.connectTimeoutMs);
    const pool = new pg.Pool({
      connectionString: tls.connectionString,
      ssl: tls.ssl,
      max: options.max ?? 4,
      application_name: 'possync',
      // Bounds the TCP connect, the TLS handshake and the login, and the wait for a free client.
      connectionTimeoutMillis: settings.timeouts.connectTimeoutMs,
      idleTimeoutMillis: 10_000,
      // Keeps NAT tables from forgetting an idle pooled connection, and lets the OS notice a dead one.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    const gateway = new PgGateway(url, pool, settings, tls);
    let version: number;
    try {
      const { rows } = await pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
      version = Number(rows[0]!.v);
    } catch (err) {
      await pool.end().catch(() => {});
      throw unreachableError(url, err, tls.plan);
    }
    // The change log's cursor is an xid8 (pg_current_xact_id, pg_snapshot_xmin): PostgreSQL 13+.
    if (version < 130000) {
      await pool.end().catch(() => {});
      throw new PossyncError('USAGE', `PostgreSQL ${Math.floor(version / 10000)} at ${redactUrl(url)} is too old: possync needs PostgreSQL 13 or newer`, {
        hint: 'upgrade the server (xid8 and pg_current_xact_id arrived in PostgreSQL 13)',
      });
    }
    return gateway;
  }

  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      const result = await this.pool.query<R>(sql, params);
      return result.rows;
    } catch (err) {
      throw isPgUnreachable(err) ? unreachableError(this.url, err) : err;
    }
  }

  /** Runs `fn` in one transaction with possync's session settings; rolls back on any error. */
  async tx<T>(fn: (client: PgClient) => Promise<T>, options: TxOptions = {}): Promise<T> {
    let client: PgClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unreachableError(this.url, err);
    }
    let broken = false;
    try {
      const mode = `${options.isolation === 'repeatable read' ? 'ISOLATION LEVEL REPEATABLE READ' : 'ISOLATION LEVEL READ COMMITTED'}${options.readOnly ? ' READ ONLY' : ''}`;
      // One round trip: BEGIN, the session settings and the origin marker together.
      const origin = options.origin === undefined ? '' : `; SET LOCAL possync.origin = ${pgLiteral(options.origin)}`;
      const lockPhase = options.lockPhase ? `; SET LOCAL statement_timeout = ${Math.round(this.settings.timeouts.lockTimeoutMs)}` : '';
      await client.query(`BEGIN ${mode}; ${this.localSettings}${origin}${lockPhase}`);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw isPgUnreachable(err) ? lostConnectionError(this.url, this.lostReason ?? err) : err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Cuts every open connection at once: whatever waits on one fails with `reason`. The run
   * watchdog uses it, since an abort signal is only looked at between batches.
   */
  cutAll(reason: Error): void {
    for (const client of this.clients) cutConnection(client, reason);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
