import { sqliteIdent } from '../../db/quote.ts';
import type { ColumnPlan, TablePlan } from '../plan/types.ts';
import { endsWithBar } from './normal-form.ts';

/**
 * The till's row text built by SQLite itself, for the spellings nearly all till data is stored
 * in: the scan then hands JavaScript one string a row instead of a converted value per column.
 *
 * Each column's expression is its `encode` part (checksum.ts: `N` or `<UTF-8 bytes>:<normal
 * form>`, or for families ending with '|' the normal form then '|') when the stored value is in
 * a spelling whose normal form is known here without the push's conversion, and NULL otherwise,
 * which makes the whole row text NULL: such a row is converted and hashed in JavaScript as before
 * (till.ts). So for every row that gets a text here, the text is the one `encode` gives after the
 * push's conversion (test/unit/verify-data-till-sql.test.ts checks this value by value), except
 * for texts no cloud row can have, which only make their bucket differ and are then judged by
 * the conversion itself: a text containing NUL (Postgres text cannot hold it), a timestamp of the
 * right shape that is no real instant, numeric or uuid text in no spelling Postgres prints (see
 * below), and invalid UTF-8, which reaches JavaScript with U+FFFD in it and is then sent to the
 * conversion (till.ts). Valid values in other spellings ('1e2', uppercase uuids, '2026-01-01
 * 10:00') must get no text here: theirs would differ from the cloud's, and every such row would
 * be fetched.
 *
 * Families and spellings with a text here (others, and translated FK columns, have none: the
 * table is then read as before):
 *   int          INTEGER storage                   → decimal digits
 *   numeric      INTEGER storage, or text ('12.50', '-0.5', '7') → without trailing fraction zeros
 *   bool         0 / 1, 'true' / 'false' / 't' / 'f'
 *   text, other  TEXT storage                      → the text
 *   bpchar       TEXT storage                      → without trailing blanks
 *   uuid         TEXT of 36 hex digits and dashes   → lowercased
 *   timestamptz  'YYYY-MM-DDTHH:MM:SS.sssZ' (JavaScript's toISOString)
 *                                                   → 'YYYY-MM-DD HH:MM:SS[.sss]+00' (normal-form.ts)
 * Declared lengths (varchar(n), char(n)) and timestamptz(p) scales are checked as the push checks
 * them; a value that does not fit has no text here.
 */
export function tillRowTextSql(t: TablePlan): string | undefined {
  if (t.fks.some((f) => f.translate)) return undefined;
  const parts: string[] = [];
  for (const c of t.columns) {
    const part = columnSql(c);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return parts.join(' || ');
}

/** `<UTF-8 byte length>:<text>` of a non-NULL text expression (octet_length: the stored length, no count). */
const framed = (text: string) => `octet_length(${text}) || ':' || ${text}`;

/**
 * A column's part of the row text (the families and spellings above).
 *
 * Columns of families that end with '|' (checksum.ts encode) get a part only for values whose
 * text here is not empty and holds no '|' (an `instr` each: cheaper than testing every character
 * against the family's alphabet). Read from the left, such a row text then splits into exactly
 * the parts SQLite wrote, as a cloud row's text does, so equal texts are equal parts. (A part
 * starting with '#' reads as encode's escape form or as nothing; either way no cloud part is
 * spelled so.)
 *
 * numeric: INTEGER storage as its digits; text with at most one point, not last,
 * without its trailing fraction zeros. Only what could make a text Postgres prints is excluded: a
 * second point or a last one ('1.5.0' and '12.' would trim to '1.5' and '12'). Any other such
 * text that is no plain decimal ('1e5', '012.5', '-0.0', ' 7') keeps a character or a leading zero
 * Postgres never prints, so it equals no cloud row's text and is judged by the conversion; a text
 * Postgres does print ('-'? digits without leading zeros, a fraction not ending in 0) is one the
 * conversion gives too. A fraction longer than numeric(p,s) keeps is never printed either.
 */
function columnSql(c: ColumnPlan): string | undefined {
  const v = `t.${sqliteIdent(c.sqlite)}`;
  // The column's part: NULL's, else the first case whose guard holds, its normal form framed or
  // ended with '|', else NULL (no text).
  const ended = endsWithBar(c.family);
  const part = (text: string) => (ended ? `${text} || '|'` : framed(text));
  const when = (cases: Array<[guard: string, text: string]>) =>
    `(CASE WHEN ${v} IS NULL THEN ${ended ? `'|'` : `'N'`} ${cases.map(([g, x]) => `WHEN ${g} THEN ${part(x)}`).join(' ')} END)`;
  const isText = `typeof(${v}) = 'text'`;
  const isInt = `typeof(${v}) = 'integer'`;
  const length = c.modifier?.length;
  switch (c.family) {
    case 'int':
      return when([[isInt, `CAST(${v} AS TEXT)`]]);
    case 'text':
    case 'other':
      return when([[length === undefined ? isText : `${isText} AND length(${v}) <= ${length}`, v]]);
    case 'bpchar': {
      const bare = `rtrim(${v}, ' ')`;
      return when([[length === undefined ? isText : `${isText} AND length(${bare}) <= ${length}`, bare]]);
    }
    case 'uuid':
      // Lowercased, as the conversion does: a text of 36 characters whose lowercase Postgres
      // prints is an 8-4-4-4-12 uuid in some case, which the conversion lowercases too. Other
      // spellings of that length (padded, braced) give a text Postgres never prints.
      return when([[`${isText} AND length(${v}) = 36 AND instr(${v}, '|') = 0`, `lower(${v})`]]);
    case 'bool':
      return when([
        [`(${isInt} AND ${v} = 1) OR (${isText} AND ${v} IN ('true', 't'))`, `'true'`],
        [`(${isInt} AND ${v} = 0) OR (${isText} AND ${v} IN ('false', 'f'))`, `'false'`],
      ]);
    case 'numeric':
      // See above. Trimmed only when there is something to trim (a point and a last '0').
      return when([
        [isInt, `CAST(${v} AS TEXT)`],
        [
          `${isText} AND ${v} <> '' AND instr(${v}, '|') = 0 AND ${v} NOT GLOB '*.*.*' AND ${v} NOT GLOB '*.'`,
          `(CASE WHEN instr(${v}, '.') = 0 OR substr(${v}, -1) <> '0' THEN ${v} ELSE rtrim(rtrim(${v}, '0'), '.') END)`,
        ],
      ]);
    case 'timestamptz': {
      if (c.codec.form === 'epoch-ms' || c.codec.form === 'epoch-s') return undefined;
      const scale = c.modifier?.scale;
      // Only the shape and the milliseconds' digits are tested: a text of this shape that is no
      // real instant (2026-02-30, hour 24, letters) gives a text Postgres never prints, so it can
      // equal no cloud row's and is then judged by the conversion; a text Postgres does print is
      // of a real instant, whose conversion gives this same text.
      let guard = `${isText} AND ${v} GLOB '????-??-??T??:??:??.[0-9][0-9][0-9]Z' AND instr(${v}, '|') = 0`;
      if (scale !== undefined && scale < 3) guard += ` AND substr(${v}, ${21 + scale}, ${3 - scale}) = '${'0'.repeat(3 - scale)}'`;
      // Postgres' text of the instant: 'YYYY-MM-DD HH:MM:SS', the milliseconds without trailing
      // zeros, '+00'. One case per number of milliseconds' digits kept (0–3): about half the
      // cost of trimming the digits.
      const upTo = (n: number) => `substr(${v}, 1, 10) || ' ' || substr(${v}, 12, ${n})`;
      return when([
        [
          guard,
          `(CASE WHEN substr(${v}, 21, 3) = '000' THEN ${upTo(8)} WHEN substr(${v}, 22, 2) = '00' THEN ${upTo(10)}
            WHEN substr(${v}, 23, 1) = '0' THEN ${upTo(11)} ELSE ${upTo(12)} END) || '+00'`,
        ],
      ]);
    }
    default:
      return undefined;
  }
}

