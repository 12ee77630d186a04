import type { PgGateway } from './gateway.ts';
import { ROUTING_SQL, routingOf, type PgRouting, type RoutingRow } from './routing.ts';

export interface PgColumn {
  name: string;
  /** information_schema-style type name pieces used to pick a value family. */
  dataType: string;
  udtName: string;
  elementUdtName: string | undefined;
  /** Type to cast wire text to, e.g. `numeric`, `timestamp with time zone`, `"public"."status"`. */
  castType: string;
  /** Full declared type with modifiers, e.g. `character varying(40)`, for reports. */
  declaredType: string;
  notNull: boolean;
  hasDefault: boolean;
  /** GENERATED ALWAYS AS (...) STORED, or GENERATED ALWAYS AS IDENTITY: never written by possync. */
  generated: boolean;
  identity: 'always' | 'by default' | undefined;
  /**
   * The sequence a serial or identity column draws from (what pg_get_serial_sequence names,
   * schema-qualified and quoted), or undefined.
   */
  sequence?: string | undefined;
}

export interface PgForeignKey {
  name: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
  deferrable: boolean;
}

export interface PgTableInfo {
  schema: string;
  name: string;
  columns: PgColumn[];
  primaryKey: string[];
  /** Column sets with a unique index or constraint (usable as an ON CONFLICT target). */
  uniqueKeys: string[][];
  foreignKeys: PgForeignKey[];
  /** Rules, inheritance children or partitions (see routing.ts); absent means a plain table. */
  routing?: PgRouting;
}

/**
 * The type wire text is cast to. `regtype` names bpchar "character" and bit "bit", and a cast to
 * either means length 1: `'abcd'::character` is 'a'. Those two are cast to their unbounded forms
 * instead, so the column's own length applies on assignment, where Postgres refuses a value that
 * is too long rather than cutting it (an explicit cast to a length cuts silently).
 */
const CAST_TYPE = `CASE a.atttypid
    WHEN 'bpchar'::regtype THEN 'bpchar' WHEN '_bpchar'::regtype THEN 'bpchar[]'
    WHEN 'bit'::regtype THEN 'varbit' WHEN '_bit'::regtype THEN 'varbit[]'
    ELSE a.atttypid::regtype::text END`;

interface ColumnRow {
  table_name: string; name: string; typname: string; typtype: string; elem: string | null;
  cast_type: string; declared: string; notnull: boolean; hasdef: boolean; generated: string; identity: string; seq: string | null;
}
interface ConstraintRow {
  table_name: string; name: string; contype: string; cols: string[]; ref_schema: string | null; ref_table: string | null;
  ref_cols: string[] | null; deferrable: boolean;
}

/** Every column of the named tables ($1 the schema, $2 the names), in table and column order. */
const COLUMNS_SQL = `SELECT c.relname AS table_name, a.attnum, a.attname AS name, t.typname, t.typtype, et.typname AS elem,
            ${CAST_TYPE} AS cast_type, format_type(a.atttypid, a.atttypmod) AS declared,
            a.attnotnull AS notnull, a.atthasdef AS hasdef, a.attgenerated::text AS generated, a.attidentity::text AS identity,
            -- the sequence owned by the column (serial: auto dependency; identity: internal), as pg_get_serial_sequence finds it
            (SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname)
               FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
              WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                AND d.refobjsubid = a.attnum AND d.deptype IN ('a', 'i') LIMIT 1) AS seq
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
        AND a.attnum > 0 AND NOT a.attisdropped`;

/** Primary keys, unique constraints and foreign keys of the named tables. */
const CONSTRAINTS_SQL = `SELECT c.relname AS table_name, k.conname AS name, k.contype::text AS contype,
            ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS cols,
            rn.nspname AS ref_schema, rc.relname AS ref_table,
            CASE WHEN k.contype = 'f' THEN ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)::text[] END AS ref_cols,
            k.condeferrable AS deferrable
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class rc ON rc.oid = k.confrelid
       LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND k.contype IN ('p', 'u', 'f')`;

/** Column sets of plain unique indexes (no predicate, no expression): ON CONFLICT targets. */
const UNIQUE_INDEXES_SQL = `SELECT c.relname AS table_name,
            ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n ORDER BY u.o)::text[] AS cols
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL`;

/** The rows of one part of the catalog query, as one JSON array (`order`: how to sort them). */
const part = (sql: string, alias: string, order = '') => `(SELECT coalesce(json_agg(x${order ? ` ORDER BY ${order}` : ''}), '[]'::json) FROM (${sql}) x) AS ${alias}`;

/**
 * Introspects the named tables of one schema in one catalog query (every run starts with it):
 * columns, keys, unique indexes and routing, each part a JSON array. Missing tables are absent
 * from the map. One round trip on one connection: on a WAN link every round trip is a till's
 * latency to the cloud, paid on every run (it was four queries, one after another), and an extra
 * connection per query would start a Postgres backend each (a fleet of 200 tills without a pooler
 * paid more Postgres CPU for that than for the sync itself).
 */
export async function introspectPg(pg: PgGateway, schema: string, tables: readonly string[]): Promise<Map<string, PgTableInfo>> {
  const [catalog] = await pg.query<{ columns: ColumnRow[]; constraints: ConstraintRow[]; unique_indexes: Array<{ table_name: string; cols: string[] }>; routing: RoutingRow[] }>(
    `SELECT ${part(COLUMNS_SQL, 'columns', 'x.table_name, x.attnum')},
            ${part(CONSTRAINTS_SQL, 'constraints', 'x.table_name, x.name')},
            ${part(UNIQUE_INDEXES_SQL, 'unique_indexes')},
            ${part(ROUTING_SQL, 'routing')}`,
    [schema, tables],
  );
  const { columns, constraints, unique_indexes: uniqueIndexes } = catalog!;
  const routing = routingOf(catalog!.routing);

  const result = new Map<string, PgTableInfo>();
  const info = (table: string): PgTableInfo => {
    let t = result.get(table);
    if (!t) {
      t = { schema, name: table, columns: [], primaryKey: [], uniqueKeys: [], foreignKeys: [] };
      result.set(table, t);
    }
    return t;
  };
  for (const c of columns) {
    info(c.table_name).columns.push({
      name: c.name,
      dataType: c.typtype === 'e' ? 'USER-DEFINED' : c.elem ? 'ARRAY' : c.typname,
      udtName: c.typname,
      elementUdtName: c.elem ?? undefined,
      castType: c.cast_type,
      declaredType: c.declared,
      notNull: c.notnull,
      hasDefault: c.hasdef,
      generated: c.generated === 's' || c.identity === 'a',
      identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by default' : undefined,
      sequence: c.seq ?? undefined,
    });
  }
  for (const k of constraints) {
    const t = result.get(k.table_name);
    if (!t) continue;
    if (k.contype === 'p') t.primaryKey = k.cols;
    else if (k.contype === 'f' && k.ref_table && k.ref_cols) {
      t.foreignKeys.push({ name: k.name, columns: k.cols, refSchema: k.ref_schema ?? schema, refTable: k.ref_table, refColumns: k.ref_cols, deferrable: k.deferrable });
    }
  }
  for (const u of uniqueIndexes) result.get(u.table_name)?.uniqueKeys.push(u.cols);
  for (const [name, r] of routing) {
    const t = result.get(name);
    if (t) t.routing = r;
  }
  return result;
}
