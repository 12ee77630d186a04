import type { Affinity } from './types.ts';

/**
 * SQLite's column affinity rules (https://sqlite.org/datatype3.html §3.1). They are substring
 * tests applied in this order, which is why "FLOATING POINT" is INTEGER ("INT" wins) and
 * "CHARINT" is INTEGER too; we copy the quirks so we predict what SQLite will store.
 */
export function affinityOf(declaredType: string): Affinity {
  const type = declaredType.toUpperCase();
  if (type.includes('INT')) return 'INTEGER';
  if (type.includes('CHAR') || type.includes('CLOB') || type.includes('TEXT')) return 'TEXT';
  if (type.includes('BLOB') || type.trim() === '') return 'BLOB';
  if (type.includes('REAL') || type.includes('FLOA') || type.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}
