import type { PgGateway, Queryable } from '../db/postgres/gateway.ts';
import { runDdl } from '../db/postgres/ddl-locks.ts';
import { isPossyncError, type PossyncError } from '../errors.ts';
import { rethrowPermission } from '../db/postgres/privileges.ts';
import { pgErrorCode, UNDEFINED_TABLE } from '../db/postgres/errors.ts';
import { BOOKKEEPING_DDL, CAPTURE_FUNCTION_CONFIG, captureDdl, changeLogName, PG_SCHEMA, PG_SCHEMA_VERSION, type CaptureFormat, type CaptureTrigger, logReload } from '../db/postgres/possync-schema.ts';
import { captureFormatOf, judgeFormat, ownCaptureFormat, upgradeRequired } from './install/compat.ts';
import { installSqliteCapture, sqliteTriggerState, type SqliteCaptureSpec, type TriggerState } from '../db/sqlite/capture.ts';
import type { SqliteGateway } from '../db/sqlite/gateway.ts';
import { installSqliteBookkeeping } from '../db/sqlite/possync-schema.ts';
import { installNewKeys } from '../db/sqlite/new-keys.ts';
import { ensureBaseTable, forgetBaseTable } from '../db/sqlite/base-copy.ts';
import { baseCopySpec } from './merge/base.ts';
import { markTillRowsOnce } from './push/cloud-keys.ts';
import { logRevival } from '../db/postgres/capture-registry.ts';
import { pgIdent, pgTable } from '../db/quote.ts';
import type { SyncPlan, TablePlan } from './plan/types.ts';

export function sqliteCaptureSpec(t: TablePlan): SqliteCaptureSpec {
  const spec: SqliteCaptureSpec = { table: t.sqliteName, localKey: t.localKey, sharedKey: t.key.map((k) => k.sqlite), columns: t.columns.map((c) => c.sqlite), base: baseCopySpec(t) };
  return t.cloudKey ? { ...spec, newKeys: true } : spec;
}

/**
 * Tables whose local changes are captured: every synced table. Pull-only tables are captured too,
 * so a local edit to them is noticed, refused and undone instead of silently diverging.
 */
export function capturesLocally(_t: TablePlan): boolean {
  return true;
}

export interface PgCaptureState {
  table: string;
  state: TriggerState;
  /**
   * Children or partitions without any capture trigger while the table itself has them: a child
   * created since the last run. Rows written straight into it meanwhile were not logged.
   */
  uncovered: string[];
  /**
   * The installed objects are a newer format than this possync's (install/compat.ts): 'newer'
   * ones it reads and leaves in place (state 'ok'), 'unreadable' ones mean it must be upgraded.
   */
  newer?: { format: CaptureFormat; verdict: 'newer' | 'unreadable' };
}

/** The capture objects of a synced table, on it and on its inheritance children or partitions. */
export function tableCaptureDdl(schema: string, t: TablePlan) {
  return captureDdl(schema, t.name, t.key.map((k) => k.pg), t.pg.routing?.descendants ?? [], ownCaptureFormat());
}

/**
 * Which synced tables lack possync's Postgres capture triggers, or have an old version of them.
 * Every one of the five triggers must be there (and the statement ones on each inheritance child and partition), enabled, of the expected kind, and calling this
 * version's function bodies: a table with only some of them (one dropped by hand, or disabled for
 * a bulk load and never re-enabled) loses those changes silently, so it counts as missing; one
 * whose triggers or functions differ from this version (an older possync, a hand edit) is stale.
 * Either way the next run reinstalls them. A function that runs with its caller's rights (an
 * older possync, before SECURITY DEFINER) or without the pinned search_path is stale too: with it,
 * other roles writing the table fail on possync.changes.
 */
export async function pgCaptureStates(q: Queryable, plan: SyncPlan): Promise<PgCaptureState[]> {
  const targets = plan.tables.flatMap((t) => [{ schema: plan.schema, name: t.name }, ...(t.pg.routing?.descendants ?? [])]);
  const { rows: installed } = await q.query<{ nspname: string; relname: string; tgname: string; tgenabled: string; tgtype: number; newtable: string | null; oldtable: string | null; fn_schema: string; proname: string; prosrc: string; prosecdef: boolean; proconfig: string[] | null; comment: string | null }>(
    `SELECT n.nspname, c.relname, t.tgname, t.tgenabled::text AS tgenabled, t.tgtype::int AS tgtype, t.tgnewtable::text AS newtable, t.tgoldtable::text AS oldtable,
            pn.nspname AS fn_schema, p.proname, p.prosrc, p.prosecdef, p.proconfig, obj_description(p.oid, 'pg_proc') AS comment
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
      WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND NOT t.tgisinternal AND t.tgname LIKE 'possync\\_capture\\_%'`,
    [targets.map((x) => x.schema), targets.map((x) => x.name)],
  );
  return plan.tables.map((t) => {
    const expected = tableCaptureDdl(plan.schema, t);
    const body = new Map(expected.functions.map((f) => [f.name, f.body]));
    const on = (schema: string, name: string) => installed.filter((r) => r.nspname === schema && r.relname === name);
    const own = on(plan.schema, t.name);
    const uncovered = own.length === 0 ? [] : expected.descendants.filter((d) => on(d.schema, d.name).length === 0).map((d) => `${d.schema}.${d.name}`);
    // Objects of a newer possync (install/compat.ts): their trigger set is theirs to check. They
    // are left alone unless one of them is disabled (capture must not stay off: see compat.ts).
    const newest = newestFormat([...own, ...expected.descendants.flatMap((d) => on(d.schema, d.name))].map((r) => r.comment));
    const verdict = judgeFormat(newest);
    if (verdict === 'newer' || verdict === 'unreadable') {
      const disabled = [own, ...expected.descendants.map((d) => on(d.schema, d.name))].some((rows) => rows.some((r) => r.tgenabled === 'D'));
      const newer = { format: newest!, verdict };
      if (verdict === 'unreadable') return { table: t.name, state: 'ok', uncovered, newer };
      return { table: t.name, state: disabled || own.length === 0 ? 'missing' : 'ok', uncovered, newer };
    }
    let state: TriggerState = 'ok';
    for (const [rows, triggers] of [[own, expected.triggers], ...expected.descendants.map((d) => [on(d.schema, d.name), d.triggers] as const)] as const) {
      const s = triggerState(new Map(rows.map((r) => [r.tgname, r])), triggers, body);
      if (s === 'missing') return { table: t.name, state: 'missing', uncovered };
      if (s === 'stale') state = 'stale';
    }
    return { table: t.name, state, uncovered };
  });
}

function newestFormat(comments: ReadonlyArray<string | null>): CaptureFormat | undefined {
  let newest: CaptureFormat | undefined;
  for (const c of comments) {
    const f = captureFormatOf(c);
    if (f && (!newest || f.version > newest.version)) newest = f;
  }
  return newest;
}

function triggerState(
  found: Map<string, { tgenabled: string; tgtype: number; newtable: string | null; oldtable: string | null; fn_schema: string; proname: string; prosrc: string; prosecdef: boolean; proconfig: string[] | null }>,
  triggers: readonly CaptureTrigger[],
  body: ReadonlyMap<string, string>,
): TriggerState {
  let state: TriggerState = 'ok';
  for (const want of triggers) {
    const got = found.get(want.name);
    // 'D': disabled (ALTER TABLE … DISABLE TRIGGER): as good as missing while it stays so.
    if (!got || got.tgenabled === 'D') return 'missing';
    const same =
      got.fn_schema === PG_SCHEMA &&
      got.proname === want.function &&
      got.prosrc === body.get(want.function) &&
      got.prosecdef &&
      sameConfig(got.proconfig, CAPTURE_FUNCTION_CONFIG) &&
      got.tgtype === want.tgtype &&
      got.newtable === want.newTable &&
      got.oldtable === want.oldTable;
    if (!same) state = 'stale';
  }
  return state;
}

function sameConfig(got: readonly string[] | null, want: readonly string[]): boolean {
  return got !== null && got.length === want.length && got.every((v, i) => v === want[i]);
}

/**
 * Whether possync's Postgres bookkeeping is in place at this version or newer: one round trip
 * (every run asks). A missing table or schema (both 42P01) means not installed.
 */
export async function pgBookkeepingInstalled(pg: PgGateway): Promise<boolean> {
  let rows: Array<{ v: string }>;
  try {
    rows = await pg.query<{ v: string }>(`SELECT setting_value AS v FROM possync.system_settings WHERE setting_key = 'possync.schema_version'`);
  } catch (err) {
    if (pgErrorCode(err) === UNDEFINED_TABLE) return false;
    throw err;
  }
  // A newer possync's bookkeeping includes this one's (it only ever adds): not reinstalled.
  return Number(rows[0]?.v ?? 0) >= PG_SCHEMA_VERSION;
}

/**
 * Makes sure possync's own objects exist on both sides: bookkeeping tables and the capture
 * triggers of every synced table. Cheap when everything is in place (a catalog query per side);
 * installs run under an advisory lock so terminals starting together do not race.
 */
export async function ensureInstalled(pg: PgGateway, sqlite: SqliteGateway, plan: SyncPlan): Promise<string[]> {
  const notes: string[] = [];
  if (await needsPgInstall(pg, plan).catch(rethrowPermission(pg.pool, 'sync', plan.schema))) {
    // Terminals starting together all see "missing": they queue on the advisory lock and each one
    // checks again once it holds it, so only the first installs. Each table's triggers go in in
    // a transaction of their own, under runDdl's short lock timeout: one table an app session
    // keeps locked does not undo the others, and the error names that session.
    await runDdl(pg, `${PG_SCHEMA}.changes`, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('possync.install'))`);
      await client.query(BOOKKEEPING_DDL);
      await client.query(
        `INSERT INTO possync.system_settings (setting_key, setting_value) VALUES ('possync.schema_version', $1)
         ON CONFLICT (setting_key) DO UPDATE SET setting_value = greatest(possync.system_settings.setting_value::int, EXCLUDED.setting_value::int)::text, updated_at = now()`,
        [String(PG_SCHEMA_VERSION)],
      );
    }).catch(rethrowPermission(pg.pool, 'install', plan.schema));
    const installed: string[] = [];
    const blocked: PossyncError[] = [];
    for (const t of plan.tables) {
      try {
        const done = await runDdl(pg, pgTable(plan.schema, t.name), async (client) => {
          await client.query(`SELECT pg_advisory_xact_lock(hashtext('possync.install'))`);
          const [state] = await pgCaptureStates(client, { ...plan, tables: [t] });
          refuseUnreadable([state!]);
          if (state!.state === 'ok') return false;
          await client.query(tableCaptureDdl(plan.schema, t).ddl);
          // possync had stopped this table's capture (no till synced it): a reload entry makes
          // every till with an older checkpoint resync it (evolve/orphaned-capture.ts).
          await logRevival(client, changeLogName(plan.schema, t.name));
          // A child or partition created since the last run had no triggers: rows written straight
          // into it were not logged. A reload entry makes every terminal resync the table.
          if (state!.uncovered.length > 0) {
            await logReload(client, changeLogName(plan.schema, t.name), null);
          }
          return true;
        }).catch(rethrowPermission(pg.pool, 'install', plan.schema));
        if (done) installed.push(`${pgIdent(plan.schema)}.${pgIdent(t.name)}`);
      } catch (err) {
        if (!(isPossyncError(err) && err.code === 'BLOCKED')) throw err;
        blocked.push(err);
      }
    }
    if (installed.length > 0) notes.push(`installed Postgres capture triggers on ${installed.join(', ')}`);
    // A table without its triggers would lose its cloud changes: the run does not start.
    if (blocked.length > 0) throw blocked[0];
  }
  const db = sqlite.db;
  installSqliteBookkeeping(db);
  if (plan.tables.some((t) => t.cloudKey)) installNewKeys(db);
  const installed: string[] = [];
  for (const t of plan.tables.filter(capturesLocally)) {
    const spec = sqliteCaptureSpec(t);
    if (spec.base) sqlite.immediate(() => ensureBaseTable(db, spec.base!));
    else forgetBaseTable(db, t.sqliteName, t.name);
    if (sqliteTriggerState(db, spec) !== 'ok') {
      sqlite.immediate(() => {
        const marked = t.cloudKey ? markTillRowsOnce(db, plan.terminalId, t) : 0;
        installSqliteCapture(db, spec);
        if (marked > 0) notes.push(`${t.label}: ${marked} row(s) that were on this till before it ever pulled the table will get keys from the cloud (assignKey "cloud")`);
      });
      installed.push(t.sqliteName);
    }
  }
  if (installed.length > 0) notes.push(`installed SQLite capture triggers on ${installed.join(', ')}`);
  return notes;
}

/** Both checks, one after the other on one connection (see introspectPg): they run before every sync. */
async function needsPgInstall(pg: PgGateway, plan: SyncPlan): Promise<boolean> {
  const bookkeeping = await pgBookkeepingInstalled(pg);
  const capture = await pgCaptureStates(pg.pool, plan);
  refuseUnreadable(capture);
  return !bookkeeping || capture.some((s) => s.state !== 'ok');
}

/** A till that cannot read the cloud's capture format installs nothing and syncs nothing. */
function refuseUnreadable(states: readonly PgCaptureState[]): void {
  const unreadable = states.filter((s) => s.newer?.verdict === 'unreadable');
  if (unreadable.length > 0) throw upgradeRequired(unreadable[0]!.newer!.format, ownCaptureFormat(), unreadable.map((s) => s.table));
}
