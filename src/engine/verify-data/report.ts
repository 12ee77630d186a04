import type { Direction } from '../../config/types.ts';

/** One row that differs between the till and the cloud. */
export interface RowDifference {
  /** The shared key as a JSON array of wire values (as in possync's logs). */
  key: string;
  kind: 'missing' | 'extra' | 'different';
  /** For `different`: the Postgres names of the columns whose values the sync calls unequal. */
  columns?: string[];
  /** For a till row that cannot be converted to Postgres values: why. */
  reason?: string;
}

export interface TableVerification {
  table: string;
  label: string;
  direction: Direction;
  /** `skipped` when the table cannot be compared yet (see `note`). */
  status: 'equal' | 'different' | 'skipped';
  note?: string;
  tillRows: number;
  cloudRows: number;
  /** In cloud, not on the till / on the till, not in cloud / both, unequal. */
  missing: number;
  extra: number;
  different: number;
  rows: RowDifference[];
  /** Rows left out because a change to them is still in flight (pending push or unpulled). */
  inFlight: number;
  /**
   * What crossed the network: bucket checksums, rows sent as key + hash, rows fetched in full;
   * and how many times the cloud hashed the whole table (1; 2 when it holds rows the till lacks,
   * which only a second pass can find; 0 when the table was skipped).
   */
  transfer: { buckets: number; hashedRows: number; fullRows: number; cloudPasses: number };
  /** Threads that scanned the till's table: 1, or the worker threads of a large table's scan. */
  tillThreads: number;
  durationMs: number;
  /** With --repair: how many rows were queued for the next push and the next pull. */
  repaired?: { push: number; pull: number };
}

export interface VerifyDataResult {
  ok: boolean;
  tables: TableVerification[];
}

export function countKinds(rows: readonly RowDifference[]): Pick<TableVerification, 'missing' | 'extra' | 'different'> {
  return {
    missing: rows.filter((r) => r.kind === 'missing').length,
    extra: rows.filter((r) => r.kind === 'extra').length,
    different: rows.filter((r) => r.kind === 'different').length,
  };
}
