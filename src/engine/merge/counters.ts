import { formatDecimal, parseDecimal } from '../values/decimal.ts';
import { ValueError } from '../values/value-error.ts';
import type { Wire } from '../values/codec.ts';
import type { ColumnPlan } from '../plan/types.ts';

/**
 * Counter columns (stock): each side's change since the base is a delta, and the result is
 * `server + (local - base)`, so concurrent sales on several tills and a delivery in the back
 * office all count. Integers and numerics are added as exact decimals (never a JS number, which
 * would round a numeric(20,4)); the result keeps the largest scale of the three. A float column
 * is a double on both sides anyway, and is added as one.
 */
export function addDelta(column: ColumnPlan, server: string, local: string, base: string): Wire {
  if (column.family === 'float') return String(Number(server) + (Number(local) - Number(base)));
  return decimalSum([server, local], [base]);
}

/** Whether addDelta can combine these three values (none NULL): otherwise the column merges as a plain one. */
export function addable(server: Wire, local: Wire, base: Wire): boolean {
  return server !== null && local !== null && base !== null;
}

/** Σ plus − Σ minus, exactly, as plain decimal text with the largest scale of the operands. */
export function decimalSum(plus: readonly string[], minus: readonly string[]): string {
  const parts = [...plus, ...minus].map((text) => {
    const d = parseDecimal(text.trim());
    if (d === undefined) throw new ValueError(`${JSON.stringify(text)} is not a finite number, so it cannot be added as a counter`);
    return d;
  });
  const scale = Math.max(0, ...parts.map((d) => d.frac.length));
  const scaled = (i: number) => {
    const d = parts[i]!;
    const n = BigInt((d.int || '0') + d.frac.padEnd(scale, '0'));
    return d.negative ? -n : n;
  };
  let total = 0n;
  parts.forEach((_, i) => (total += i < plus.length ? scaled(i) : -scaled(i)));
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
  return formatDecimal({ negative, int: digits.slice(0, digits.length - scale).replace(/^0+/, ''), frac: digits.slice(digits.length - scale) });
}
