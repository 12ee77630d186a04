import type { ResolvedConfig, TableConfig } from '../../config/types.ts';
import type { PgColumn, PgTableInfo } from '../../db/postgres/introspect.ts';
import type { SqliteColumn, SqliteTableInfo } from '../../db/sqlite/introspect.ts';
import { matchColumns } from '../plan/columns.ts';
import type { TablePlan } from '../plan/types.ts';
import { affinityOf, familyOf, type Affinity, type Family } from '../values/codec.ts';
import { finding, type Finding } from './finding.ts';

/** Affinities that turn number-looking text into INTEGER or REAL values (SQLite datatype3 §3.1). */
const CONVERTS_TEXT = new Set<Affinity>(['INTEGER', 'REAL', 'NUMERIC']);
/** A double holds every decimal of up to 15 significant digits exactly. */
const DOUBLE_DIGITS = 15;

/**
 * Pairs of columns whose types cannot carry every value both ways. The codec refuses a value it
 * cannot store exactly (the row is held as rejected, never silently changed), so these are
 * places where rows will be refused, found before a deploy instead of in production.
 */
export function typeFindings(config: ResolvedConfig, table: TableConfig, pg: PgTableInfo, sqlite: SqliteTableInfo, translated: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  for (const { pg: p, sqlite: s } of matchColumns(config, table, pg.columns, sqlite.columns).pairs) {
    // An FK to a parent with a local key holds the parent's local id on the terminal (often an
    // INTEGER) and its shared id in Postgres (often a uuid): possync translates, types differ by design.
    if (translated.has(p.name)) continue;
    const f = pairFinding(table.name, sqlite.name, p, s);
    if (f) out.push(f);
  }
  return out;
}

function pairFinding(table: string, sqliteTable: string, p: PgColumn, s: SqliteColumn): Finding | undefined {
  const { family } = familyOf(p);
  const affinity = affinityOf(s.declaredType);
  const pair = `"${table}"."${p.name}" (${p.declaredType}) ↔ "${sqliteTable}"."${s.name}" (${s.declaredType || 'no type'}, ${affinity} affinity)`;
  const retype = `declare the SQLite column TEXT (rebuild the table: SQLite cannot change a column's type in place)`;
  if (CONVERTS_TEXT.has(affinity) && (['json', 'uuid', 'bytea'] as Family[]).includes(family)) {
    return finding('error', table, 'type-cannot-round-trip', `${pair}: a ${family} value cannot round-trip through a column that converts text to numbers`, retype);
  }
  if (CONVERTS_TEXT.has(affinity) && (['text', 'bpchar', 'other'] as Family[]).includes(family)) {
    return finding('warning', table, 'type-lossy', `${pair}: text that looks like a number ('007', '1.50') would change spelling, so such rows are refused`, retype);
  }
  if (family === 'int' && affinity === 'REAL') {
    return finding('warning', table, 'type-lossy', `${pair}: integers beyond 2^53 do not fit a double, so such rows are refused`, 'declare the SQLite column INTEGER');
  }
  if (family === 'numeric' && CONVERTS_TEXT.has(affinity) && numericPrecision(p.declaredType) > DOUBLE_DIGITS) {
    return finding('warning', table, 'type-lossy', `${pair}: SQLite stores it as a double (${DOUBLE_DIGITS} significant digits), so values with more digits are refused`, retype);
  }
  return undefined;
}

/** `numeric(20,4)` → 20; unconstrained `numeric` → Infinity (up to 131072 digits). */
function numericPrecision(declared: string): number {
  const m = /\((\d+)/.exec(declared);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

/** Zoneless SQLite text read as timestamptz: worth knowing, not drift. */
export function temporalNotes(t: TablePlan): Finding[] {
  return t.columns
    .filter((c) => c.family === 'timestamptz' && (c.codec.form === 'iso-ms' || c.codec.form === 'sqlite-datetime'))
    .map((c) => finding('info', t.name, 'timestamp-without-zone', `SQLite column "${t.sqliteName}"."${c.sqlite}" holds timestamps without a time zone: possync reads and writes them as UTC`));
}
