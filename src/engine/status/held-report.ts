import type { ResolvedConfig } from '../../config/types.ts';
import { SqliteGateway, type SqliteDb } from '../../db/sqlite/gateway.ts';
import { hasTable } from './run-log.ts';
import { listHeld, type HeldListing } from '../held.ts';

export interface HeldReport {
  rows: HeldListing[];
}

/** `possync rejected --json` (`--all`: deferred rows too) and the control API's GET /rejected. */
export function heldReport(db: SqliteDb, options: { all: boolean }): HeldReport {
  if (!hasTable(db, '_possync_held')) return { rows: [] };
  return { rows: listHeld(db, options.all ? {} : { kind: 'rejected' }) };
}

/** The same from the config, read only: the API never writes the terminal database to list. */
export function readHeld(config: ResolvedConfig, options: { all: boolean }): HeldReport {
  const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
  try {
    return heldReport(sqlite.db, options);
  } finally {
    sqlite.close();
  }
}
