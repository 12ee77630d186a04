import type { Family } from './types.ts';

/**
 * Column modifiers under which Postgres would silently change a value instead of refusing it:
 * numeric(p,s) rounds extra decimals, timestamp(p)/time(p) round extra fraction digits. A value
 * that does not fit makes its row a bad row (rejected, with this reason) rather than being altered.
 */
export interface Modifier {
  /** numeric(p,s): digits after the point; timestamp(p): fraction digits kept. */
  scale: number;
}

/** Reads the modifier from Postgres' declared type (format_type output). */
export function modifierOf(family: Family, declaredType: string): Modifier | undefined {
  if (family === 'numeric') {
    const m = /^numeric\((\d+),(\d+)\)$/.exec(declaredType);
    return m ? { scale: Number(m[2]) } : undefined;
  }
  if (family === 'timestamptz' || family === 'timestamp' || family === 'time') {
    const m = /\((\d)\)/.exec(declaredType);
    return m ? { scale: Number(m[1]) } : undefined;
  }
  return undefined;
}

/** Undefined when the wire value fits, otherwise why not. */
export function misfit(family: Family, modifier: Modifier | undefined, wire: string | null): string | undefined {
  if (modifier === undefined || wire === null) return undefined;
  const fraction = family === 'numeric' ? /\.(\d+)(?:$|e)/i.exec(wire)?.[1] : /:\d{2}\.(\d+)/.exec(wire)?.[1];
  if (fraction === undefined) return undefined;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length <= modifier.scale) return undefined;
  const what = family === 'numeric' ? 'decimal places' : 'fraction digits of a second';
  return `${wire} has more ${what} than the Postgres column keeps (${modifier.scale}); it would be rounded`;
}
