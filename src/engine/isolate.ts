import type { PgClient } from '../db/postgres/gateway.ts';
import { pgErrorCode } from '../db/postgres/errors.ts';

/**
 * SQLSTATE classes that blame the data, not the connection or the statement: 22 (data exception:
 * too long, out of range, bad date), 23 (integrity: unique, check, not null, FK), P0001 (raised
 * by an app trigger), 42804 (datatype mismatch).
 */
export function isDataError(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23') || code === 'P0001' || code === '42804');
}

export interface Isolated<T> {
  item: T;
  error: Error & { code?: string };
}

/**
 * Applies `items` with `apply`; when Postgres refuses the batch because of the data, bisects it
 * inside savepoints until every refused row stands alone. Returns the refused rows with the
 * database's reason; everything else is applied. One bad row costs O(log n) extra statements.
 */
export async function applyIsolated<T>(client: PgClient, items: readonly T[], apply: (items: readonly T[]) => Promise<void>): Promise<Isolated<T>[]> {
  if (items.length === 0) return [];
  await client.query('SAVEPOINT possync_batch');
  try {
    await apply(items);
    // Not released: that would be one more round trip, and the COMMIT releases it anyway. A later
    // savepoint of the same name shadows it, so a ROLLBACK TO below always finds the right one.
    return [];
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT possync_batch');
    await client.query('RELEASE SAVEPOINT possync_batch');
    if (!isDataError(err)) throw err;
    if (items.length === 1) return [{ item: items[0]!, error: err as Error & { code?: string } }];
    const mid = Math.ceil(items.length / 2);
    const left = await applyIsolated(client, items.slice(0, mid), apply);
    const right = await applyIsolated(client, items.slice(mid), apply);
    return [...left, ...right];
  }
}
