import type { ResolvedConfig, TableConfig } from '../../config/types.ts';
import type { PgColumn, PgTableInfo } from '../../db/postgres/introspect.ts';
import { pgIdent, pgTable } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { SqliteColumn, SqliteTableInfo } from '../../db/sqlite/introspect.ts';
import { valuesLongerThan } from '../../db/sqlite/longer-than.ts';
import { matchColumns } from '../plan/columns.ts';
import { affinityOf, familyOf } from '../values/codec.ts';
import { modifierOf } from '../values/fits.ts';
import { finding, type Finding } from './finding.ts';

/**
 * Type pairs where a value one side holds may not fit the other exactly: a real (float4) for
 * amounts, a double for decimal text, numeric(p,s) for REAL sums, varchar(n)/char(n) for longer
 * text, timestamp(p) below milliseconds. possync never alters such a value: the row is refused
 * and listed by `possync rejected`, so these are warnings (rows will be held), not errors.
 *
 * An error is reserved for pairs where Postgres would still alter a value silently: array
 * columns whose element type rounds or cuts (real[], numeric(p,s)[], varchar(n)[] ...), since
 * the codec checks scalar columns only.
 */
const REJECTED = 'such rows are refused, not altered, and listed by `possync rejected`';

export function lossyFindings(config: ResolvedConfig, table: TableConfig, pg: PgTableInfo, sqlite: SqliteTableInfo, db: SqliteDb, translated: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  for (const { pg: p, sqlite: s } of matchColumns(config, table, pg.columns, sqlite.columns).pairs) {
    if (translated.has(p.name)) continue;
    const f = lossyPair(table.name, pg, sqlite.name, p, s, db);
    if (f) out.push(f);
  }
  return out;
}

function lossyPair(table: string, pg: PgTableInfo, sqliteTable: string, p: PgColumn, s: SqliteColumn, db: SqliteDb): Finding | undefined {
  const { family, element } = familyOf(p);
  const affinity = affinityOf(s.declaredType);
  const modifier = modifierOf(family, p.declaredType);
  const pair = `"${table}"."${p.name}" (${p.declaredType}) ↔ "${sqliteTable}"."${s.name}" (${s.declaredType || 'no type'})`;
  const retype = (type: string) => `ALTER TABLE ${pgTable(pg.schema, pg.name)} ALTER COLUMN ${pgIdent(p.name)} TYPE ${type};`;
  const lossy = (message: string, fix?: string) => finding('warning', table, 'type-lossy', `${pair}: ${message}; ${REJECTED}`, fix);

  if (family === 'array' && element !== undefined && /\(\d+(?:,\d+)?\)\[\]$|^real\[\]$/.test(p.declaredType)) {
    return finding(
      'error',
      table,
      'type-alters-silently',
      `${pair}: Postgres rounds or cuts elements of this array type without an error, and possync checks the length and precision of scalar columns only, so an element that does not fit would be altered`,
      `${retype(p.declaredType.replace(/\(\d+(?:,\d+)?\)(?=\[\]$)/, '').replace(/^real\[\]$/, 'double precision[]'))} (or keep the column out of the sync with localOnly)`,
    );
  }
  if (modifier?.float4) {
    return lossy('a real keeps about 7 significant digits, so an amount such as 1234.5678 does not fit', `${retype('numeric(12,4)')} (for money) or TYPE double precision`);
  }
  if (family === 'float' && (affinity === 'TEXT' || affinity === 'NUMERIC')) {
    return lossy('a double keeps about 16 significant digits, so decimal text with more digits does not fit', `${retype('numeric')} to keep decimal text exactly`);
  }
  if (family === 'numeric' && modifier?.scale !== undefined && affinity === 'REAL') {
    return lossy(`a SQLite REAL is a double, and a computed amount such as 0.1 + 0.2 (0.30000000000000004) has more than ${modifier.scale} decimal places`, 'round amounts on the till before storing them, or declare the SQLite column TEXT and store decimal text');
  }
  if ((family === 'timestamptz' || family === 'timestamp' || family === 'time') && modifier?.scale !== undefined && modifier.scale < 3) {
    return lossy(`the till keeps milliseconds and the column keeps ${modifier.scale} fraction digits, so a time with more does not fit`, retype(p.declaredType.replace(/\(\d\)/, '(3)')));
  }
  if (modifier?.length !== undefined) return lengthFinding(table, pair, retype, p, s, sqliteTable, modifier.length, family === 'bpchar', db);
  return undefined;
}

function lengthFinding(
  table: string,
  pair: string,
  retype: (type: string) => string,
  p: PgColumn,
  s: SqliteColumn,
  sqliteTable: string,
  max: number,
  padded: boolean,
  db: SqliteDb,
): Finding | undefined {
  const fix = `${retype(padded ? 'text' : `varchar(<longer>)`)} or shorten the values on the till`;
  const { count, longest } = valuesLongerThan(db, sqliteTable, s.name, max, padded);
  if (count > 0) {
    return finding('warning', table, 'type-lossy', `${pair}: ${count} value(s) on the till are longer than ${max} characters (the longest ${longest}); ${REJECTED}`, fix);
  }
  const declared = /\(\s*(\d+)\s*\)/.exec(s.declaredType);
  if (declared && Number(declared[1]) > max) {
    return finding('warning', table, 'type-lossy', `${pair}: the till column allows ${declared[1]} characters and Postgres holds ${max}, so a longer value does not fit; ${REJECTED}`, fix);
  }
  return finding('info', table, 'type-length', `${pair}: Postgres holds at most ${max} characters (${p.declaredType}) and every value on the till fits today; a longer one would be refused, not cut`);
}
