import { PossyncError } from '../errors.ts';
import type { ResolvedConfig } from './types.ts';

/**
 * A run's table list (`trigger --tables`, the control API's `tables`), checked against the config
 * before anything connects: a typo is a usage error (exit 2, HTTP 400) that names the tables there
 * are, not a run that quietly syncs nothing. Undefined: every table.
 */
export function selectTables(config: ResolvedConfig, names: readonly string[] | undefined, flag = '--tables'): string[] | undefined {
  if (names === undefined) return undefined;
  const unique = [...new Set(names.map((s) => s.trim()).filter(Boolean))];
  const known = config.tables.map((t) => t.name);
  if (unique.length === 0) throw new PossyncError('USAGE', `${flag} needs at least one table name`, { hint: `configured tables: ${known.join(', ')}` });
  const unknown = unique.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new PossyncError('USAGE', `${flag} names tables that are not in the config: ${unknown.join(', ')}`, { hint: `configured tables: ${known.join(', ')}` });
  }
  return unique;
}
