import { randomUUID } from 'node:crypto';
import { sqliteIdent, sqliteLiteral } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { withCaptureSuppressed } from '../../db/sqlite/rows.ts';
import type { ColumnPlan, SyncPlan, TablePlan } from '../plan/types.ts';
import type { EncodedSlice, SliceEncoder } from './copy-encode.ts';

/**
 * The fastest bulk path of a table's first push: SQLite itself writes the COPY text, one string
 * per slice, so JavaScript only hands it on while Postgres ingests the previous slice.
 *
 * It covers the storage forms whose meaning Postgres' input functions and possync's value codec
 * agree on (text as text, integers, ISO timestamps in UTC, ...). Any other value becomes two raw
 * tab characters, which no COPY row can contain: Postgres then refuses the batch, and that batch
 * goes through the row-by-row path, whose codec decides (or rejects the row with a reason). So the
 * fast path can only be fast or refused, never different.
 */
const BREAK = 'char(9, 9)';

/** COPY text escaping of a SQLite text expression; the one scan for special characters skips four copies in the common case. */
const SPECIAL = `'*[' || char(9, 10, 13, 92) || ']*'`;
const esc = (e: string) =>
  `CASE WHEN ${e} GLOB ${SPECIAL} THEN replace(replace(replace(replace(${e}, '\\', '\\\\'), char(9), '\\t'), char(10), '\\n'), char(13), '\\r') ELSE ${e} END`;

/*
 * Postgres' input functions accept more spellings than possync's codec does (PostgreSQL 16+ reads
 * '1_000' and '0x1F' as numbers, uuid_in takes hyphens after any group of four digits, bytea hex
 * allows spaces, '24:00:00' and leap seconds are times). Text only takes this path when it is
 * spelled with characters on which both grammars agree: over those, Postgres accepts exactly what
 * the codec accepts, with the same value, and refuses the rest (which then goes to the codec).
 * Each check is one GLOB, since this runs for every value of a million-row table.
 */
/** Integers over [0-9+-]: both read `[+-]?digits` and refuse anything else. */
const intChars = (x: string) => `${x} NOT GLOB '*[^0-9+-]*'`;
/** Decimals over [0-9.+-]: both read `[+-]?(digits[.digits]|.digits)`; exponents, NaN and spaces go to the codec. */
const decimalChars = (x: string) => `${x} NOT GLOB '*[^0-9.+-]*'`;
/**
 * A uuid with its hyphens where the codec wants them. Any character at the digit positions is
 * fine: both refuse non-hex digits, and a COPY escape would shrink the value below 32 digits.
 */
const UUID_SHAPE = '????????-????-????-????-????????????';
/** ISO forms with minutes and seconds below 60 (no leap second); hour 24 and year 0 are refused below. */
const D = '[0-9]';
const CLOCK = `[0-2]${D}:[0-5]${D}:[0-5]${D}`;
const DAY = `${D}${D}${D}${D}-[01]${D}-[0-3]${D}`;
const ISO_FORMS = [`${DAY}T${CLOCK}.${D}${D}${D}Z`, `${DAY}T${CLOCK}Z`, `${DAY}[ T]${CLOCK}.${D}${D}${D}`, `${DAY}[ T]${CLOCK}`];
const plainClock = (x: string) => `substr(${x}, 12, 2) <> '24' AND substr(${x}, 1, 4) <> '0000'`;

/** The COPY field for one column, or undefined when this path does not handle its type. */
function field(c: ColumnPlan, x: string): string | undefined {
  const typed = (cases: Record<string, string>) =>
    `CASE typeof(${x}) ${Object.entries(cases)
      .map(([type, e]) => `WHEN '${type}' THEN ${e}`)
      .join(' ')} ELSE ${BREAK} END`;
  switch (c.family) {
    case 'text':
    case 'bpchar':
    case 'other':
    case 'json': {
      const text = typed({ text: esc(x), integer: `CAST(${x} AS TEXT)` });
      // varchar(n)/char(n): COPY would cut blanks beyond n silently; a longer value is for the codec
      // to refuse (SQLite's length() counts characters, as Postgres does).
      const max = c.modifier?.length;
      if (max === undefined) return text;
      const counted = c.family === 'bpchar' ? `rtrim(${x}, ' ')` : x;
      return `CASE WHEN length(${counted}) > ${max} THEN ${BREAK} ELSE ${text} END`;
    }
    case 'uuid':
      return typed({ text: `CASE WHEN ${x} GLOB '${UUID_SHAPE}' THEN ${x} ELSE ${BREAK} END` });
    case 'int':
      return typed({ integer: `CAST(${x} AS TEXT)`, text: `CASE WHEN ${intChars(x)} THEN ${x} ELSE ${BREAK} END` });
    case 'numeric': {
      // An exponent, or more decimals than numeric(p,s) keeps, is for the codec to judge.
      const scale = c.modifier?.scale;
      const tooPrecise = scale === undefined ? '0' : `instr(${x}, '.') > 0 AND length(rtrim(substr(${x}, instr(${x}, '.') + 1), '0')) > ${scale}`;
      return typed({ integer: `CAST(${x} AS TEXT)`, text: `CASE WHEN ${decimalChars(x)} AND NOT (${tooPrecise}) THEN ${x} ELSE ${BREAK} END` });
    }
    case 'bool':
      return `CASE WHEN typeof(${x}) = 'integer' AND ${x} IN (0, 1) THEN CAST(${x} AS TEXT)
                   WHEN typeof(${x}) = 'text' AND lower(trim(${x})) IN ('true','t','1','yes','y','false','f','0','no','n') THEN trim(${x})
                   ELSE ${BREAK} END`;
    case 'timestamptz':
      // ISO text in UTC (or without a zone, which both read as UTC) at millisecond precision.
      if ((c.modifier?.scale ?? 6) < 3) return undefined;
      return `CASE WHEN typeof(${x}) = 'text' AND (${ISO_FORMS.map((f) => `${x} GLOB '${f}'`).join(' OR ')}) AND ${plainClock(x)} THEN ${x} ELSE ${BREAK} END`;
    case 'bytea':
      // Text in bytea's hex format ('\\xdeadbeef': even digits, nothing else) is bytea input; other text is for the codec.
      return typed({
        blob: `'\\\\x' || hex(${x})`,
        text: `CASE WHEN ${x} GLOB '\\x*' AND substr(${x}, 3) NOT GLOB '*[^0-9a-fA-F]*' AND length(${x}) % 2 = 0 THEN '\\' || ${x} ELSE ${BREAK} END`,
      });
    default:
      return undefined; // floats, dates, times, arrays, timestamp without zone: the codec's path
  }
}

/**
 * A slice encoder running in SQLite, or undefined when the table has a column type this path
 * leaves to the codec. Shared ids and fill values are assigned to all local rows first (written
 * back with capture suppressed), as the row-by-row path would before pushing them.
 */
export function sqlSliceEncoder(db: SqliteDb, plan: SyncPlan, t: TablePlan): SliceEncoder | undefined {
  if (t.sqlite.withoutRowid) return undefined;
  const fields: string[] = [];
  const joins: string[] = [];
  for (const c of t.columns) {
    const x = `t.${sqliteIdent(c.sqlite)}`;
    const fk = t.fks.find((f) => f.translate && f.column === c);
    const scope = t.scope.find((s) => s.column === c);
    let f: string | undefined;
    if (fk) {
      // The parent's shared id in place of its local id (one indexed join per FK); a parent that
      // is not there, or has no shared id yet, breaks the row.
      const parent = plan.byName.get(fk.refTable)!;
      const alias = `p${joins.length}`;
      joins.push(`LEFT JOIN ${sqliteIdent(parent.sqliteName)} ${alias} ON ${alias}.${sqliteIdent(parent.localPk!)} = ${x}`);
      const shared = `${alias}.${sqliteIdent(parent.serverIdCol!.sqlite)}`;
      f = `CASE WHEN ${shared} IS NULL THEN ${BREAK} ELSE ${esc(shared)} END`;
    } else {
      f = field(c, x);
    }
    if (f === undefined) return undefined;
    if (scope) f = `CASE WHEN ${x} = ${sqliteLiteral(scope.value)} THEN ${f} ELSE ${BREAK} END`;
    fields.push(`CASE WHEN ${x} IS NULL THEN '\\N' ELSE ${f} END`);
  }
  for (const k of t.constants) fields.push(sqliteLiteral(k.value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')));
  const line = fields.join(` || char(9) || `);
  const from = sqliteIdent(t.sqliteName);
  // In a UTF-8 database (the default) the slice comes out as the bytes that go on the wire: as a
  // string it was decoded to UTF-16 and encoded back, which cost more than writing the text.
  const bytes = db.pragma('encoding', { simple: true }) === 'UTF-8';
  const text = `group_concat(line, char(10)) || char(10)`;
  // Rowids may be negative: the first slice has no lower bound rather than a made-up one.
  const slice = (lower: string) =>
    db
      .prepare(
        `SELECT count(*) AS n, max(r) AS last, ${bytes ? `CAST(${text} AS BLOB)` : text} AS text
           FROM (SELECT t.rowid AS r, ${line} AS line FROM ${from} t ${joins.join(' ')} WHERE ${lower} AND t.rowid <= ? ORDER BY t.rowid LIMIT ?)`,
      )
      .safeIntegers(true);
  const first = slice('1');
  const rest = slice('t.rowid > ?');
  const MAX_ROWID = 2n ** 63n - 1n;
  assignLocalValues(db, t);
  return {
    next(after, limit, upTo): EncodedSlice | 'end' {
      const bound = upTo ? BigInt(upTo[0]!) : MAX_ROWID;
      const row = (after ? rest.get(BigInt(after[0]!), bound, limit) : first.get(bound, limit)) as { n: bigint; last: bigint | null; text: string | Buffer };
      if (row.n === 0n) return 'end';
      return { text: row.text, rows: Number(row.n), writeBack: [], last: [String(row.last)] };
    },
  };
}

/** Shared ids for local rows that have none yet, and fill values where they are NULL. */
function assignLocalValues(db: SqliteDb, t: TablePlan): void {
  if (!t.serverIdCol && t.localFills.length === 0) return;
  // Registered on possync's own connection only; the till app never sees it.
  db.function('possync_uuid', { deterministic: false }, () => randomUUID());
  const table = sqliteIdent(t.sqliteName);
  db.transaction(() =>
    withCaptureSuppressed(db, () => {
      for (const f of t.localFills) db.prepare(`UPDATE ${table} SET ${sqliteIdent(f.column.sqlite)} = ? WHERE ${sqliteIdent(f.column.sqlite)} IS NULL`).run(f.value);
      if (t.serverIdCol) db.prepare(`UPDATE ${table} SET ${sqliteIdent(t.serverIdCol.sqlite)} = possync_uuid() WHERE ${sqliteIdent(t.serverIdCol.sqlite)} IS NULL`).run();
    }),
  ).immediate();
}
