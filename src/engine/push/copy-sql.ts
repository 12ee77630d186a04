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

/** COPY text escaping of a SQLite text expression. */
const esc = (e: string) => `replace(replace(replace(replace(${e}, '\\', '\\\\'), char(9), '\\t'), char(10), '\\n'), char(13), '\\r')`;

const D = '[0-9]';
const HEX = '[0-9a-fA-F]';
const ISO_FORMS = [
  `${D}${D}${D}${D}-${D}${D}-${D}${D}T${D}${D}:${D}${D}:${D}${D}.${D}${D}${D}Z`,
  `${D}${D}${D}${D}-${D}${D}-${D}${D}T${D}${D}:${D}${D}:${D}${D}Z`,
  `${D}${D}${D}${D}-${D}${D}-${D}${D}T${D}${D}:${D}${D}:${D}${D}.${D}${D}${D}`,
  `${D}${D}${D}${D}-${D}${D}-${D}${D}[ T]${D}${D}:${D}${D}:${D}${D}`,
  `${D}${D}${D}${D}-${D}${D}-${D}${D} ${D}${D}:${D}${D}:${D}${D}.${D}${D}${D}`,
];
const UUID_FORM = `${HEX.repeat(8)}-${HEX.repeat(4)}-${HEX.repeat(4)}-${HEX.repeat(4)}-${HEX.repeat(12)}`;

/*
 * Postgres' input functions accept more spellings than possync's codec does (PostgreSQL 16+ reads
 * '1_000' and '0x1F' as numbers, uuid_in takes hyphens after any group of four digits, bytea hex
 * allows spaces, '24:00:00' and leap seconds are times). Text only takes this path in the plain
 * forms on which both agree; anything else breaks the row and the codec decides.
 */
/** Optional '-', then digits only. */
const plainInteger = (x: string) => `(ltrim(${x}, '-') <> '' AND ltrim(${x}, '-') NOT GLOB '*[^0-9]*' AND length(${x}) - length(ltrim(${x}, '-')) <= 1)`;
/** Optional '-', digits with at most one '.', at least one digit. */
const plainDecimal = (x: string) =>
  `(${x} GLOB '*[0-9]*' AND ltrim(${x}, '-') NOT GLOB '*[^0-9.]*' AND ltrim(${x}, '-') NOT GLOB '*.*.*' AND length(${x}) - length(ltrim(${x}, '-')) <= 1)`;
/** Clock fields in range (no 24:00:00, no leap second) and no year 0. */
const plainClock = (x: string) => `(substr(${x}, 1, 4) <> '0000' AND substr(${x}, 12, 2) <= '23' AND substr(${x}, 15, 2) <= '59' AND substr(${x}, 18, 2) <= '59')`;

/** The COPY field for one column, or undefined when this path does not handle its type. */
function field(c: ColumnPlan, x: string): string | undefined {
  const typed = (cases: Record<string, string>) =>
    `CASE typeof(${x}) ${Object.entries(cases)
      .map(([type, e]) => `WHEN '${type}' THEN ${e}`)
      .join(' ')} ELSE ${BREAK} END`;
  switch (c.family) {
    case 'text':
    case 'other':
    case 'json':
      return typed({ text: esc(x), integer: `CAST(${x} AS TEXT)` });
    case 'uuid':
      return typed({ text: `CASE WHEN ${x} GLOB '${UUID_FORM}' THEN lower(${x}) ELSE ${BREAK} END` });
    case 'int':
      return typed({ integer: `CAST(${x} AS TEXT)`, text: `CASE WHEN ${plainInteger(x)} THEN ${x} ELSE ${BREAK} END` });
    case 'numeric': {
      // An exponent, or more decimals than numeric(p,s) keeps, is for the codec to judge.
      const scale = c.modifier?.scale;
      const tooPrecise = scale === undefined ? '0' : `instr(${x}, '.') > 0 AND length(rtrim(substr(${x}, instr(${x}, '.') + 1), '0')) > ${scale}`;
      return typed({ integer: `CAST(${x} AS TEXT)`, text: `CASE WHEN NOT ${plainDecimal(x)} OR (${tooPrecise}) THEN ${BREAK} ELSE ${x} END` });
    }
    case 'bool':
      return `CASE WHEN typeof(${x}) = 'integer' AND ${x} IN (0, 1) THEN CAST(${x} AS TEXT)
                   WHEN typeof(${x}) = 'text' AND lower(trim(${x})) IN ('true','t','1','yes','y','false','f','0','no','n') THEN trim(${x})
                   ELSE ${BREAK} END`;
    case 'timestamptz':
      // ISO text in UTC (or without a zone, which both read as UTC) at millisecond precision.
      if (c.modifier !== undefined && c.modifier.scale < 3) return undefined;
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
  for (const c of t.columns) {
    const x = `t.${sqliteIdent(c.sqlite)}`;
    const fk = t.fks.find((f) => f.translate && f.column === c);
    const scope = t.scope.find((s) => s.column === c);
    let f: string | undefined;
    if (fk) {
      // The parent's shared id in place of its local id; a parent that is not there breaks the row.
      const parent = plan.byName.get(fk.refTable)!;
      const shared = `(SELECT p.${sqliteIdent(parent.serverIdCol!.sqlite)} FROM ${sqliteIdent(parent.sqliteName)} p WHERE p.${sqliteIdent(parent.localPk!)} = ${x})`;
      f = `CASE WHEN ${x} IS NOT NULL AND ${shared} IS NULL THEN ${BREAK} ELSE ${esc(shared)} END`;
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
  const slice = db.prepare(
    `SELECT count(*) AS n, max(r) AS last, group_concat(line, char(10)) AS text
       FROM (SELECT t.rowid AS r, ${line} AS line FROM ${from} t WHERE t.rowid > ? ORDER BY t.rowid LIMIT ?)`,
  );
  assignLocalValues(db, t);
  return {
    next(after, limit): EncodedSlice | 'end' {
      const row = slice.get(after ? after[0] : -1, limit) as { n: number; last: number | null; text: string | null };
      if (row.n === 0) return 'end';
      return { text: `${row.text}\n`, rows: row.n, writeBack: [], last: [String(row.last)] };
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
