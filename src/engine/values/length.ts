import { unpadded } from './bpchar.ts';

/**
 * varchar(n) and char(n) count characters (code points in a UTF-8 database). Postgres refuses a
 * longer value, except that it silently cuts one whose excess is blanks ('abc   ' into varchar(3)
 * is stored as 'abc'), and an explicit cast to either type cuts anything. So possync checks the
 * length itself: a value that does not fit is refused with this reason, never cut.
 *
 * For char(n) trailing blanks carry no meaning (see bpchar.ts): only the rest must fit.
 */
export function lengthMisfit(wire: string, max: number, padded: boolean): string | undefined {
  const value = padded ? unpadded(wire) : wire;
  // UTF-16 units are never fewer than code points: short strings need no counting.
  if (value.length <= max) return undefined;
  const characters = [...value].length;
  if (characters <= max) return undefined;
  const type = padded ? `character(${max})` : `character varying(${max})`;
  const blanks = !padded && unpadded(value).length <= max ? ' (Postgres would cut the trailing blanks silently)' : '';
  // Postgres' own words first, so the reason reads the same whichever side noticed.
  return `value too long for type ${type}: it is ${characters} characters long${blanks}; it is not cut`;
}
