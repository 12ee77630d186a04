import type { Direction } from '../../config/types.ts';
import {
  captureCensus,
  captureHashOf,
  loggedNameOf,
  markStopped,
  markSwept,
  pruneTableLog,
  registerTables,
  unregisteredTills,
  SWEEP_EVERY_MINUTES,
  type CaptureCensus,
  type CaptureTriggerRow,
  type RegisterOutcome,
} from '../../db/postgres/capture-registry.ts';
import { runDdl } from '../../db/postgres/ddl-locks.ts';
import { isPermissionDenied, rethrowPermission } from '../../db/postgres/privileges.ts';
import { changeLogName, PG_SCHEMA } from '../../db/postgres/possync-schema.ts';
import { pgIdent, pgTable } from '../../db/quote.ts';
import { isPossyncError } from '../../errors.ts';
import type { RunContext } from '../context.ts';
import type { SyncPlan } from '../plan/types.ts';

/**
 * Cloud capture that no till needs any more. A till that takes a table out of its config drops
 * its own SQLite capture (removed-tables.ts) but leaves the cloud's: other tills may still sync
 * the table, in any direction (a pull reads the cloud's change log, and a push reads it too, to
 * tell which keys someone else changed). Once no till syncs it, its capture triggers would fill
 * possync.changes for nobody until retention caught up, and keep doing so.
 *
 * So every till registers the tables it syncs (capture-registry.ts) at the start of each run, and
 * a run that looks (every SWEEP_EVERY_MINUTES, or when its own tables changed) and finds capture triggers on a table that no till seen within retentionDays registers:
 * - drops them, and the capture functions, under runDdl's lock discipline, when possync's role
 *   owns the table (DROP TRIGGER needs that); otherwise leaves them and says so, and goes on
 *   pruning the table's entries until the owner runs possync once;
 * - deletes the table's change-log entries, leaving one reload entry ('T') in their place;
 * - says it in the run's notes.
 *
 * "Live" is the rule retention uses: seen within retentionDays. A till silent for longer does not
 * keep capture alive, just as it does not hold pruning back: it has to resync anyway. When it (or
 * any till) syncs the table again, its install puts the triggers back with a reload entry in the
 * same transaction (install.ts, logRevival), and every till whose checkpoint is older than that
 * entry resyncs the table in full, since the changes made meanwhile were never logged. A till that
 * took the table out of its config forgot its checkpoints then, so it syncs it as a first sync.
 *
 * Tills on a possync from before the registry do not register: while any of them is live, nobody
 * can tell which tables they sync, and nothing is swept (verify-schemas says so).
 */

/** The change-log names this till syncs, with their direction. */
export function syncedTables(plan: SyncPlan): Record<string, Direction> {
  return Object.fromEntries(plan.tables.map((t) => [changeLogName(plan.schema, t.name), t.direction]));
}

/** Before the install: registers this till's tables, so that no sweep runs between its install check and its sync. */
export async function registerSyncedTables(ctx: RunContext): Promise<RegisterOutcome> {
  if (ctx.dryRun) return { registered: true, changed: false, due: false };
  // A role that may not write possync.system_settings stops here: exit 2 with the GRANT, not pg's raw error.
  return registerTables(ctx.pg, ctx.plan.terminalId, syncedTables(ctx.plan)).catch(rethrowPermission(ctx.pg.pool, 'sync', ctx.plan.schema));
}

export interface OrphanedCapture {
  /** The change-log name (`schema.table`). */
  name: string;
  /** The table the triggers were made for (quoted, qualified). */
  relation: string;
  triggers: CaptureTriggerRow[];
  /** possync's role owns every table that carries them, so it may drop them. */
  droppable: boolean;
}

/** Capture trigger groups (one per capture function) whose table no live till, and not this one, registers. */
export function orphansOf(census: CaptureCensus, own: ReadonlySet<string>): OrphanedCapture[] {
  const groups = new Map<string, CaptureTriggerRow[]>();
  for (const r of census.triggers) {
    const base = r.fn.replace(/_key$/, '');
    groups.set(base, [...(groups.get(base) ?? []), r]);
  }
  const out: OrphanedCapture[] = [];
  for (const [base, rows] of groups) {
    const hash = base.slice('capture_'.length);
    const root = rows.find((r) => captureHashOf(`${r.schema}.${r.table}`) === hash);
    const name = rows.map((r) => loggedNameOf(r.comment)).find((n) => n !== undefined) ?? (root ? `${root.schema}.${root.table}` : undefined);
    // Triggers whose table cannot be told: leave them to a person (verify-schemas lists them all).
    if (!name || census.registered.has(name) || own.has(name)) continue;
    const on = root ?? rows[0]!;
    out.push({ name, relation: pgTable(on.schema, on.table), triggers: rows, droppable: rows.every((r) => r.ownsTable) });
  }
  return out;
}

/**
 * After the install: registers (if possync was only just installed), then stops capture no till
 * needs, when this till's tables changed or no till looked within SWEEP_EVERY_MINUTES.
 */
export async function stopOrphanedCapture(ctx: RunContext, registration: RegisterOutcome): Promise<string[]> {
  if (!registration.registered) await registerSyncedTables(ctx);
  if (!registration.changed && !registration.due) return [];
  const own = new Set(Object.keys(syncedTables(ctx.plan)));
  const days = ctx.config.retentionDays;
  const refused = rethrowPermission(ctx.pg.pool, 'sync', ctx.plan.schema);
  await markSwept(ctx.pg.pool).catch(refused);
  const orphans = orphansOf(await captureCensus(ctx.pg.pool, days).catch(refused), own);
  if (orphans.length === 0 || (await unregisteredTills(ctx.pg.pool, days).catch(refused)).length > 0) return [];
  const notes: string[] = [];
  for (const o of orphans) {
    try {
      const note = await stopOne(ctx, o, own);
      if (note) notes.push(note);
    } catch (err) {
      if (!(isPossyncError(err) && err.code === 'BLOCKED') && !isPermissionDenied(err)) throw err;
      const why = isPossyncError(err) ? err.message.replace(/^could not lock (\S+) to install possync's capture triggers/, 'could not lock $1') : (err as Error).message;
      notes.push(`${o.name}: no till syncs it any more, but possync could not stop its cloud capture this run (${why}); the next run tries again`);
    }
  }
  return notes;
}

/** One table, under the install lock, checked again there (a till may have registered it meanwhile). */
async function stopOne(ctx: RunContext, o: OrphanedCapture, own: ReadonlySet<string>): Promise<string | undefined> {
  const days = ctx.config.retentionDays;
  return runDdl(ctx.pg, o.relation, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('possync.install'))`);
    const now = orphansOf(await captureCensus(client, days), own).find((x) => x.name === o.name);
    if (!now) return undefined;
    const seen = `no till seen within ${days} day${days === 1 ? '' : 's'} syncs it any more`;
    if (!now.droppable) {
      const pruned = await pruneTableLog(client, now.name);
      return `${now.name}: ${seen}, but possync's role may not drop its Postgres capture triggers (only the table's owner may), so they go on logging: possync deleted ${entries(pruned)} and goes on pruning them (every ${SWEEP_EVERY_MINUTES} minutes at most). Run possync once as the table's owner, or: ${dropStatements(now, true).join(' ')}`;
    }
    await client.query(dropStatements(now).join('\n'));
    await markStopped(client, now.name);
    const pruned = await pruneTableLog(client, now.name);
    return `${now.name}: ${seen}: possync removed its Postgres capture triggers and ${entries(pruned)}; a till that syncs it again reinstalls them and syncs it in full`;
  });
}

/** DROP TRIGGER for every capture trigger of the group, then DROP FUNCTION for its functions (those possync's role owns, or all). */
export function dropStatements(o: OrphanedCapture, allFunctions = false): string[] {
  const triggers = o.triggers.map((r) => `DROP TRIGGER IF EXISTS ${pgIdent(r.trigger)} ON ${pgTable(r.schema, r.table)};`);
  const fns = [...new Set(o.triggers.filter((r) => allFunctions || r.ownsFunction).map((r) => r.fn))];
  return [...triggers, ...fns.map((f) => `DROP FUNCTION IF EXISTS ${pgIdent(PG_SCHEMA)}.${pgIdent(f)}();`)];
}

function entries(n: number): string {
  return `${n} change-log entr${n === 1 ? 'y' : 'ies'}`;
}
