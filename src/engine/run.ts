import { randomUUID } from 'node:crypto';
import type { Direction, ResolvedConfig } from '../config/types.ts';
import { PossyncError } from '../errors.ts';
import { PgGateway } from '../db/postgres/gateway.ts';
import { introspectPg } from '../db/postgres/introspect.ts';
import { SqliteGateway } from '../db/sqlite/gateway.ts';
import { acquireTerminalLock, type TerminalLock } from '../db/sqlite/lock.ts';
import type { ProgressEvent, RunContext } from './context.ts';
import { RunAborted } from './context.ts';
import { ensureInstalled } from './install.ts';
import { buildPlan } from './plan/build.ts';
import type { SyncPlan, TablePlan } from './plan/types.ts';
import { pullAll } from './pull/run.ts';
import { pushTable, settleDeferredPush } from './push/table.ts';
import { refuseLocalChanges } from './push/refuse.ts';
import { pulledSnapshot, readPushCheckpoints, type PushCheckpoint } from './checkpoints.ts';
import { countingRetries, noRetries } from './retries.ts';
import { notePushedWrites } from './pull/read-source.ts';
import { addReason, pullServerNote, emptyTableResult, MAX_REASONS, runStatus, type RunResult, type Step, type TableResult } from './result.ts';
import { countHeld } from './held.ts';
import { asRunStopper, runTableStep, stepWide } from './step.ts';
import { RunWatchdog } from './watchdog.ts';
import { insertCycleTogether } from './push/cycle-insert.ts';
import { loadCycleTogether } from './push/cycle-load.ts';
import { rememberTemporalForms } from './plan/temporal-forms.ts';
import { componentOrder } from '../util/graph.ts';
import { redactUrl } from '../config/format.ts';
import { recordRun } from './sync-log.ts';
import { evolveSchemas } from './evolve/evolve.ts';
import { registerSyncedTables, stopOrphanedCapture } from './evolve/orphaned-capture.ts';
import type { BackfillReport } from './evolve/backfill.ts';

export interface RunOptions {
  direction: Direction;
  /** Only these tables (config names); default all. */
  tables?: string[] | undefined;
  dryRun?: boolean;
  signal?: AbortSignal | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** How long to wait for another run on this terminal to finish (default: fail at once). */
  lockWaitMs?: number;
  /** Reuse open gateways (daemon, tests); otherwise runSync opens and closes its own. */
  pg?: PgGateway;
  sqlite?: SqliteGateway;
}

/** Opens both databases, introspects them and plans; problems with the config or schemas throw (exit 2). */
export async function openAndPlan(config: ResolvedConfig, given: { pg?: PgGateway | undefined; sqlite?: SqliteGateway | undefined } = {}): Promise<{ pg: PgGateway; sqlite: SqliteGateway; plan: SyncPlan; close: () => Promise<void> }> {
  const sqlite = given.sqlite ?? SqliteGateway.open(config.sqlitePath);
  let pg: PgGateway;
  try {
    pg = given.pg ?? (await PgGateway.open(config));
  } catch (err) {
    if (!given.sqlite) sqlite.close();
    throw err;
  }
  const close = async () => {
    if (!given.pg) await pg.close();
    if (!given.sqlite) sqlite.close();
  };
  try {
    const pgTables = await introspectPg(pg, config.postgresSchema, config.tables.map((t) => t.name));
    const { plan, problems } = buildPlan(config, pgTables, sqlite.db);
    if (problems.length > 0) {
      const list = problems.map((p) => `${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`).join('; ');
      throw new PossyncError('SCHEMA_MISMATCH', `the databases do not match the config: ${list}`, { hint: 'run possync verify-schemas for details' });
    }
    return { pg, sqlite, plan, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * One sync run: push (SQLite → Postgres), pull (Postgres → SQLite), or both, table by table in FK
 * order. It returns a result per table and step instead of throwing halfway: a table that fails
 * reports its error and the others go on; a stop of the whole run (a lost database, the watchdog,
 * a shutdown, an install that could not get its locks) ends it with the tables it finished, the
 * one it was on failed with the error, and the error's code. Only problems found before the run
 * starts (config, schemas, an unreachable database, another run holding the lock) throw.
 */
export async function runSync(config: ResolvedConfig, options: RunOptions): Promise<RunResult> {
  const { pg, sqlite, plan, close } = await openAndPlan(config, options);
  let lock: TerminalLock | undefined;
  try {
    lock = await acquireTerminalLock(config.sqlitePath, `sync ${options.direction}`, { waitMs: options.lockWaitMs ?? 0 });
    const selected = selectTables(plan, options.tables);
    // The run starts once it holds the terminal: a wait for another run is not sync time, and
    // the logged intervals of two runs the lock kept apart never overlap.
    const started = new Date();
    const watchdog = new RunWatchdog(pg, config.postgresConnection.timeouts.runTimeoutMs);
    const warnings = [...plan.warnings];
    const ctx: RunContext = {
      config,
      plan,
      pg,
      sqlite,
      runId: randomUUID(),
      startedAt: started.toISOString(),
      prunedBelow: undefined,
      dryRun: options.dryRun ?? false,
      signal: watchdog.signal(options.signal),
      onProgress: options.onProgress,
      watchdog,
    };
    const results: TableResult[] = [];
    let stop: { error: string; errorCode: NonNullable<RunResult['errorCode']> } | undefined;
    const retries = noRetries();
    let backfills: BackfillReport[] = [];
    try {
      // Registered first, so that no other till's sweep stops capture between this till's install check and its sync.
      const registered = await registerSyncedTables(ctx);
      warnings.push(...(await ensureInstalled(pg, sqlite, plan)));
      // How the till stores its temporal columns, read from their values for this plan: kept, so
      // later runs need not walk a mostly-NULL column again (a dry run writes nothing).
      if (!ctx.dryRun) rememberTemporalForms(sqlite.db, plan);
      warnings.push(...(await stopOrphanedCapture(ctx, registered)));
      // Columns that joined since the last run are backfilled before anything is pushed or pulled.
      const evolved = await evolveSchemas(ctx, selected);
      warnings.push(...evolved.notes);
      backfills = evolved.backfills;
      const runnable = selected.filter((t) => !evolved.failed.has(t.name));
      results.push(...failedBeforeSync(selected, evolved.failed, options.direction));
      await countingRetries(retries, async () => {
        if (options.direction !== 'pull') {
          try {
            await pushStep(ctx, runnable, results);
          } finally {
            if (wroteToPostgres(results, backfills)) await notePushedWrites(ctx);
          }
        } else if (backfills.length > 0) await notePushedWrites(ctx);
        if (options.direction !== 'push') {
          if (await pullStep(ctx, runnable, results)) warnings.push('a long-running Postgres transaction holds the pull fence back: changes committed after it started wait for it to finish');
        }
      });
      countRefusedBackfills(backfills, results);
    } catch (caught) {
      const err = watchdog.explain(asRunStopper(ctx, caught));
      if (!(err instanceof RunAborted) && !(err instanceof PossyncError)) throw err;
      stop = { error: err.message, errorCode: err instanceof PossyncError ? err.code : 'ABORTED' };
      if (err instanceof PossyncError && err.hint) stop.error += ` — ${err.hint}`;
    } finally {
      watchdog.stop();
    }
    // A table that failed or did not run still has the rows earlier runs held: count them, so
    // the summary never says "0 waiting or refused" over them. Not when the till is locked or
    // gone (that would wait out the busy timeout once more); a read that fails keeps the counts
    // as the run met them.
    if (stop?.errorCode !== 'LOCKED' && stop?.errorCode !== 'SQLITE_UNREACHABLE') {
      try {
        for (const r of results) if (r.status !== 'success') countHeld(sqlite.db, r.step, r.table, r, MAX_REASONS);
      } catch {}
    }
    if (ctx.pullServer && config.postgresRead) warnings.push(pullServerNote(ctx.pullServer));
    const finished = new Date();
    const result: RunResult = {
      runId: ctx.runId,
      terminalId: config.terminalId,
      direction: options.direction,
      dryRun: ctx.dryRun,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      status: stop ? 'failed' : runStatus(results),
      tables: results,
      retries,
      warnings,
      ...(backfills.length > 0 ? { backfills } : {}),
      ...(ctx.pullServer && config.postgresRead ? { pullServer: ctx.pullServer } : {}),
      ...(stop ?? {}),
    };
    if (!ctx.dryRun) await recordRun(pg, sqlite, result, config.retentionDays);
    return result;
  } finally {
    lock?.release();
    await close();
  }
}

/**
 * Whether the run may have written rows to Postgres that a pull must see (read-source.ts): a push
 * that applied anything or failed partway (some batches may have committed), or a backfill.
 */
function wroteToPostgres(results: readonly TableResult[], backfills: readonly BackfillReport[]): boolean {
  if (backfills.length > 0) return true;
  return results.some((r) => r.step === 'push' && (r.status !== 'success' || r.inserted + r.updated + r.deleted + r.conflicts + r.merged > 0));
}

/**
 * A backfilled value the other side refused leaves the two sides different: the table counts it
 * as rejected (the run is partial, never a success), and the next run tries the backfill again.
 */
function countRefusedBackfills(backfills: readonly BackfillReport[], results: TableResult[]): void {
  for (const b of backfills.filter((x) => x.refused.length > 0)) {
    const r = results.find((x) => x.table === b.table);
    if (!r) continue;
    r.rejected += b.refused.length;
    for (const reason of b.refused) addReason(r, `backfill ${reason}`);
  }
}

/** Tables whose backfill failed do not sync this run: one error result per step they take part in. */
function failedBeforeSync(tables: TablePlan[], failed: ReadonlyMap<string, string>, direction: RunOptions['direction']): TableResult[] {
  const out: TableResult[] = [];
  for (const t of tables.filter((x) => failed.has(x.name))) {
    for (const step of ['push', 'pull'] as const) {
      if (direction !== 'both' && direction !== step) continue;
      if (t.direction !== 'both' && t.direction !== step) continue;
      out.push({ ...emptyTableResult(t.name, t.label, step), status: 'error', error: failed.get(t.name)! });
    }
  }
  return out;
}

function selectTables(plan: SyncPlan, names: string[] | undefined): TablePlan[] {
  if (!names || names.length === 0) return plan.tables;
  const unknown = names.filter((n) => !plan.byName.has(n));
  if (unknown.length > 0) {
    throw new PossyncError('USAGE', `--tables names tables that are not in the config: ${unknown.join(', ')}`, {
      hint: `configured tables: ${plan.tables.map((t) => t.name).join(', ')}`,
    });
  }
  return plan.tables.filter((t) => names.includes(t.name));
}

/** Appends the step's results to `out` as it ends, also when the run stops in the middle of it. */
async function pushStep(ctx: RunContext, tables: TablePlan[], out: TableResult[]): Promise<void> {
  const results = new Map<TablePlan, TableResult>();
  const refused = new Set<TablePlan>();
  for (const t of tables) results.set(t, emptyTableResult(t.name, t.label, 'push'));
  try {
    let checkpoints: Map<string, PushCheckpoint> | undefined;
    await stepWide(ctx, results.values(), async () => {
      checkpoints = await readPushCheckpoints(ctx.pg.pool, ctx.plan.terminalId, tables.filter((t) => t.direction !== 'pull').map((t) => t.name));
    });
    if (!checkpoints) return;
    for (const group of fkComponents(tables)) {
      // A cycle's tables loading into an empty cloud go in together at COPY speed.
      if (group.length > 1) await loadCycle(ctx, group, checkpoints, results);
      for (const t of group) {
        const r = results.get(t)!;
        if (t.direction === 'pull') {
          await runTableStep(ctx, t, r, results, () => refuseLocalChanges(ctx, t, r));
          if (r.rejected > 0 || r.status !== 'success') refused.add(t);
          continue;
        }
        await runTableStep(ctx, t, r, results, () => pushTable(ctx, t, r, checkpoints!.get(t.name)));
      }
      // Tables around an FK cycle: rows that wait on each other go in together, before the
      // tables that depend on them run (so those find their parents and take the fast path).
      if (group.length > 1) await insertCycle(ctx, group, results);
    }
    // FK cycles between tables: a row may wait for a parent in a table pushed after it.
    for (const t of tables) {
      const r = results.get(t)!;
      if (t.direction !== 'pull' && r.status === 'success' && r.deferred > 0) await runTableStep(ctx, t, r, results, () => settleDeferredPushAgain(ctx, t, r));
    }
  } catch (err) {
    markNotReached(results.values());
    throw err;
  } finally {
    out.push(...tables.filter((t) => t.direction !== 'pull' || refused.has(t)).map((t) => results.get(t)!));
  }
}

/** The selected tables grouped by FK cycle, in plan order (a lone table is a group of one). */
function fkComponents(tables: TablePlan[]): TablePlan[][] {
  return componentOrder(tables, (t) => t.name, (t) => t.fks.map((f) => f.refTable).filter((r) => r !== t.name));
}

/** The time of a cycle's load together is its tables' time, shared out by the rows each took. */
async function loadCycle(ctx: RunContext, group: TablePlan[], checkpoints: Map<string, PushCheckpoint>, results: Map<TablePlan, TableResult>): Promise<void> {
  const started = performance.now();
  const loaded = await loadCycleTogether(ctx, group, checkpoints, results);
  const rows = [...loaded].reduce((n, t) => n + results.get(t)!.inserted, 0);
  for (const t of loaded) results.get(t)!.durationMs += ((performance.now() - started) * results.get(t)!.inserted) / Math.max(1, rows);
}

/** A failed insert-together leaves the rows deferred, with the reason on each table of the cycle. */
async function insertCycle(ctx: RunContext, group: TablePlan[], results: Map<TablePlan, TableResult>): Promise<void> {
  try {
    await insertCycleTogether(ctx, group, results);
  } catch (caught) {
    const err = asRunStopper(ctx, caught);
    if (err instanceof RunAborted || err instanceof PossyncError) throw err;
    const reason = `rows of ${group.map((t) => t.name).join(', ')} that wait on each other could not go in together: ${redactUrl(err instanceof Error ? err.message : String(err))}`;
    for (const t of group) addReason(results.get(t)!, reason);
  }
}

/** Returns whether an open transaction holds the pull fence back. */
async function pullStep(ctx: RunContext, tables: TablePlan[], out: TableResult[]): Promise<boolean> {
  const results = new Map<TablePlan, TableResult>();
  for (const t of tables) results.set(t, emptyTableResult(t.name, t.label, 'pull'));
  let heldBack = false;
  try {
    await stepWide(ctx, results.values(), async () => {
      heldBack = (await pullAll(ctx, tables.filter((t) => t.direction !== 'push'), results)).heldBackByOpenTransaction;
    });
  } catch (err) {
    markNotReached(results.values());
    throw err;
  } finally {
    out.push(...stepResults(tables, results, 'pull'));
  }
  return heldBack;
}

/** Tables whose direction excludes the step are left out of that step's results. */
function stepResults(tables: TablePlan[], results: Map<TablePlan, TableResult>, step: Step): TableResult[] {
  return tables.filter((t) => t.direction === 'both' || t.direction === step).map((t) => results.get(t)!);
}

/** After the run stopped: tables it never started say so, instead of a success with no rows. */
function markNotReached(results: Iterable<TableResult>): void {
  for (const r of results) if (r.status === 'success' && r.durationMs === 0) r.status = 'not-run';
}

async function settleDeferredPushAgain(ctx: RunContext, t: TablePlan, r: TableResult): Promise<void> {
  await settleDeferredPush(ctx, t, pulledSnapshot(ctx.sqlite.db, ctx.plan.terminalId, t.name), r);
}
