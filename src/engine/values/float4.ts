/**
 * Postgres `real` (float4) keeps a 24-bit significand, about 7 significant decimal digits. Given
 * 1234.5678 it stores 1234.5677490234375 and prints 1234.5677, without an error: the value would
 * be altered silently, and the next pull would write the altered value back over the till's. So a
 * value is pushed into a real column only if it reads back as itself: the shortest text of its
 * nearest float4 (what Postgres prints, with extra_float_digits > 0) is the same number.
 *
 * Every float4 is exactly a double, so the other direction (a real pulled onto the till) never
 * loses anything.
 */

/** The shortest decimal text that reads back as the float4 `f` (f must be a float4 already). */
export function float4Text(f: number): string {
  if (!Number.isFinite(f)) return String(f);
  for (let digits = 1; digits < 9; digits++) {
    const text = f.toPrecision(digits);
    // toPrecision rounds correctly: if any text of this length reads back as f, this one does.
    if (Math.fround(Number(text)) === f) return String(Number(text));
  }
  return String(Number(f.toPrecision(9))); // 9 digits always round-trip a float4
}

/** Undefined when a real column holds the float wire value exactly, otherwise why not. */
export function float4Misfit(wire: string): string | undefined {
  const n = Number(wire);
  // NaN, ±Infinity and -0 are float4 values; text that is not a number is the codec's to refuse.
  if (!Number.isFinite(n)) return undefined;
  const f = Math.fround(n);
  if (!Number.isFinite(f)) return `${wire} is beyond the range of a Postgres real (float4)`;
  const stored = float4Text(f);
  if (Number(stored) === n) return undefined;
  return `${wire} does not fit a Postgres real (float4), which keeps about 7 significant digits: it would be stored as ${stored}`;
}
