import type { ResolvedConfig } from '../../config/types.ts';
import { sqliteStopError } from '../../db/sqlite/errors.ts';
import type { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { PossyncError } from '../../errors.ts';
import type { WireRow } from '../decide.ts';
import { displayKey, parseKey } from '../keys.ts';
import { listOpen, writeDecision, type ManualDecision } from './open-conflicts.ts';
import { listing, type OpenConflictListing } from './report.ts';

export interface ResolveRequest {
  table: string;
  /** The key as listed (`ord_001`, `(o1, 2)`), or a composite key as its parts. */
  keyParts: string[];
  keep?: string | undefined;
  /** `column=value` assignments, on top of the cloud's version. */
  set?: string[] | undefined;
  /** Columns set to NULL, on top of the cloud's version. */
  setNull?: string[] | undefined;
}

/**
 * `possync conflicts resolve`: writes an admin's decision on the till, and nothing else. The next
 * run's push carries it out both ways (engine/manual/settle.ts). Values of `--set` are wire text,
 * as `possync conflicts` shows them; the databases judge them when the decision is carried out.
 */
export function resolveOpenConflict(sqlite: SqliteGateway, config: ResolvedConfig, req: ResolveRequest): OpenConflictListing {
  const t = config.tables.find((x) => x.name === req.table);
  if (!t) throw new PossyncError('USAGE', `unknown table "${req.table}"`, { hint: `possync conflicts lists the open conflicts; tables: ${config.tables.map((x) => x.name).join(', ')}` });
  const assignments = [...(req.set ?? []), ...(req.setNull ?? []).map((c) => ({ column: c, value: null }))];
  if ((req.keep === undefined) === (assignments.length === 0)) throw new PossyncError('USAGE', 'possync conflicts resolve needs either --keep till|cloud or --set column=value …');
  let decision: ManualDecision;
  if (req.keep !== undefined) {
    if (req.keep !== 'till' && req.keep !== 'cloud') throw new PossyncError('USAGE', `--keep must be till or cloud, got "${req.keep}"`);
    decision = req.keep;
  } else decision = 'set';

  const key = req.keyParts.length === 1 ? req.keyParts[0]! : `(${req.keyParts.join(', ')})`;
  const oc = listOpen(sqlite.db, t.name).find((o) => displayKey(parseKey(o.key)) === key || o.key === key || o.key === JSON.stringify(req.keyParts));
  if (!oc) throw new PossyncError('USAGE', `no open conflict ${t.name}:${key}`, { hint: 'possync conflicts lists the open conflicts and their keys' });

  let values: WireRow | null = null;
  if (decision === 'set') {
    const known = new Set(Object.keys(oc.cloud ?? oc.till ?? {}));
    values = {};
    for (const a of assignments) {
      const { column, value } = typeof a === 'string' ? splitAssignment(a) : a;
      if (!known.has(column)) throw new PossyncError('USAGE', `--set: table ${t.name} has no synced column "${column}"`, { hint: `columns: ${[...known].join(', ')}` });
      if (t.pk.includes(column)) throw new PossyncError('USAGE', `--set: "${column}" is the key of ${t.name}; a resolution cannot change it`);
      if (column in values) throw new PossyncError('USAGE', `--set: column "${column}" given twice`);
      values[column] = value;
    }
  }
  const at = new Date().toISOString();
  try {
    sqlite.immediate(() => writeDecision(sqlite.db, t.name, oc.key, decision, values, at));
  } catch (err) {
    // The POS app holding a write transaction past the busy timeout, a file that cannot be written: one line, its exit code.
    throw sqliteStopError(sqlite.path, err) ?? err;
  }
  return listing({ ...oc, decision, setValues: values, decidedAt: at }, Date.now());
}

function splitAssignment(text: string): { column: string; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new PossyncError('USAGE', `--set takes column=value, got "${text}"`);
  return { column: text.slice(0, eq), value: text.slice(eq + 1) };
}
