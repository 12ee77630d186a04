import { createHash } from 'node:crypto';
import { pgIdent, pgLiteral, pgTable } from '../quote.ts';
import type { Queryable } from './gateway.ts';
import type { PgDescendant } from './routing.ts';

/**
 * possync's objects in Postgres live in their own schema, so the app's Prisma migrations see no
 * drift. The change log is what pulls read: every synced table has statement-level triggers that
 * append one row per statement with the keys it touched, the writing transaction's id
 * (pg_current_xact_id) and the origin terminal (set by possync's own pushes).
 */
export const PG_SCHEMA = 'possync';
export const PG_SCHEMA_VERSION = 3;

/**
 * possync's bookkeeping objects, each created only if it is missing. Plain `CREATE … IF NOT
 * EXISTS` checks privileges before it looks: CREATE SCHEMA wants CREATE on the database, CREATE
 * TABLE wants CREATE on the schema and CREATE INDEX wants ownership of the table, even when the
 * object is there. Checking first means a reinstall (of one table's capture triggers, say) needs
 * no privilege for what already exists, and takes no lock on possync.changes, which every
 * capture trigger of every app writes.
 */
export const BOOKKEEPING_DDL = `
DO $possync$
BEGIN
  IF to_regnamespace('possync') IS NULL THEN
    CREATE SCHEMA possync;
  END IF;
  IF to_regclass('possync.changes') IS NULL THEN
    CREATE TABLE possync.changes (
      xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      tbl text NOT NULL,
      op "char" NOT NULL,
      origin text,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      keys jsonb NOT NULL
    );
  END IF;
  IF to_regclass('possync.changes_tbl_xid') IS NULL THEN
    CREATE INDEX changes_tbl_xid ON possync.changes (tbl, xid);
  END IF;
  IF to_regclass('possync.changes_xid') IS NULL THEN
    CREATE INDEX changes_xid ON possync.changes (xid);
  END IF;
  IF to_regclass('possync.system_settings') IS NULL THEN
    CREATE TABLE possync.system_settings (
      setting_key text PRIMARY KEY,
      setting_value text,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  END IF;
  IF to_regclass('possync.conflicts') IS NULL THEN
    CREATE TABLE possync.conflicts (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      terminal_id text NOT NULL,
      direction text NOT NULL,
      tbl text NOT NULL,
      key text NOT NULL,
      policy text NOT NULL,
      winner text NOT NULL,
      local_row jsonb,
      server_row jsonb
    );
  END IF;
  -- Version 3: a column merge (merge "column", counters) is recorded with the base both sides
  -- last agreed on, the result written, and the columns that clashed. Older possyncs name their
  -- columns when they insert, so the added ones are simply NULL in their rows.
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'possync.conflicts'::regclass AND attname = 'result_row' AND NOT attisdropped) THEN
    ALTER TABLE possync.conflicts ADD COLUMN IF NOT EXISTS base_row jsonb, ADD COLUMN IF NOT EXISTS result_row jsonb, ADD COLUMN IF NOT EXISTS columns text[];
  END IF;
  IF to_regclass('possync.sync_logs') IS NULL THEN
    CREATE TABLE possync.sync_logs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      run_id text NOT NULL,
      terminal_id text NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz,
      direction text NOT NULL,
      status text NOT NULL,
      result jsonb,
      error text
    );
  END IF;
  IF to_regclass('possync.terminals') IS NULL THEN
    CREATE TABLE possync.terminals (
      terminal_id text PRIMARY KEY,
      pull_fence xid8,
      last_seen timestamptz NOT NULL DEFAULT now()
    );
  END IF;
END
$possync$;
`;

/** possync's own tables in Postgres: every run reads and writes them (SELECT, INSERT, UPDATE, DELETE). */
export const BOOKKEEPING_TABLES = ['changes', 'system_settings', 'conflicts', 'sync_logs', 'terminals'] as const;

/** The `tbl` value the change log uses for a table. */
export function changeLogName(schema: string, table: string): string {
  return `${schema}.${table}`;
}

/**
 * How every capture function runs. The triggers fire inside other apps' transactions, under
 * whichever role writes the table (a back office, a web shop), and those roles have no rights on
 * schema possync. SECURITY DEFINER runs the function as its owner (the role that installed
 * possync, which owns possync.changes), so any role allowed to write a synced table can still
 * write it and its change is still logged. The search_path is pinned because a caller's own
 * search_path must not steer what a definer function resolves: every name in the bodies is
 * schema-qualified or a pg_catalog built-in, and pg_temp last keeps a caller's temporary
 * objects from capturing a relation name (functions and operators are never looked up there).
 * The settings the bodies read (possync.origin, possync.bulk) still come from the caller's
 * transaction: SET on a function changes only the settings it names.
 */
export const CAPTURE_FUNCTION_CONFIG = ['search_path=pg_catalog, pg_temp'] as const;
const CAPTURE_FUNCTION_OPTIONS = 'SECURITY DEFINER SET search_path = pg_catalog, pg_temp';

/**
 * The format of the capture objects (what the functions write into possync.changes), as a whole
 * number that a possync release raises when it changes them. Each format also names the oldest
 * format whose readers understand the log it writes (`readers`): a release that only adds what
 * older ones ignore keeps it; one that changes what they read raises it too. The installed
 * objects carry both in the function's COMMENT (`possync capture v1 readers v1 for …`), so any
 * possync can tell whose objects it is looking at (engine/install/compat.ts has the rule).
 */
export interface CaptureFormat {
  version: number;
  readers: number;
}

export const CAPTURE_FORMAT: CaptureFormat = { version: 1, readers: 1 };

/** Reads the format back from a capture function's COMMENT; undefined for one from before formats were numbered. */
export function captureFormatOf(comment: string | null): CaptureFormat | undefined {
  const m = comment?.match(/^possync capture v(\d+) readers v(\d+) for /);
  return m ? { version: Number(m[1]), readers: Number(m[2]) } : undefined;
}

export interface CaptureObjects {
  functionName: string;
  /** Hash of the function bodies and options; stored in its COMMENT for people reading the catalog. */
  version: string;
  format: CaptureFormat;
  ddl: string;
  /**
   * The functions (in schema possync) as installed: name and body (pg_proc.prosrc); each is
   * SECURITY DEFINER with CAPTURE_FUNCTION_CONFIG (pg_proc.prosecdef, proconfig).
   */
  functions: Array<{ name: string; body: string }>;
  /**
   * The triggers as installed: name, function, pg_trigger.tgtype bits (1 row-level, 4 INSERT,
   * 8 DELETE, 16 UPDATE, 32 TRUNCATE; AFTER when 2 is clear) and transition table names.
   */
  triggers: CaptureTrigger[];
  /**
   * The same triggers on every inheritance child and partition, logging under the parent's name:
   * a statement fires only the triggers of the table it names, so a row written straight into a
   * child (by another app, or by an INSERT rule's rewritten statement) is seen only there. A
   * partition gets no key trigger of its own: the partitioned parent's is cloned onto it.
   */
  descendants: Array<{ schema: string; name: string; triggers: CaptureTrigger[] }>;
}

export interface CaptureTrigger {
  name: string;
  function: string;
  tgtype: number;
  newTable: string | null;
  oldTable: string | null;
}

/** The capture function and triggers for one table (and its descendants), keyed on its shared key columns. */
export function captureDdl(schema: string, table: string, keyColumns: readonly string[], descendants: readonly PgDescendant[] = [], format: CaptureFormat = CAPTURE_FORMAT): CaptureObjects {
  const tbl = changeLogName(schema, table);
  const keyOf = (alias: string) => `jsonb_build_array(${keyColumns.map((k) => `${alias}.${pgIdent(k)}::text`).join(', ')})`;
  const origin = `nullif(current_setting('possync.origin', true), '')`;
  const body = `
BEGIN
  -- possync capture format v${format.version}
  -- A bulk load by possync logs one 'T' (table reloaded) entry instead of every key.
  IF current_setting('possync.bulk', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO possync.changes (tbl, op, origin, keys)
      SELECT ${pgLiteral(tbl)}, 'U', ${origin}, jsonb_agg(${keyOf('n')}) FROM new_rows n HAVING count(*) > 0;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO possync.changes (tbl, op, origin, keys)
      SELECT ${pgLiteral(tbl)}, 'U', ${origin}, jsonb_agg(${keyOf('n')}) FROM new_rows n HAVING count(*) > 0;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO possync.changes (tbl, op, origin, keys)
      SELECT ${pgLiteral(tbl)}, 'D', ${origin}, jsonb_agg(${keyOf('o')}) FROM old_rows o HAVING count(*) > 0;
  ELSIF TG_OP = 'TRUNCATE' THEN
    INSERT INTO possync.changes (tbl, op, origin, keys) VALUES (${pgLiteral(tbl)}, 'T', ${origin}, '[]'::jsonb);
  END IF;
  RETURN NULL;
END`;
  // A key change is rare; a row-level trigger that fires only then logs the old key as deleted.
  const pkBody = `
BEGIN
  -- possync capture format v${format.version}
  INSERT INTO possync.changes (tbl, op, origin, keys) VALUES (${pgLiteral(tbl)}, 'D', ${origin}, jsonb_build_array(${keyOf('OLD')}));
  RETURN NULL;
END`;
  const version = createHash('sha256').update(body + pkBody + CAPTURE_FUNCTION_OPTIONS).digest('hex').slice(0, 16);
  const hash = createHash('sha256').update(tbl).digest('hex').slice(0, 16);
  const comment = `possync capture v${format.version} readers v${format.readers} for ${tbl}`;
  const fn = `${pgIdent(PG_SCHEMA)}.${pgIdent(`capture_${hash}`)}`;
  const fnPk = `${pgIdent(PG_SCHEMA)}.${pgIdent(`capture_${hash}_key`)}`;
  const target = pgTable(schema, table);
  const keyList = keyColumns.map(pgIdent).join(', ');
  const keyChanged = keyColumns.map((k) => `OLD.${pgIdent(k)} IS DISTINCT FROM NEW.${pgIdent(k)}`).join(' OR ');
  const triggerDdl = (on: string, withKey: boolean) => `
DROP TRIGGER IF EXISTS possync_capture_ins ON ${on};
DROP TRIGGER IF EXISTS possync_capture_upd ON ${on};
DROP TRIGGER IF EXISTS possync_capture_del ON ${on};
DROP TRIGGER IF EXISTS possync_capture_trunc ON ${on};
CREATE TRIGGER possync_capture_ins AFTER INSERT ON ${on} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE TRIGGER possync_capture_upd AFTER UPDATE ON ${on} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE TRIGGER possync_capture_del AFTER DELETE ON ${on} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE TRIGGER possync_capture_trunc AFTER TRUNCATE ON ${on} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
${withKey ? `DROP TRIGGER IF EXISTS possync_capture_key ON ${on};
CREATE TRIGGER possync_capture_key AFTER UPDATE OF ${keyList} ON ${on} FOR EACH ROW WHEN (${keyChanged}) EXECUTE FUNCTION ${fnPk}();` : ''}`;
  const ddl = `
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql ${CAPTURE_FUNCTION_OPTIONS} AS $possync$${body}$possync$;
COMMENT ON FUNCTION ${fn}() IS ${pgLiteral(`${comment} ${version}`)};
CREATE OR REPLACE FUNCTION ${fnPk}() RETURNS trigger LANGUAGE plpgsql ${CAPTURE_FUNCTION_OPTIONS} AS $possync$${pkBody}$possync$;
COMMENT ON FUNCTION ${fnPk}() IS ${pgLiteral(`${comment} ${version}`)};
-- Triggers call them whatever the writer's rights (EXECUTE is checked when a trigger is created,
-- not when it fires); nobody else may attach possync's definer functions to a table of theirs.
REVOKE ALL ON FUNCTION ${fn}() FROM PUBLIC;
REVOKE ALL ON FUNCTION ${fnPk}() FROM PUBLIC;
${triggerDdl(target, true)}
${descendants.map((d) => triggerDdl(pgTable(d.schema, d.name), !d.partition)).join('\n')}`;
  const name = `capture_${hash}`;
  const triggers: CaptureTrigger[] = [
    { name: 'possync_capture_ins', function: name, tgtype: 4, newTable: 'new_rows', oldTable: null },
    { name: 'possync_capture_upd', function: name, tgtype: 16, newTable: 'new_rows', oldTable: null },
    { name: 'possync_capture_del', function: name, tgtype: 8, newTable: null, oldTable: 'old_rows' },
    { name: 'possync_capture_trunc', function: name, tgtype: 32, newTable: null, oldTable: null },
    { name: 'possync_capture_key', function: `${name}_key`, tgtype: 17, newTable: null, oldTable: null },
  ];
  return {
    functionName: name,
    version,
    format,
    ddl,
    functions: [
      { name, body },
      { name: `${name}_key`, body: pkBody },
    ],
    triggers,
    descendants: descendants.map((d) => ({ schema: d.schema, name: d.name, triggers: d.partition ? triggers.slice(0, 4) : triggers })),
  };
}

/**
 * One 'table reloaded' entry ('T', no keys) in the change log: every till whose checkpoint is older
 * resyncs the table by key ranges instead of reading keys. `origin`: the till that reloaded it (its
 * own pull skips the entry), or null when nobody's rows are already there.
 */
export async function logReload(q: Queryable, tbl: string, origin: string | null): Promise<void> {
  await q.query(`INSERT INTO possync.changes (tbl, op, origin, keys) VALUES ($1, 'T', $2, '[]'::jsonb)`, [tbl, origin]);
}
