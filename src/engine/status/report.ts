import { matchName } from '../../config/naming.ts';
import type { Direction, ResolvedConfig } from '../../config/types.ts';
import { PgGateway } from '../../db/postgres/gateway.ts';
import { tlsInUse, type PgTlsStatus } from '../../db/postgres/tls/in-use.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { sqliteTableNames } from '../../db/sqlite/introspect.ts';
import { isPossyncError } from '../../errors.ts';
import type { HeldListing } from '../held.ts';
import type { CaptureFormat } from '../../db/postgres/possync-schema.ts';
import { cloudCaptureFormat, describeFormat, judgeFormat, ownCaptureFormat } from '../install/compat.ts';
import { readCloudStatus, type CloudStatus, type PendingPull } from './cloud.ts';
import { describePull, describePush } from './describe.ts';
import { readFence, readUnpulled, type FenceLag, type FenceStatus } from './fence.ts';
import { readLocalStatus, type RunHealth } from './local.ts';
import type { LoggedRun } from './run-log.ts';
import type { PullServer } from '../result.ts';

export interface RunRef {
  runId: string;
  direction: Direction;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** With postgres.readUrl: the server that served the run's pull. */
  pullServer?: PullServer;
}

export interface TableStatus {
  table: string;
  sqliteTable: string | null;
  direction: Direction;
  /** Local changes captured and not pushed yet. */
  pendingPush: number;
  /** Cloud changes not pulled yet; null when unknown (cloud unreachable, or a full resync is due). */
  pendingPull: PendingPull | null;
  /** How far behind the fence this terminal's copy of the table is; null when unknown, as pendingPull. */
  fenceLag: FenceLag | null;
  deferred: number;
  rejected: number;
  /** Open conflicts (conflict "manual") waiting for an admin: `possync conflicts`. */
  openConflicts: number;
  pushCheckpoint: { text: string; updatedAt: string | null } | null;
  pullCheckpoint: { text: string; updatedAt: string | null };
}

export interface StatusReport {
  terminalId: string;
  sqlitePath: string;
  installed: boolean;
  cloud:
    | {
        reachable: true;
        installed: boolean;
        lastSeen: string | null;
        /** The fence this terminal last registered (the lowest pull checkpoint of its tables). */
        pullFence: string | null;
        /** The server's fence now, and the open transaction holding it back, if any. */
        currentFence: FenceStatus;
        /** Whether the link to Postgres is encrypted and how the server's certificate was checked. */
        tls: PgTlsStatus;
        /**
         * The capture format of the cloud's objects (newest installed) against this possync's
         * (install/compat.ts); `note` says when they differ, `upgradeRequired` when this till
         * cannot sync until possync is upgraded.
         */
        capture: { own: CaptureFormat; cloud: CaptureFormat | null; note: string | null; upgradeRequired: boolean };
      }
    | { reachable: false; error: string };
  lastSuccess: { push: RunRef | null; pull: RunRef | null };
  lastRun: RunRef | null;
  recentRuns: RunHealth;
  /** Recorded conflicts on each side, and the open ones (conflict "manual") waiting for an admin. */
  conflicts: { terminal: number; cloud: number | null; open: number };
  tables: TableStatus[];
  held: HeldListing[];
}

/**
 * `possync status`: the terminal database is required (it holds the run log, pending changes and
 * held rows); Postgres is optional. When the cloud cannot be reached the report says so and shows
 * everything it knows locally, because that is exactly when an admin runs it.
 */
export async function buildStatus(config: ResolvedConfig): Promise<StatusReport> {
  const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
  try {
    const local = readLocalStatus(sqlite.db, config.terminalId);
    const names = sqliteTableNames(sqlite.db);
    let cloud: CloudStatus | undefined;
    let fence: FenceStatus | undefined;
    let tls: PgTlsStatus | undefined;
    let cloudError: string | undefined;
    let captureFormat: CaptureFormat | undefined;
    let pg: PgGateway | undefined;
    try {
      pg = await PgGateway.open(config);
      cloud = await readCloudStatus(pg, config.terminalId, config.tables.map((t) => t.name));
      fence = await readFence(pg);
      tls = await tlsInUse(pg);
      captureFormat = await cloudCaptureFormat(pg.pool);
    } catch (err) {
      if (!isPossyncError(err) || err.code !== 'PG_UNREACHABLE') throw err;
      cloudError = err.message;
    }
    try {
      const tables: TableStatus[] = [];
      for (const t of config.tables) {
        const sqliteTable = t.sqliteName ?? matchName(t.name, names, config.naming) ?? null;
        const held = local.held.filter((h) => h.table === t.name);
        const pullCp = local.pullCheckpoint(t.name);
        const push = cloud?.pushCheckpoints.get(t.name);
        const unpulled = pg && cloud?.installed && t.direction !== 'push' ? await readUnpulled(pg, config.postgresSchema, t.name, config.terminalId, pullCp) : undefined;
        tables.push({
          table: t.name,
          sqliteTable,
          direction: t.direction,
          pendingPush: sqliteTable ? (local.pendingChanges.get(sqliteTable) ?? 0) : 0,
          pendingPull: unpulled?.pending ?? null,
          fenceLag: unpulled?.lag ?? null,
          deferred: held.filter((h) => h.kind === 'deferred').length,
          rejected: held.filter((h) => h.kind === 'rejected').length,
          openConflicts: local.openConflicts.get(t.name) ?? 0,
          pushCheckpoint: cloud ? { text: describePush(push?.checkpoint), updatedAt: push?.updatedAt ?? null } : null,
          pullCheckpoint: { text: describePull(pullCp), updatedAt: local.pullCheckpointAt(t.name) ?? null },
        });
      }
      return {
        terminalId: config.terminalId,
        sqlitePath: config.sqlitePath,
        installed: local.installed,
        cloud: cloud && fence && tls ? { reachable: true, installed: cloud.installed, lastSeen: cloud.lastSeen, pullFence: cloud.pullFence, currentFence: fence, tls, capture: captureStatus(captureFormat) } : { reachable: false, error: cloudError ?? 'unreachable' },
        lastSuccess: { push: ref(local.lastPush), pull: ref(local.lastPull) },
        lastRun: ref(local.lastRun),
        recentRuns: local.health,
        conflicts: { terminal: local.conflicts, cloud: cloud ? cloud.conflicts : null, open: [...local.openConflicts.values()].reduce((a, b) => a + b, 0) },
        tables,
        held: local.held,
      };
    } finally {
      await pg?.close();
    }
  } finally {
    sqlite.close();
  }
}

function captureStatus(cloud: CaptureFormat | undefined): Extract<StatusReport['cloud'], { reachable: true }>['capture'] {
  const own = ownCaptureFormat();
  return { own, cloud: cloud ?? null, note: describeFormat(cloud, own) ?? null, upgradeRequired: cloud !== undefined && judgeFormat(cloud, own) === 'unreadable' };
}

function ref(run: LoggedRun | undefined): RunRef | null {
  if (!run) return null;
  const pullServer = run.result?.pullServer;
  return { runId: run.runId, direction: run.direction, status: run.status, startedAt: run.startedAt, finishedAt: run.finishedAt, error: run.error, ...(pullServer ? { pullServer } : {}) };
}
