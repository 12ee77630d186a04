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
 *   timestamptz / timestamp  Postgres' own text in UTC of the value truncated to the millisecond,
 *              the precision `same()` compares at: 'YYYY-MM-DD HH:MM:SS[.mmm without trailing
 *              zeros]' then '+00' for timestamptz (SQL: date_trunc('milliseconds', col)::text, or
 *              col::text when the column keeps no more than milliseconds; to_char would cost
 *              several times as much per value)
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
        return pgAtMs(isWireTimestamptz(wire) ? wire : formatWireTimestamp(parseDateTime(wire, family), true), '+00');
      case 'timestamp':
        return pgAtMs(formatWireTimestamp(parseDateTime(wire, family), false), '');
      default:
        return wire;
    }
  } catch {
    return wire;
  }
}

const WIRE_STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z?$/;

/** A wire timestamp 'YYYY-MM-DDTHH:MM:SS.ffffff' as Postgres prints it at millisecond precision. */
function pgAtMs(wire: string, zone: string): string {
  if (!WIRE_STAMP.test(wire)) return wire;
  let ms = wire.slice(20, 23);
  while (ms.endsWith('0')) ms = ms.slice(0, -1);
  return `${wire.slice(0, 10)} ${wire.slice(11, 19)}${ms ? `.${ms}` : ''}${zone}`;
}

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

/**
 * Families whose normal form, as Postgres prints it (normalSql), is never empty, never holds '|'
 * and never starts with '#': digits, signs, points, hex, dashes, colons, spaces, 'true', 'NaN',
 * 'infinity', ' BC'. Their values end with '|' in a row text instead of carrying their length
 * (checksum.ts encode): counting bytes and printing the count cost about a tenth of the cloud's
 * pass at 1M rows. bytea and time stay framed (rare in till tables; not worth the argument).
 */
const ENDED = new Set<Family>(['int', 'numeric', 'bool', 'uuid', 'timestamptz', 'timestamp', 'date']);
export const endsWithBar = (family: Family): boolean => ENDED.has(family);

/**
 * The SQL expression giving `normalText` of column `col` of alias `t`, in possync's session
 * settings. `scale` is a timestamp column's declared precision (timestamp(3): nothing to cut).
 */
export function normalSql(family: Family, col: string, scale?: number): string {
  const c = `t.${pgIdent(col)}`;
  switch (family) {
    case 'numeric':
      return `trim_scale(${c})::text`;
    case 'bool':
      return `CASE WHEN ${c} THEN 'true' WHEN NOT ${c} THEN 'false' END`;
    case 'bpchar':
      return `rtrim(${c}::text, ' ')`;
    case 'timestamptz':
    case 'timestamp':
      return scale !== undefined && scale <= 3 ? `${c}::text` : `date_trunc('milliseconds', ${c})::text`;
    default:
      return `${c}::text`;
  }
}
