import type { ResolvedConfig } from '../../config/types.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { Wire } from '../values/codec.ts';
import { displayKey, parseKey } from '../keys.ts';
import { listOpen, type OpenConflict } from './open-conflicts.ts';

/** One open manual conflict as `possync conflicts --json` (and GET /conflicts) show it. */
export interface OpenConflictListing {
  table: string;
  /** As reports show keys: `ord_001`, a composite key `(o1, 2)`; `possync conflicts resolve` takes it. */
  key: string;
  display: string;
  /** The columns that differ, with both values (none when a side deleted the row). */
  columns: Array<{ column: string; till: Wire; cloud: Wire }>;
  till: OpenConflict['till'];
  cloud: OpenConflict['cloud'];
  /** Which side deleted the row, if one did. */
  deletedOn: 'till' | 'cloud' | null;
  firstSeen: string;
  lastSeen: string;
  ageSeconds: number;
  /** An admin's decision waiting for the next run: till, cloud or set (with the values set). */
  decision: { keep: 'till' | 'cloud' | 'set'; set: OpenConflict['setValues']; decidedAt: string | null } | null;
}

export interface OpenConflictsReport {
  terminalId: string;
  count: number;
  /** Open conflicts per table. */
  tables: Record<string, number>;
  open: OpenConflictListing[];
}

export function listing(oc: OpenConflict, now: number): OpenConflictListing {
  return {
    table: oc.table,
    key: displayKey(parseKey(oc.key)),
    display: oc.display,
    columns: oc.columns.map((c) => ({ column: c, till: oc.till?.[c] ?? null, cloud: oc.cloud?.[c] ?? null })),
    till: oc.till,
    cloud: oc.cloud,
    deletedOn: oc.till === null ? 'till' : oc.cloud === null ? 'cloud' : null,
    firstSeen: oc.firstSeen,
    lastSeen: oc.lastSeen,
    ageSeconds: Math.max(0, Math.round((now - Date.parse(oc.firstSeen)) / 1000)),
    decision: oc.decision ? { keep: oc.decision, set: oc.setValues, decidedAt: oc.decidedAt } : null,
  };
}

export function openConflictsOf(db: SqliteDb, terminal: string, table?: string, now = Date.now()): OpenConflictsReport {
  const open = listOpen(db, table).map((oc) => listing(oc, now));
  const tables: Record<string, number> = {};
  for (const o of open) tables[o.table] = (tables[o.table] ?? 0) + 1;
  return { terminalId: terminal, count: open.length, tables, open };
}

/** `possync conflicts --json` and the control API's GET /conflicts: read only, from the terminal database alone (works offline). */
export function readOpenConflicts(config: ResolvedConfig, table?: string): OpenConflictsReport {
  const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
  try {
    return openConflictsOf(sqlite.db, config.terminalId, table);
  } finally {
    sqlite.close();
  }
}
