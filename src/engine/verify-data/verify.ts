import type { PgClient, PgGateway } from '../../db/postgres/gateway.ts';
import { rethrowPermission } from '../../db/postgres/privileges.ts';
import { fetchRows } from '../../db/postgres/rows.ts';
import type { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { pulledSnapshot, readPushCheckpoint } from '../checkpoints.ts';
import { readLocalVersions } from '../push/prepare.ts';
import { rowsEqual, type WireRow } from '../decide.ts';
import { keyString, parseKey } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { pgRef, wireFromPgRow } from '../push/apply.ts';
import { same } from '../values/codec.ts';
import { sameSum } from './checksum.ts';
import { cloudBuckets, cloudLeavesByKey, unpulledKeys } from './cloud.ts';
import { queueRepairs, type RepairItem } from './repair.ts';
import { countKinds, type TableVerification, type VerifyDataResult } from './report.ts';
import { tillBuckets, tillInFlight, tillLeaves, tillScanOf, type TillRow } from './till.ts';

export interface VerifyDataOptions {
  /** Config table names to compare (default: all). */
  tables?: readonly string[];
  repair?: boolean;
  /** Target rows per bucket: differing buckets are compared row by row (key + hash). */
  bucketRows?: number;
  /** Worker threads for the till's scan (default: the CPUs, at most 4; below 2, none). */
  tillWorkers?: number;
  /** Rows from which the till's scan uses worker threads (default 100,000). */
  parallelFrom?: number;
}

/**
 * Compares the till and the cloud table by table without moving every row:
 *  1. both sides hash every row in its normal form (normal-form.ts; the cloud in SQL, the till
 *     from a text SQLite builds for common spellings, till-sql.ts, or else in JS from the push's
 *     own conversion) and sum the hashes per bucket (chosen by the hash itself, checksum.ts);
 *  2. buckets whose sums differ are split into their rows: the till's rows of those buckets are
 *     hashed again through the push's conversion, and the cloud sends key + hash of its rows
 *     with those keys (and the keys in flight); only when that does not account for a bucket's
 *     whole sum (rows the till lacks) does the cloud hash the table again (cloud.ts);
 *  3. rows whose hashes differ are fetched in full and compared with the sync's own rowsEqual,
 *     so what is reported is exactly what the sync would call unequal.
 * Rows with a change still in flight (pending on the till, unpulled above this till's pull
 * checkpoint) are left out; scope and direction are the table's.
 */
export async function verifyData(pg: PgGateway, sqlite: SqliteGateway, plan: SyncPlan, options: VerifyDataOptions = {}): Promise<VerifyDataResult> {
  const chosen = options.tables ? plan.tables.filter((t) => options.tables!.includes(t.name)) : plan.tables;
  const tables: TableVerification[] = [];
  // Before a till's first run there is nothing to compare (and no change log or checkpoints).
  const installed = ['system_settings', '_possync_changes', '_possync_held'].every(
    (name) => sqlite.db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) !== undefined,
  );
  for (const t of chosen) {
    // A table possync's role may not read stops the run as the sync's own reads do: PERMISSION,
    // naming the table and the GRANT (exit 2), not a bare Postgres error.
    if (installed) tables.push(await verifyTable(pg, sqlite, plan, t, options).catch(rethrowPermission(pg.pool, 'sync', plan.schema)));
    else tables.push({ ...emptyResult(t), status: 'skipped', note: 'possync has not run on this till yet: run trigger first' });
  }
  return { ok: tables.every((t) => t.status !== 'different'), tables };
}

function emptyResult(t: TablePlan): TableVerification {
  return {
    table: t.name,
    label: t.label,
    direction: t.direction,
    status: 'equal',
    tillRows: 0,
    cloudRows: 0,
    missing: 0,
    extra: 0,
    different: 0,
    rows: [],
    inFlight: 0,
    transfer: { buckets: 0, hashedRows: 0, fullRows: 0, cloudPasses: 0 },
    tillThreads: 0,
    durationMs: 0,
  };
}

/** Buckets: a power of two giving about `per` rows each (at least 1, at most 2^20). */
function bucketCount(rows: number, per: number): number {
  let n = 1;
  while (n < 1 << 20 && n * per < rows) n *= 2;
  return n;
}

async function verifyTable(pg: PgGateway, sqlite: SqliteGateway, plan: SyncPlan, t: TablePlan, options: VerifyDataOptions): Promise<TableVerification> {
  const started = Date.now();
  const result = emptyResult(t);
  const db = sqlite.db;
  const pulled = t.direction === 'push' ? undefined : pulledSnapshot(db, plan.terminalId, t.name);
  const skip = (note: string) => Object.assign(result, { status: 'skipped', note, durationMs: Date.now() - started });
  if (t.direction !== 'push' && !pulled) return skip('not pulled yet, or a resync is in progress: run trigger first');
  if (t.direction !== 'pull' && (await readPushCheckpoint(pg.pool, plan.terminalId, t.name))?.scan !== 'done') {
    return skip("the till's first push has not finished: run trigger first");
  }
  const scan = tillScanOf(db, t, sqlite.path, { workers: options.tillWorkers, parallelFrom: options.parallelFrom });
  const buckets = bucketCount(scan.rowsAbout, options.bucketRows ?? 64);

  const repairs: RepairItem[] = [];
  const reloaded = await pg.tx(
    async (client) => {
      // The cloud's snapshot is taken by this first statement; its unpulled keys come from it too.
      // A cloud edit made since the till was scanned is in that log, so it is left out as unpulled.
      // Both sides hash at the same time: Postgres runs its query while this process reads the
      // till. The run lock (held by the caller) keeps any pull from moving the checkpoint, so the
      // order of the two does not matter: a cloud edit either is in this snapshot and its log
      // (unpulled, left out) or in neither (the till cannot have it either).
      const cloudQuery = Promise.all([
        cloudBuckets(client, plan.schema, t, buckets),
        pulled ? unpulledKeys(client, plan.schema, t, pulled) : { keys: new Set<string>(), reloaded: false },
      ]);
      let answered = false;
      let failed: { err: unknown } | undefined;
      let lastStatement = Date.now();
      // Also what keeps a failure from being an unhandled rejection until it is awaited below.
      void cloudQuery.then(
        () => ((answered = true), (lastStatement = Date.now())),
        (err: unknown) => (failed = { err }),
      );
      const till = await tillBuckets(db, plan, t, buckets, scan, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        // The cloud's half failed (link lost, server gone, lock timeout): the run ends with that
        // error now, not after the rest of a long till scan.
        if (failed) throw failed.err;
        // A long till scan must not leave this transaction idle past idle_in_transaction_session_timeout.
        if (answered && Date.now() - lastStatement > 10_000) {
          await client.query('SELECT 1');
          lastStatement = Date.now();
        }
      });
      // Read after the scan: an edit made while it ran is captured with the edit, so it is here.
      const inFlight = tillInFlight(db, t);
      const [cloudSums, unpulled] = await cloudQuery;
      if (unpulled.reloaded) return true;
      result.tillRows = till.rows;
      result.tillThreads = till.threads;
      for (const s of cloudSums.values()) result.cloudRows += s.n;
      result.transfer.buckets = cloudSums.size;

      const differing = [...new Set([...cloudSums.keys(), ...till.sums.keys()])].filter((b) => !sameSum(cloudSums.get(b), till.sums.get(b)));
      // The till's rows of those buckets; the cloud's are found by their keys and the keys in
      // flight (a row the till deleted and has not pushed yet), so the table is not hashed again
      // unless the cloud has rows there under keys no one here knows.
      const tillRows = tillLeaves(db, plan, t, buckets, new Set(differing), till.byRowid);
      const lookup = new Set([...tillRows.map((r) => r.key), ...unpulled.keys, ...inFlight.keys]);
      const { leaves: cloud, hashed, passes } = await cloudLeavesByKey(client, plan, t, buckets, differing, cloudSums, [...lookup]);
      result.transfer.hashedRows = hashed;
      result.transfer.cloudPasses = 1 + passes;
      const busy = (key: string, lkey?: string) => unpulled.keys.has(key) || inFlight.keys.has(key) || (lkey !== undefined && inFlight.lkeys.has(lkey));

      const candidates: TillRow[] = [];
      const onlyCloud: string[] = [];
      const seen = new Set<string>();
      for (const row of tillRows) {
        seen.add(row.key);
        const rh = cloud.get(row.key);
        if (busy(row.key, row.lkey)) result.inFlight += 1;
        else if (rh === undefined || rh !== row.rh) candidates.push(row);
      }
      for (const key of cloud.keys()) {
        if (seen.has(key)) continue;
        if (busy(key)) result.inFlight += 1;
        else if (t.direction !== 'push') onlyCloud.push(key);
      }

      // Only rows whose hashes differ are read in full, from this same snapshot.
      const wanted = [...candidates.filter((c) => cloud.has(c.key)).map((c) => c.key), ...onlyCloud];
      const full = await fetchCloud(client, plan, t, wanted);
      result.transfer.fullRows = full.size;
      const local = readLocalVersions(db, plan, t, candidates.filter((c) => c.rh !== undefined && cloud.has(c.key)).map((c) => c.lkey));
      // The till was read again after the change log was (pass 2 and the rows above): a row the
      // POS app edited in between was compared in its new version but is not in that log read.
      // Its entry is in the log now, written with the edit, so reading the log last leaves it out.
      const late = tillInFlight(db, t);
      const editedSince = (key: string, lkey?: string) => late.keys.has(key) || (lkey !== undefined && late.lkeys.has(lkey));

      for (const key of onlyCloud) {
        if (editedSince(key)) {
          result.inFlight += 1;
          continue;
        }
        const row = full.get(key);
        // A tombstone only the cloud keeps is not a row the till lacks (see compareSides).
        if (!row || (t.deleted && row[t.deleted.pg] !== null)) continue;
        result.rows.push({ key, kind: 'missing' });
        repairs.push({ key, lkey: undefined, kind: 'missing' });
      }
      for (const c of candidates) {
        if (editedSince(c.key, c.lkey)) {
          result.inFlight += 1;
          continue;
        }
        const cloudRow = full.get(c.key);
        if (!cloud.has(c.key)) {
          result.rows.push({ key: c.key, kind: 'extra', ...(c.unreadable ? { reason: c.unreadable } : {}) });
          repairs.push({ key: c.key, lkey: c.lkey, kind: 'extra' });
          continue;
        }
        if (!cloudRow) continue; // gone from scope between statements of this snapshot: cannot happen, but never guess
        if (c.unreadable) {
          result.rows.push({ key: c.key, kind: 'different', reason: c.unreadable });
          continue;
        }
        const tillRow = local.get(c.lkey)?.row;
        if (!tillRow || rowsEqual(t.columns, tillRow, cloudRow)) continue; // only the hash's normal form differed
        const columns = t.columns.filter((col) => !same(col.codec, tillRow[col.pg] ?? null, cloudRow[col.pg] ?? null)).map((col) => col.pg);
        result.rows.push({ key: c.key, kind: 'different', columns });
        repairs.push({
          key: c.key,
          lkey: c.lkey,
          kind: 'different',
          localVersion: t.updated ? (tillRow[t.updated.pg] ?? null) : null,
          cloudVersion: t.updated ? (cloudRow[t.updated.pg] ?? null) : null,
        });
      }
      return false;
    },
    { isolation: 'repeatable read', readOnly: true },
  );
  if (reloaded) return skip('the cloud table was reloaded (TRUNCATE or bulk load) since the last pull: run trigger first');

  result.rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  Object.assign(result, countKinds(result.rows));
  result.status = result.rows.length > 0 ? 'different' : 'equal';
  if (options.repair && repairs.length > 0) result.repaired = queueRepairs(db, t, repairs, new Date().toISOString());
  result.durationMs = Date.now() - started;
  return result;
}

async function fetchCloud(client: PgClient, plan: SyncPlan, t: TablePlan, keys: readonly string[]): Promise<Map<string, WireRow>> {
  const out = new Map<string, WireRow>();
  const columns = t.columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
  for (let i = 0; i < keys.length; i += 1000) {
    const rows = await fetchRows(client, pgRef(plan, t), columns, keys.slice(i, i + 1000).map(parseKey), scope);
    for (const r of rows) {
      const w = wireFromPgRow(t, r);
      out.set(keyString(t.key.map((k) => w[k.pg] ?? '')), w);
    }
  }
  return out;
}

