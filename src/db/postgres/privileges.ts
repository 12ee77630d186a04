import { PossyncError } from '../../errors.ts';
import { pgIdent, pgTable } from '../quote.ts';
import { pgErrorCode } from './errors.ts';
import type { Queryable } from './gateway.ts';
import { PG_SCHEMA } from './possync-schema.ts';

/** SQLSTATE insufficient_privilege: "permission denied for …" and "must be owner of …". */
export const INSUFFICIENT_PRIVILEGE = '42501';

export function isPermissionDenied(err: unknown): boolean {
  return pgErrorCode(err) === INSUFFICIENT_PRIVILEGE;
}

/**
 * What possync was doing when Postgres said no. Installing creates the schema, functions and
 * triggers (CREATE, TRIGGER, ownership); a sync only reads and writes rows.
 */
export type PrivilegePhase = 'install' | 'sync';

/** What a 42501 message names: the object Postgres refused, or the object only its owner may change. */
export type Denied =
  | { kind: 'database' | 'schema' | 'table' | 'sequence' | 'function'; name: string }
  | { kind: 'owner'; objectType: string; name: string }
  | { kind: 'other' };

/**
 * Reads the object out of Postgres' message (the error carries no separate field for it):
 * `permission denied for table notes` (`relation` before PostgreSQL 15), `must be owner of table
 * notes`. Names appear unquoted and unqualified.
 */
export function parseDenied(message: string): Denied {
  const denied = /^permission denied for (database|schema|table|relation|sequence|function|procedure) (.+)$/.exec(message);
  if (denied) {
    const kind = denied[1] === 'relation' ? 'table' : denied[1] === 'procedure' ? 'function' : denied[1];
    return { kind: kind as 'database' | 'schema' | 'table' | 'sequence' | 'function', name: denied[2]! };
  }
  const owner = /^must be owner of (\w+(?: \w+)?) (.+)$/.exec(message);
  if (owner) return { kind: 'owner', objectType: owner[1]!, name: owner[2]! };
  return { kind: 'other' };
}

/** The privileges each kind of table needs in each phase. TRUNCATE is never used. */
export function tablePrivilegesNeeded(schema: string, phase: PrivilegePhase): string[] {
  const rows = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
  return schema !== PG_SCHEMA && phase === 'install' ? [...rows, 'TRIGGER'] : rows;
}

const SEE_README = 'README "Least privilege"';

/**
 * Turns a Postgres permission error (SQLSTATE 42501) into a PERMISSION error (exit 2) that names
 * possync's role, what it may not do, and the GRANT to run. The role and database come from the
 * server (current_user may differ from the URL's user), and for a table the missing privileges are
 * looked up, since Postgres' message does not say which one was refused. `schema` is the synced
 * tables' schema: a table name in a message is unqualified. A lookup that fails (the connection
 * went too) leaves the original error.
 */
export async function permissionError(q: Queryable, err: unknown, phase: PrivilegePhase, schema: string): Promise<PossyncError> {
  const reason = err instanceof Error ? err.message : String(err);
  try {
    const { rows } = await q.query<{ role: string; db: string }>(`SELECT current_user AS role, current_database() AS db`);
    const { role, db } = rows[0]!;
    const denied = parseDenied(reason);
    const explained = await explain(q, denied, { role, db, phase, schema, reason });
    return new PossyncError('PERMISSION', explained.message, { hint: explained.hint, cause: err });
  } catch {
    return new PossyncError('PERMISSION', `possync's role may not do this: ${reason}`, { hint: `run possync verify-schemas: it lists missing privileges and the GRANTs; see ${SEE_README}`, cause: err });
  }
}

interface Context {
  role: string;
  db: string;
  phase: PrivilegePhase;
  schema: string;
  reason: string;
}

async function explain(q: Queryable, denied: Denied, c: Context): Promise<{ message: string; hint: string }> {
  const who = `possync's role ${quoted(c.role)}`;
  const to = `TO ${pgIdent(c.role)};`;
  switch (denied.kind) {
    case 'database': {
      const { rows } = await q.query<{ connect: boolean }>(`SELECT has_database_privilege(current_database(), 'CONNECT') AS connect`);
      if (rows[0]?.connect === false) return { message: `${who} may not connect to database ${quoted(c.db)}`, hint: `GRANT CONNECT ON DATABASE ${pgIdent(c.db)} ${to}` };
      return { message: `${who} may not create objects in database ${quoted(c.db)}`, hint: `GRANT CREATE ON DATABASE ${pgIdent(c.db)} ${to} or install once as the owner: see ${SEE_README}` };
    }
    case 'schema': {
      const { rows } = await q.query<{ usage: boolean | null; owner: string | null }>(
        `SELECT has_schema_privilege(n.oid, 'USAGE') AS usage, n.nspowner::regrole::text AS owner FROM pg_namespace n WHERE n.nspname = $1`,
        [denied.name],
      );
      if (rows[0]?.usage !== false) {
        // Creating possync's objects, in a schema someone else installed: they run the install.
        const owner = rows[0]?.owner;
        const runAs = denied.name === PG_SCHEMA && owner ? `run possync trigger once as ${quoted(owner)}, who installed possync, or ` : '';
        return { message: `${who} may not create objects in schema ${quoted(denied.name)}`, hint: `${runAs}GRANT CREATE ON SCHEMA ${pgIdent(denied.name)} ${to} see ${SEE_README}` };
      }
      const tables = denied.name === PG_SCHEMA ? ` GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${pgIdent(PG_SCHEMA)} ${to}` : '';
      return { message: `${who} may not use schema ${quoted(denied.name)}`, hint: `GRANT USAGE ON SCHEMA ${pgIdent(denied.name)} ${to}${tables}` };
    }
    case 'table': {
      const found = await missingTablePrivileges(q, denied.name, c);
      if (!found) return generic(who, c);
      const target = pgTable(found.schema, denied.name);
      const what = c.phase === 'install' && found.missing.includes('TRIGGER') && found.missing.length === 1 ? 'may not create triggers on' : `lacks ${found.missing.join(', ')} on`;
      const owner = found.missing.includes('TRIGGER') ? ` or install once as the table's owner: see ${SEE_README}` : '';
      return { message: `${who} ${what} table ${target}`, hint: `GRANT ${found.missing.join(', ')} ON ${target} ${to}${owner}` };
    }
    case 'sequence': {
      const target = (await qualifiedName(q, 'sequence', denied.name, c.schema)) ?? pgIdent(denied.name);
      return { message: `${who} may not use sequence ${target}`, hint: `GRANT USAGE, SELECT ON SEQUENCE ${target} ${to}` };
    }
    case 'function': {
      const target = (await qualifiedName(q, 'function', denied.name, c.schema)) ?? `${pgIdent(denied.name)}()`;
      return { message: `${who} may not run function ${target}`, hint: `GRANT EXECUTE ON FUNCTION ${target} ${to}` };
    }
    case 'owner':
      return ownerOnly(q, denied, c, who);
    default:
      return generic(who, c);
  }
}

function generic(who: string, c: Context): { message: string; hint: string } {
  return { message: `${who} may not do this: ${c.reason}`, hint: `run possync verify-schemas: it lists missing privileges and the GRANTs; see ${SEE_README}` };
}

/** The synced schema's or possync's table of that name whose needed privileges are not all held. */
async function missingTablePrivileges(q: Queryable, name: string, c: Context): Promise<{ schema: string; missing: string[] } | undefined> {
  for (const schema of [c.schema, PG_SCHEMA]) {
    const wanted = tablePrivilegesNeeded(schema, c.phase);
    const { rows } = await q.query<{ missing: string[] | null }>(
      `SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL
              ELSE array(SELECT p FROM unnest($2::text[]) AS p WHERE NOT has_table_privilege($1, p)) END AS missing`,
      [pgTable(schema, name), wanted],
    );
    const missing = rows[0]?.missing;
    if (missing && missing.length > 0) return { schema, missing };
  }
  return undefined;
}

/**
 * "must be owner of …": replacing triggers on a table (DROP TRIGGER) needs its ownership, and
 * replacing a capture function needs the function's. Both belong to whoever installed possync
 * (or created the table); that role runs the upgrade once.
 */
async function ownerOnly(q: Queryable, denied: { objectType: string; name: string }, c: Context, who: string): Promise<{ message: string; hint: string }> {
  const isFunction = denied.objectType === 'function';
  const found = await owned(q, isFunction ? 'function' : 'relation', denied.name, c.schema);
  const target = found?.target ?? pgIdent(denied.name);
  const by = found ? `: only its owner ${quoted(found.owner)} may` : '';
  const runAs = found ? `run possync trigger once as ${quoted(found.owner)}` : 'run possync trigger once as the owner';
  if (isFunction) {
    return { message: `${who} may not replace possync's capture function ${target}${by}`, hint: `${runAs}, the role that installed possync: see ${SEE_README}` };
  }
  return {
    message: `${who} may not replace possync's triggers on ${denied.objectType} ${target}${by}`,
    hint: `${runAs}, or ALTER TABLE ${target} OWNER TO ${pgIdent(c.role)}; see ${SEE_README}`,
  };
}

type ObjectKind = 'relation' | 'sequence' | 'function';

/** The schema-qualified, quoted name of an object a message names bare: the synced schema first, then possync, then anywhere. */
async function owned(q: Queryable, kind: ObjectKind, name: string, schema: string): Promise<{ target: string; owner: string } | undefined> {
  const bare = name.replace(/\(.*$/, '');
  const sql =
    kind === 'function'
      ? `SELECT p.oid::regprocedure::text AS target, p.proowner::regrole::text AS owner, n.nspname
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1`
      : `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS target, c.relowner::regrole::text AS owner, n.nspname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1${kind === 'sequence' ? ` AND c.relkind = 'S'` : ''}`;
  const { rows } = await q.query<{ target: string; owner: string }>(
    `SELECT target, owner FROM (${sql}) o ORDER BY o.nspname = $2 DESC, o.nspname = $3 DESC LIMIT 1`,
    [bare, schema, PG_SCHEMA],
  );
  return rows[0];
}

async function qualifiedName(q: Queryable, kind: ObjectKind, name: string, schema: string): Promise<string | undefined> {
  return (await owned(q, kind, name, schema))?.target;
}

function quoted(name: string): string {
  return `"${name}"`;
}

/**
 * For `.catch()`: a permission error becomes a PERMISSION PossyncError; any other error is thrown
 * on unchanged.
 */
export function rethrowPermission(q: Queryable, phase: PrivilegePhase, schema: string): (err: unknown) => Promise<never> {
  return async (err) => {
    throw isPermissionDenied(err) ? await permissionError(q, err, phase, schema) : err;
  };
}
