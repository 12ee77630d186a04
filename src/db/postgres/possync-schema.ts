import { createHash } from 'node:crypto';
import { pgIdent, pgLiteral, pgTable } from '../quote.ts';

/**
 * possync's objects in Postgres live in their own schema, so the app's Prisma migrations see no
 * drift. The change log is what pulls read: every synced table has statement-level triggers that
 * append one row per statement with the keys it touched, the writing transaction's id
 * (pg_current_xact_id) and the origin terminal (set by possync's own pushes).
 */
export const PG_SCHEMA = 'possync';
export const PG_SCHEMA_VERSION = 2;

export const BOOKKEEPING_DDL = `
CREATE SCHEMA IF NOT EXISTS possync;

CREATE TABLE IF NOT EXISTS possync.changes (
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  tbl text NOT NULL,
  op "char" NOT NULL,
  origin text,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  keys jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_tbl_xid ON possync.changes (tbl, xid);
CREATE INDEX IF NOT EXISTS changes_xid ON possync.changes (xid);

CREATE TABLE IF NOT EXISTS possync.system_settings (
  setting_key text PRIMARY KEY,
  setting_value text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS possync.conflicts (
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

CREATE TABLE IF NOT EXISTS possync.sync_logs (
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

CREATE TABLE IF NOT EXISTS possync.terminals (
  terminal_id text PRIMARY KEY,
  pull_fence xid8,
  last_seen timestamptz NOT NULL DEFAULT now()
);
`;

/** The `tbl` value the change log uses for a table. */
export function changeLogName(schema: string, table: string): string {
  return `${schema}.${table}`;
}

export interface CaptureObjects {
  functionName: string;
  /** Hash of the function body; stored in its COMMENT so stale triggers can be detected. */
  version: string;
  ddl: string;
  /** The functions (in schema possync) as installed: name and body (pg_proc.prosrc). */
  functions: Array<{ name: string; body: string }>;
  /**
   * The triggers as installed: name, function, pg_trigger.tgtype bits (1 row-level, 4 INSERT,
   * 8 DELETE, 16 UPDATE, 32 TRUNCATE; AFTER when 2 is clear) and transition table names.
   */
  triggers: Array<{ name: string; function: string; tgtype: number; newTable: string | null; oldTable: string | null }>;
}

/** The capture function and triggers for one table, keyed on its shared key columns. */
export function captureDdl(schema: string, table: string, keyColumns: readonly string[]): CaptureObjects {
  const tbl = changeLogName(schema, table);
  const keyOf = (alias: string) => `jsonb_build_array(${keyColumns.map((k) => `${alias}.${pgIdent(k)}::text`).join(', ')})`;
  const origin = `nullif(current_setting('possync.origin', true), '')`;
  const body = `
BEGIN
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
  INSERT INTO possync.changes (tbl, op, origin, keys) VALUES (${pgLiteral(tbl)}, 'D', ${origin}, jsonb_build_array(${keyOf('OLD')}));
  RETURN NULL;
END`;
  const version = createHash('sha256').update(body + pkBody).digest('hex').slice(0, 16);
  const hash = createHash('sha256').update(tbl).digest('hex').slice(0, 16);
  const fn = `${pgIdent(PG_SCHEMA)}.${pgIdent(`capture_${hash}`)}`;
  const fnPk = `${pgIdent(PG_SCHEMA)}.${pgIdent(`capture_${hash}_key`)}`;
  const target = pgTable(schema, table);
  const keyList = keyColumns.map(pgIdent).join(', ');
  const keyChanged = keyColumns.map((k) => `OLD.${pgIdent(k)} IS DISTINCT FROM NEW.${pgIdent(k)}`).join(' OR ');
  const ddl = `
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $possync$${body}$possync$;
COMMENT ON FUNCTION ${fn}() IS ${pgLiteral(`possync capture for ${tbl} v${version}`)};
CREATE OR REPLACE FUNCTION ${fnPk}() RETURNS trigger LANGUAGE plpgsql AS $possync$${pkBody}$possync$;
DROP TRIGGER IF EXISTS possync_capture_ins ON ${target};
DROP TRIGGER IF EXISTS possync_capture_upd ON ${target};
DROP TRIGGER IF EXISTS possync_capture_del ON ${target};
DROP TRIGGER IF EXISTS possync_capture_trunc ON ${target};
DROP TRIGGER IF EXISTS possync_capture_key ON ${target};
CREATE TRIGGER possync_capture_ins AFTER INSERT ON ${target} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE TRIGGER possync_capture_upd AFTER UPDATE ON ${target} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE TRIGGER possync_capture_del AFTER DELETE ON ${target} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE TRIGGER possync_capture_trunc AFTER TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE TRIGGER possync_capture_key AFTER UPDATE OF ${keyList} ON ${target} FOR EACH ROW WHEN (${keyChanged}) EXECUTE FUNCTION ${fnPk}();
`;
  const name = `capture_${hash}`;
  return {
    functionName: name,
    version,
    ddl,
    functions: [
      { name, body },
      { name: `${name}_key`, body: pkBody },
    ],
    triggers: [
      { name: 'possync_capture_ins', function: name, tgtype: 4, newTable: 'new_rows', oldTable: null },
      { name: 'possync_capture_upd', function: name, tgtype: 16, newTable: 'new_rows', oldTable: null },
      { name: 'possync_capture_del', function: name, tgtype: 8, newTable: null, oldTable: 'old_rows' },
      { name: 'possync_capture_trunc', function: name, tgtype: 32, newTable: null, oldTable: null },
      { name: 'possync_capture_key', function: `${name}_key`, tgtype: 17, newTable: null, oldTable: null },
    ],
  };
}
