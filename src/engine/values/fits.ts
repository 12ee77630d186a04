import type { Family } from './types.ts';
import { float4Misfit } from './float4.ts';
import { lengthMisfit } from './length.ts';

/**
 * Column types under which Postgres would silently change a value instead of refusing it:
 * numeric(p,s) rounds extra decimals, timestamp(p)/time(p) round extra fraction digits, real
 * (float4) rounds to ~7 significant digits, varchar(n) cuts trailing blanks beyond n. A value that
 * does not fit makes its row a bad row (rejected, with this reason) rather than being altered.
 */
export interface Modifier {
  /** numeric(p,s): digits after the point; timestamp(p): fraction digits kept. */
  scale?: number;
  /** real: the value must read back as itself from a float4 (see float4.ts). */
  float4?: true;
  /** varchar(n) / char(n): characters held (see length.ts). */
  length?: number;
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
  if (family === 'float') return declaredType === 'real' ? { float4: true } : undefined;
  if (family === 'text' || family === 'bpchar') {
    const m = /^(?:character varying|character)\((\d+)\)$/.exec(declaredType);
    return m ? { length: Number(m[1]) } : undefined;
  }
  return undefined;
}

/** Undefined when the wire value fits, otherwise why not. */
export function misfit(family: Family, modifier: Modifier | undefined, wire: string | null): string | undefined {
  if (modifier === undefined || wire === null) return undefined;
  if (modifier.float4) return float4Misfit(wire);
  if (modifier.length !== undefined) return lengthMisfit(wire, modifier.length, family === 'bpchar');
  if (modifier.scale === undefined) return undefined;
  const fraction = family === 'numeric' ? /\.(\d+)(?:$|e)/i.exec(wire)?.[1] : /:\d{2}\.(\d+)/.exec(wire)?.[1];
  if (fraction === undefined) return undefined;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length <= modifier.scale) return undefined;
  const what = family === 'numeric' ? 'decimal places' : 'fraction digits of a second';
  return `${wire} has more ${what} than the Postgres column keeps (${modifier.scale}); it would be rounded`;
}
