import type { ConflictPolicy, Direction, FallbackPolicy, SslMode } from './schema.ts';

export type { ConflictPolicy, Direction, FallbackPolicy, SslMode };

/** One table as the engine sees it: every default applied, every env: reference resolved. */
export interface TableConfig {
  name: string;
  sqliteName: string | undefined;
  pk: string[];
  updatedCol: string | undefined;
  createdCol: string | undefined;
  deletedCol: string | undefined;
  direction: Direction;
  conflict: ConflictPolicy;
  columnMap: Record<string, string>;
  localOnly: string[];
  localPk: string | undefined;
  serverIdCol: string | undefined;
  fill: Record<string, string>;
  scope: Record<string, string>;
  /** Postgres columns unique in the cloud that identify the same real-world row (empty: none). */
  naturalKey: string[];
  /** 'cloud': the pk is assigned by the cloud's sequence; till-created rows are re-keyed at push. */
  assignKey?: 'cloud' | undefined;
  /** conflict "version": the Postgres column the apps raise on every edit, and what settles equal versions. */
  versionCol?: string | undefined;
  fallback?: FallbackPolicy | undefined;
  /** 'column': only columns both sides changed since they last agreed are contested (engine/merge). */
  merge?: 'row' | 'column' | undefined;
  /** Postgres columns whose concurrent changes add up (deltas); implies merge 'column'. */
  counters?: string[] | undefined;
  /** Rows never change once synced: later updates and deletes are refused and listed. */
  immutable?: boolean | undefined;
}

export interface FkMapEntry {
  field: string;
  refTable: string;
}

export interface ResolvedConfig {
  /** Absolute path of the file the config came from. */
  configPath: string;
  sqlitePath: string;
  postgresUrl: string;
  postgresSchema: string;
  /**
   * A hot standby that serves pulls (postgres.readUrl), with the same TLS settings and timeouts as
   * postgres.url; undefined: pulls read the primary. README "Scaling out".
   */
  postgresRead?: { url: string; maxLagMs: number } | undefined;
  /** TLS and the bounds on every wait for Postgres (postgres.* keys; README "When things go wrong"). */
  postgresConnection: PgConnectionSettings;
  terminalId: string;
  batchSize: number;
  cron: string | undefined;
  /** The daemon's control API address (`listen`, "host:port"); undefined: no API. */
  listen?: string | undefined;
  /** Absolute path of the file holding the control API's bearer token (`apiTokenFile`). */
  apiTokenFile?: string | undefined;
  retentionDays: number;
  naming: 'exact' | 'snake';
  localOnly: string[];
  tables: TableConfig[];
  fkMap: Record<string, FkMapEntry[]>;
  /** verify-schemas warning ids an admin has accepted (reported as notes). */
  acknowledge?: string[];
}

/** TLS as libpq means it. Undefined fields fall back to the URL's own parameters, then libpq's defaults. */
export interface PgTlsSettings {
  sslmode: SslMode | undefined;
  sslrootcert: string | undefined;
  sslcert: string | undefined;
  sslkey: string | undefined;
}

/** Every wait for Postgres is bounded (milliseconds; runTimeoutMs 0 = no whole-run watchdog). */
export interface PgTimeouts {
  connectTimeoutMs: number;
  readTimeoutMs: number;
  lockTimeoutMs: number;
  ddlLockTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  runTimeoutMs: number;
}

export interface PgConnectionSettings {
  tls: PgTlsSettings;
  timeouts: PgTimeouts;
}

export const DEFAULT_PG_TIMEOUTS: PgTimeouts = {
  connectTimeoutMs: 10_000,
  readTimeoutMs: 30_000,
  lockTimeoutMs: 20_000,
  ddlLockTimeoutMs: 2_000,
  idleInTransactionTimeoutMs: 60_000,
  runTimeoutMs: 3_600_000,
};

export const DEFAULT_PG_CONNECTION: PgConnectionSettings = {
  tls: { sslmode: undefined, sslrootcert: undefined, sslcert: undefined, sslkey: undefined },
  timeouts: DEFAULT_PG_TIMEOUTS,
};
