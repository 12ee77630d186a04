import type { PgGateway } from '../../db/postgres/gateway.ts';
import { BOOKKEEPING_TABLES, captureDdl, PG_SCHEMA } from '../../db/postgres/possync-schema.ts';
import { pgIdent, pgTable } from '../../db/quote.ts';
import { pgCaptureStates } from '../install.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { finding, type Finding } from './finding.ts';

const ROW_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
const SEE_README = 'README "Least privilege"';

/**
 * The privileges possync's role needs for its next run, and whether other roles writing a synced
 * table still get their changes captured. Only what is missing is reported, each with the GRANT
 * that fixes it; a superuser or an owner sees nothing.
 *
 * Every run reads and writes rows: USAGE on the synced schema, SELECT on each synced table (and
 * INSERT, UPDATE, DELETE where it pushes; possync never TRUNCATEs), and USAGE plus row rights on
 * schema possync. Installing (first run, or capture objects missing or outdated) also creates
 * objects: CREATE on the database for schema possync, CREATE on schema possync for its tables
 * and functions, TRIGGER on a table to add capture triggers, and ownership of the table or
 * function to replace ones that exist. Once installed, none of that is needed.
 */
export async function privilegeFindings(pg: PgGateway, plan: SyncPlan): Promise<Finding[]> {
  const [ctx] = await pg.query<{ role: string; db: string; db_create: boolean; possync: boolean; possync_usage: boolean; possync_create: boolean; schema_usage: boolean | null }>(
    `SELECT current_user AS role, current_database() AS db, has_database_privilege(current_database(), 'CREATE') AS db_create,
            p.oid IS NOT NULL AS possync, coalesce(has_schema_privilege(p.oid, 'USAGE'), false) AS possync_usage,
            coalesce(has_schema_privilege(p.oid, 'CREATE'), false) AS possync_create, has_schema_privilege(s.oid, 'USAGE') AS schema_usage
       FROM (SELECT 1) one LEFT JOIN pg_namespace p ON p.nspname = $1 LEFT JOIN pg_namespace s ON s.nspname = $2`,
    [PG_SCHEMA, plan.schema],
  );
  const c = ctx!;
  const to = `TO ${pgIdent(c.role)};`;
  const who = `possync's role "${c.role}"`;
  const out: Finding[] = [];
  const missingError = (table: string | null, message: string, fix: string) => out.push(finding('error', table, 'privilege-missing', `${who} ${message}`, fix));

  // Every run: the synced tables.
  if (c.schema_usage === false) missingError(null, `may not use schema "${plan.schema}" of the synced tables`, `GRANT USAGE ON SCHEMA ${pgIdent(plan.schema)} ${to}`);
  const tables = await tablePrivileges(pg, plan);
  for (const t of plan.tables) {
    const p = tables.get(t.name);
    if (!p) continue;
    const missing = rowPrivilegesNeeded(t).filter((x) => !p.has[x]);
    if (missing.length > 0) missingError(t.name, `lacks ${missing.join(', ')} on table ${pgTable(plan.schema, t.name)}, which it ${t.direction === 'pull' ? 'reads' : 'reads and writes'}`, `GRANT ${missing.join(', ')} ON ${pgTable(plan.schema, t.name)} ${to}`);
  }

  // assignKey "cloud": keys come from the column's sequence (nextval wants USAGE or UPDATE on it).
  for (const s of await sequencePrivileges(pg, plan)) {
    if (!s.ok) missingError(s.table, `may not draw keys from sequence ${s.sequence}, which assigns the keys of rows this till creates in ${pgTable(plan.schema, s.table)} (assignKey "cloud")`, `GRANT USAGE ON SEQUENCE ${s.sequence} ${to}`);
  }

  // Every run: possync's own tables.
  if (c.possync) {
    if (!c.possync_usage) missingError(null, `may not use schema "${PG_SCHEMA}", where possync keeps its change log and checkpoints`, `GRANT USAGE ON SCHEMA ${pgIdent(PG_SCHEMA)} ${to}`);
    const lacking = (await bookkeepingPrivileges(pg)).filter((b) => b.missing.length > 0);
    if (lacking.length > 0) {
      missingError(
        null,
        `lacks privileges on possync's own tables: ${lacking.map((b) => `${b.name} (${b.missing.join(', ')})`).join(', ')}`,
        lacking.map((b) => `GRANT ${b.missing.join(', ')} ON ${pgTable(PG_SCHEMA, b.name)} ${to}`).join(' '),
      );
    }
  }

  // Installing: only while something is not installed yet, or outdated.
  const states = new Map((await pgCaptureStates(pg.pool, plan)).map((s) => [s.table, s.state]));
  const toInstall = plan.tables.filter((t) => states.get(t.name) !== 'ok');
  const bookkeepingMissing = !c.possync || (await missingBookkeeping(pg)) > 0;
  const installNote = `, which the next sync needs to install possync's ${bookkeepingMissing ? 'schema' : 'capture triggers'} (or install once as the owner: see ${SEE_README})`;
  if (!c.possync && !c.db_create) {
    missingError(null, `may not create schema "${PG_SCHEMA}" in database "${c.db}"${installNote}`, `GRANT CREATE ON DATABASE ${pgIdent(c.db)} ${to}`);
  } else if (c.possync && !c.possync_create && (bookkeepingMissing || toInstall.length > 0)) {
    missingError(null, `may not create objects in schema "${PG_SCHEMA}"${installNote}`, `GRANT CREATE ON SCHEMA ${pgIdent(PG_SCHEMA)} ${to}`);
  }
  const functions = await captureFunctions(pg, plan);
  for (const t of toInstall) {
    const p = tables.get(t.name);
    if (!p) continue;
    const target = pgTable(plan.schema, t.name);
    const foreign = functions.get(t.name)?.find((f) => !f.mine);
    if (foreign) {
      missingError(t.name, `may not replace possync's capture function for ${target}: it belongs to "${foreign.owner}"`, `run possync trigger once as "${foreign.owner}", the role that installed possync: see ${SEE_README}`);
    } else if (p.captureTriggers > 0 && !p.owner) {
      // Some capture triggers exist (outdated, or one of them dropped): DROP TRIGGER needs ownership.
      missingError(t.name, `may not replace possync's capture triggers on ${target}: only its owner "${p.ownerName}" may`, `run possync trigger once as "${p.ownerName}", or ALTER TABLE ${target} OWNER TO ${pgIdent(c.role)};`);
    } else if (p.captureTriggers === 0 && !p.has.TRIGGER) {
      missingError(t.name, `may not create triggers on ${target}, which the next sync installs to capture its changes`, `GRANT TRIGGER ON ${target} ${to} or install once as the table's owner: see ${SEE_README}`);
    }
  }

  // Other roles writing the synced tables: their writes fire possync's capture functions.
  if (c.possync) out.push(...(await otherWriterFindings(pg, plan, functions)));
  return out;
}

/** Pull-only tables are only read in Postgres; pushing upserts (INSERT … ON CONFLICT DO UPDATE, COPY) and deletes. */
function rowPrivilegesNeeded(t: TablePlan): Array<(typeof ROW_PRIVILEGES)[number]> {
  return t.direction === 'pull' ? ['SELECT'] : [...ROW_PRIVILEGES];
}

interface TablePrivileges {
  has: Record<(typeof ROW_PRIVILEGES)[number] | 'TRIGGER', boolean>;
  /** possync's role is (a member of) the table's owner. */
  owner: boolean;
  ownerName: string;
  captureTriggers: number;
}

async function tablePrivileges(pg: PgGateway, plan: SyncPlan): Promise<Map<string, TablePrivileges>> {
  const rows = await pg.query<{ name: string; s: boolean; i: boolean; u: boolean; d: boolean; t: boolean; owner: boolean; owner_name: string; triggers: number }>(
    `SELECT c.relname AS name, has_table_privilege(c.oid, 'SELECT') AS s, has_table_privilege(c.oid, 'INSERT') AS i,
            has_table_privilege(c.oid, 'UPDATE') AS u, has_table_privilege(c.oid, 'DELETE') AS d, has_table_privilege(c.oid, 'TRIGGER') AS t,
            pg_has_role(c.relowner, 'USAGE') AS owner, c.relowner::regrole::text AS owner_name,
            (SELECT count(*)::int FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal AND g.tgname LIKE 'possync\\_capture\\_%') AS triggers
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[])`,
    [plan.schema, plan.tables.map((t) => t.name)],
  );
  return new Map(
    rows.map((r) => [r.name, { has: { SELECT: r.s, INSERT: r.i, UPDATE: r.u, DELETE: r.d, TRIGGER: r.t }, owner: r.owner, ownerName: r.owner_name, captureTriggers: r.triggers }]),
  );
}

async function sequencePrivileges(pg: PgGateway, plan: SyncPlan): Promise<Array<{ table: string; sequence: string; ok: boolean }>> {
  const keyed = plan.tables.filter((t) => t.cloudKey && t.direction !== 'pull');
  if (keyed.length === 0) return [];
  const rows = await pg.query<{ ok: boolean | null }>(
    `SELECT CASE WHEN to_regclass(s) IS NULL THEN NULL ELSE has_sequence_privilege(to_regclass(s), 'USAGE') OR has_sequence_privilege(to_regclass(s), 'UPDATE') END AS ok
       FROM unnest($1::text[]) WITH ORDINALITY AS u(s, n) ORDER BY n`,
    [keyed.map((t) => t.cloudKey!.sequence)],
  );
  // A sequence that is gone is verify-schemas' other findings' business (the plan would not have it).
  return keyed.map((t, i) => ({ table: t.name, sequence: t.cloudKey!.sequence, ok: rows[i]?.ok !== false }));
}

async function bookkeepingPrivileges(pg: PgGateway): Promise<Array<{ name: string; missing: string[] }>> {
  return pg.query<{ name: string; missing: string[] }>(
    `SELECT c.relname AS name, array(SELECT p FROM unnest($3::text[]) AS p WHERE NOT has_table_privilege(c.oid, p)) AS missing
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) ORDER BY array_position($2::text[], c.relname::text)`,
    [PG_SCHEMA, [...BOOKKEEPING_TABLES], [...ROW_PRIVILEGES]],
  );
}

async function missingBookkeeping(pg: PgGateway): Promise<number> {
  const [row] = await pg.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM unnest($2::text[]) AS b(name)
      WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = b.name)`,
    [PG_SCHEMA, [...BOOKKEEPING_TABLES]],
  );
  return row?.n ?? 0;
}

interface CaptureFunction {
  name: string;
  definer: boolean;
  owner: string;
  /** possync's role is (a member of) its owner, so it may replace it. */
  mine: boolean;
  /** Its owner may write the change log: what a SECURITY DEFINER function writes with. */
  ownerCanLog: boolean;
}

/** The installed capture functions of each synced table. */
async function captureFunctions(pg: PgGateway, plan: SyncPlan): Promise<Map<string, CaptureFunction[]>> {
  const names = new Map<string, string>();
  for (const t of plan.tables) {
    const fn = captureDdl(plan.schema, t.name, t.key.map((k) => k.pg)).functionName;
    names.set(fn, t.name);
    names.set(`${fn}_key`, t.name);
  }
  const rows = await pg.query<{ name: string; definer: boolean; owner: string; mine: boolean; can_log: boolean }>(
    `SELECT p.proname AS name, p.prosecdef AS definer, p.proowner::regrole::text AS owner, pg_has_role(p.proowner, 'USAGE') AS mine,
            has_schema_privilege(p.proowner, n.oid, 'USAGE') AND coalesce(has_table_privilege(p.proowner, to_regclass('possync.changes'), 'INSERT'), false) AS can_log
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND p.proname = ANY($2::text[])`,
    [PG_SCHEMA, [...names.keys()]],
  );
  const out = new Map<string, CaptureFunction[]>();
  for (const r of rows) {
    const table = names.get(r.name)!;
    out.set(table, [...(out.get(table) ?? []), { name: r.name, definer: r.definer, owner: r.owner, mine: r.mine, ownerCanLog: r.can_log }]);
  }
  return out;
}

/**
 * A capture function that runs as its owner (SECURITY DEFINER) needs only its owner to be able to
 * write possync.changes. One left by an older possync runs with each writer's rights: every role
 * that may write the table must then also be able to write possync.changes, or its writes fail.
 */
async function otherWriterFindings(pg: PgGateway, plan: SyncPlan, functions: Map<string, CaptureFunction[]>): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const t of plan.tables) {
    const fns = functions.get(t.name) ?? [];
    const target = pgTable(plan.schema, t.name);
    const cannotLog = fns.find((f) => f.definer && !f.ownerCanLog);
    if (cannotLog) {
      out.push(
        finding(
          'error',
          t.name,
          'capture-owner-privilege',
          `possync's capture functions for ${target} run as "${cannotLog.owner}", which may not write possync.changes: every write to the table fails`,
          `GRANT USAGE ON SCHEMA ${pgIdent(PG_SCHEMA)} TO ${pgIdent(cannotLog.owner)}; GRANT INSERT ON ${pgTable(PG_SCHEMA, 'changes')} TO ${pgIdent(cannotLog.owner)};`,
        ),
      );
    }
    if (!fns.some((f) => !f.definer)) continue;
    const rows = await pg.query<{ role: string }>(
      `SELECT r.rolname AS role FROM pg_roles r
        WHERE NOT r.rolsuper AND r.rolname !~ '^pg_' AND has_table_privilege(r.oid, $1::regclass, 'INSERT, UPDATE, DELETE, TRUNCATE')
          AND NOT (has_schema_privilege(r.oid, to_regnamespace($2), 'USAGE') AND coalesce(has_table_privilege(r.oid, to_regclass('possync.changes'), 'INSERT'), false))
        ORDER BY 1`,
      [target, PG_SCHEMA],
    );
    if (rows.length === 0) continue;
    const roles = rows.map((r) => `"${r.role}"`).join(', ');
    out.push(
      finding(
        'error',
        t.name,
        'capture-other-writers',
        `${rows.length === 1 ? 'role' : 'roles'} ${roles} may write ${target} but not possync.changes: their writes fail, because possync's capture functions there run with the writer's rights (an older possync)`,
        `possync trigger (reinstalls them as SECURITY DEFINER; see ${SEE_README})`,
      ),
    );
  }
  return out;
}
