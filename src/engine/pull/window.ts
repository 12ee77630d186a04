import type { PgClient } from '../../db/postgres/gateway.ts';
import { pgLiteral } from '../../db/quote.ts';
import { changeLogName } from '../../db/postgres/possync-schema.ts';
import { unseenSql, type PullSnapshot } from '../checkpoints.ts';

/** xid8 values are unsigned 64-bit integers printed in decimal. */
function xidLiteral(xid: string): string {
  if (!/^\d{1,20}$/.test(xid)) throw new Error(`not an xid8: ${xid}`);
  return `'${xid}'::xid8`;
}

/** pg_snapshot text: `xmin:xmax:xip,xip,…`. */
function snapshotLiteral(snapshot: string): string {
  if (!/^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/.test(snapshot)) throw new Error(`not a pg_snapshot: ${snapshot}`);
  return `'${snapshot}'::pg_snapshot`;
}

/**
 * Changes a pull applies: those of transactions the checkpoint's snapshot did not see and this
 * pull's snapshot does. That is everything below this pull's fence (its xmin) that the last pull
 * lacked, plus transactions above the fence that already committed: rows fetched in this snapshot
 * show their effects, and without their change-log entries a child they moved to a new parent
 * would arrive without that parent. The checkpoint keeps the whole snapshot, so the next pull
 * skips what this one applied, however long another transaction pins the fence.
 */
function windowSql(from: PullSnapshot, to: string): string {
  return windowSqlOf(xidLiteral(from.fence), snapshotLiteral(from.snapshot), xidLiteral(to));
}

/** The same, from SQL expressions: the checkpoint's fence (xid8) and snapshot, and this pull's fence. */
function windowSqlOf(fromFence: string, fromSnapshot: string, to: string): string {
  return `${unseenSql(fromFence, fromSnapshot)} AND (c.xid < ${to} OR pg_visible_in_snapshot(c.xid, pg_current_snapshot()))`;
}

/** What the change log holds for one table in its window, seen from this terminal. */
export interface WindowProbe {
  /** Someone else reloaded the table (a TRUNCATE, another terminal's bulk load): resync it. */
  reloaded: boolean;
  /** Any entry by someone else: the window has to be read. */
  changed: boolean;
}

/**
 * Probes the windows of many tables in one statement (one round trip for a whole pull, however
 * many tables it covers), so a table nobody else changed costs no further query.
 */
export async function probeWindows(
  client: PgClient,
  schema: string,
  tables: ReadonlyArray<{ table: string; from: PullSnapshot }>,
  to: string,
  terminalId: string,
): Promise<Map<string, WindowProbe>> {
  const out = new Map<string, WindowProbe>();
  if (tables.length === 0) return out;
  const entries = (extra: string) =>
    `EXISTS (SELECT 1 FROM possync.changes c WHERE c.tbl = p.tbl AND ${windowSqlOf('p.fence', 'p.snap', '$4::xid8')}${extra} AND c.origin IS DISTINCT FROM $5)`;
  const { rows } = await client.query<{ i: number; reloaded: boolean; changed: boolean }>(
    `SELECT p.i::int AS i, ${entries(" AND c.op = 'T'")} AS reloaded, ${entries('')} AS changed
       FROM unnest($1::text[], $2::xid8[], $3::pg_snapshot[]) WITH ORDINALITY AS p(tbl, fence, snap, i)`,
    [tables.map((t) => changeLogName(schema, t.table)), tables.map((t) => t.from.fence), tables.map((t) => t.from.snapshot), to, terminalId],
  );
  for (const r of rows) out.set(tables[r.i - 1]!.table, { reloaded: r.reloaded, changed: r.changed });
  return out;
}

function fetchSql(cursor: string, limit: number): string {
  return `FETCH ${Math.floor(limit)} FROM ${cursor}`;
}

function toKeys(rows: ReadonlyArray<{ key: string[]; deleted_at: string | null }>): WindowKey[] {
  return rows.map((r) => ({ key: r.key, deletedAt: r.deleted_at }));
}

export interface WindowKey {
  /** Key values as Postgres prints them (col::text). */
  key: string[];
  /** When the last delete of this key in the window happened (timestamptz text), if any. */
  deletedAt: string | null;
}

/**
 * What changed in one table since the checkpoint's snapshot, in the pull's snapshot: every
 * transaction below `to` (the fence) has finished, so nothing can still appear behind it later. Changes this terminal
 * pushed itself are skipped unless someone else also touched the key (no echo).
 */
export class ChangeWindow {
  private readonly cursor: string;
  private constructor(
    private readonly client: PgClient,
    name: string,
  ) {
    this.cursor = name;
  }

  /**
   * Opens a server-side cursor over the window's distinct keys (streamed, never all in memory) and
   * fetches its first `limit` keys in the same round trip.
   */
  static async open(
    client: PgClient,
    schema: string,
    table: string,
    from: PullSnapshot,
    to: string,
    terminalId: string,
    n: number,
    limit: number,
  ): Promise<{ window: ChangeWindow; first: WindowKey[] }> {
    const name = `possync_window_${n}`;
    // DECLARE takes no bind parameters, so values are inlined through the literal quoting helper;
    // without parameters both statements go as one simple query, and each answers with a result.
    const results = (await client.query(
      `DECLARE ${name} NO SCROLL CURSOR FOR
         SELECT ARRAY(SELECT jsonb_array_elements_text(k.value)) AS key,
                max(c.at) FILTER (WHERE c.op = 'D')::text AS deleted_at
           FROM possync.changes c CROSS JOIN LATERAL jsonb_array_elements(c.keys) AS k
          WHERE c.tbl = ${pgLiteral(changeLogName(schema, table))} AND c.op <> 'T'
            AND ${windowSql(from, to)}
          GROUP BY k.value
         HAVING bool_or(c.origin IS DISTINCT FROM ${pgLiteral(terminalId)});
       ${fetchSql(name, limit)}`,
    )) as unknown as Array<{ rows: Array<{ key: string[]; deleted_at: string | null }> }>;
    const window = new ChangeWindow(client, name);
    return { window, first: toKeys(results[1]!.rows) };
  }

  async next(limit: number): Promise<WindowKey[]> {
    const { rows } = await this.client.query<{ key: string[]; deleted_at: string | null }>(fetchSql(this.cursor, limit));
    return toKeys(rows);
  }

  /** Closes the cursor; after an error the transaction is aborted and rolls the cursor back itself. */
  async close(): Promise<void> {
    await this.client.query(`CLOSE ${this.cursor}`).catch(() => {});
  }
}
