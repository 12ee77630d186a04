import { pgIdent } from '../../db/quote.ts';
import { parseBoolText } from '../values/bool.ts';
import { unpadded } from '../values/bpchar.ts';
import type { Family, Wire } from '../values/codec.ts';
import { wireInt } from '../values/int.ts';
import { formatWireTimestamp, parseDateTime } from '../values/temporal.ts';
import { isWireTimestamptz } from '../values/timestamp-fast.ts';

/**
 * The normal form verify-data hashes: one text per value, produced in JavaScript from a wire value
 * (the till's side, after the push's local → wire conversion) and in SQL from the column itself
 * (the cloud's side, so rows need not cross the network). For the families below the two are the
 * same text whenever the sync's `same()` calls the values equal:
 *
 *   int        decimal digits                      (wire: BigInt text; SQL: col::text)
 *   numeric    value without trailing zeros        ('12.50' → '12.5'; SQL: trim_scale(col)::text)
 *   bool       'true' / 'false'                    (wire 0/1/t/yes… parsed; SQL: CASE)
 *   bpchar     without trailing blanks             (SQL: rtrim(col::text, ' '))
 *   timestamptz / timestamp  'YYYY-MM-DDTHH:MM:SS.mmm' in UTC, truncated to the millisecond, the
 *              precision `same()` compares at      (SQL: to_char(… 'MS') truncates µs as well)
 *   uuid, bytea, date, text  the canonical text Postgres prints in possync's session settings
 *
 * time, float, json and array columns hash their wire text against `col::text`, which can differ
 * for values the sync calls equal (jsonb key order, float exponent spelling). That costs transfer,
 * never correctness: the hash only chooses which rows to fetch, and fetched rows are compared with
 * the sync's own `rowsEqual`, so a row that only hashes differently is never reported.
 */
export function normalText(family: Family, wire: Wire): string | null {
  if (wire === null) return null;
  try {
    switch (family) {
      case 'int':
        return wireInt(wire).toString();
      case 'numeric':
        return normalDecimal(wire);
      case 'bool': {
        const b = parseBoolText(wire);
        return b === undefined ? wire : String(b);
      }
      case 'bpchar':
        return unpadded(wire);
      case 'uuid':
      case 'bytea':
        return wire.toLowerCase();
      case 'timestamptz':
        if (isWireTimestamptz(wire)) return wire.slice(0, 23);
        return atMs(formatWireTimestamp(parseDateTime(wire, family), true));
      case 'timestamp':
        return atMs(formatWireTimestamp(parseDateTime(wire, family), false));
      default:
        return wire;
    }
  } catch {
    return wire;
  }
}

const atMs = (wire: string) => (/^\d{4}-/.test(wire) ? wire.slice(0, 23) : wire);

const PLAIN = /^(-?)(\d+)(?:\.(\d+))?$/;

/** '012.50' → '12.5', '-0.0' → '0'; specials (NaN, Infinity) as they are. */
function normalDecimal(text: string): string {
  const m = PLAIN.exec(text.trim());
  if (!m) return text;
  const int = m[2]!.replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return m[1] && body !== '0' ? `-${body}` : body;
}

/** The SQL expression giving `normalText` of column `col` of alias `t`, in possync's session settings. */
export function normalSql(family: Family, col: string, alias = 't'): string {
  const c = `${alias}.${pgIdent(col)}`;
  switch (family) {
    case 'numeric':
      return `trim_scale(${c})::text`;
    case 'bool':
      return `CASE WHEN ${c} THEN 'true' WHEN NOT ${c} THEN 'false' END`;
    case 'bpchar':
      return `rtrim(${c}::text, ' ')`;
    case 'timestamptz':
      return `CASE WHEN isfinite(${c}) THEN to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') ELSE ${c}::text END`;
    case 'timestamp':
      return `CASE WHEN isfinite(${c}) THEN to_char(${c}, 'YYYY-MM-DD"T"HH24:MI:SS.MS') ELSE ${c}::text END`;
    default:
      return `${c}::text`;
  }
}
