import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { SqliteGateway } from '../../src/db/sqlite/gateway.ts';
import { runSync } from '../../src/engine/run.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { verifySchemas } from '../../src/engine/verify.ts';
import { openSqlite } from '../support/db.ts';
import { expectInSync } from '../support/ledger.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// Cloud tables whose rows do not live in the table a statement names:
// - orders: the old inheritance partitioning, INSERT rules routing rows to yearly children
//   (ON CONFLICT is refused there, and COPY ignores rules);
// - events: a plain inheritance hierarchy, an archive child another app moves rows into (a unique
//   index is per table, so ON CONFLICT on the parent cannot see a key that lives in the child);
// - sales: PARTITION BY RANGE, keyed (sale_id, day), so ON CONFLICT works;
// - visits: PARTITION BY LIST (store_id), keyed by visit_id alone, unique per partition only.
const PG = `
CREATE TABLE store (store_id text PRIMARY KEY, name text NOT NULL);

CREATE TABLE orders (order_id text PRIMARY KEY, store_id text NOT NULL REFERENCES store, placed date NOT NULL, note text, updated_at timestamptz NOT NULL);
CREATE TABLE orders_2024 (CHECK (placed < '2025-01-01'), PRIMARY KEY (order_id), FOREIGN KEY (store_id) REFERENCES store) INHERITS (orders);
CREATE TABLE orders_2025 (CHECK (placed >= '2025-01-01'), PRIMARY KEY (order_id), FOREIGN KEY (store_id) REFERENCES store) INHERITS (orders);
CREATE RULE orders_2024_ins AS ON INSERT TO orders WHERE (NEW.placed < '2025-01-01') DO INSTEAD INSERT INTO orders_2024 VALUES (NEW.*);
CREATE RULE orders_2025_ins AS ON INSERT TO orders WHERE (NEW.placed >= '2025-01-01') DO INSTEAD INSERT INTO orders_2025 VALUES (NEW.*);

CREATE TABLE events (event_id text PRIMARY KEY, store_id text NOT NULL REFERENCES store, kind text NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE events_archive (PRIMARY KEY (event_id)) INHERITS (events);

CREATE TABLE sales (sale_id text NOT NULL, day date NOT NULL, store_id text NOT NULL REFERENCES store, amount numeric(10,2) NOT NULL,
  updated_at timestamptz NOT NULL, PRIMARY KEY (sale_id, day)) PARTITION BY RANGE (day);
CREATE TABLE sales_2024 PARTITION OF sales FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE sales_2025 PARTITION OF sales FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

CREATE TABLE visits (visit_id text NOT NULL, store_id text NOT NULL, note text, updated_at timestamptz NOT NULL) PARTITION BY LIST (store_id);
CREATE TABLE visits_s1 PARTITION OF visits (PRIMARY KEY (visit_id)) FOR VALUES IN ('S1');
CREATE TABLE visits_s2 PARTITION OF visits (PRIMARY KEY (visit_id)) FOR VALUES IN ('S2', 'S9');
`;
const SQLITE = `
CREATE TABLE store (store_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (order_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, placed TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);
CREATE TABLE events (event_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, kind TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE sales (sale_id TEXT NOT NULL, day TEXT NOT NULL, store_id TEXT NOT NULL, amount TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (sale_id, day));
CREATE TABLE visits (visit_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);
`;
const TABLES = [
  { name: 'store', pk: 'store_id', conflict: 'server-wins' },
  { name: 'orders', pk: 'order_id', updatedCol: 'updated_at' },
  { name: 'events', pk: 'event_id', updatedCol: 'updated_at' },
  { name: 'sales', pk: ['sale_id', 'day'], updatedCol: 'updated_at' },
  { name: 'visits', pk: 'visit_id', updatedCol: 'updated_at' },
];
const FK_MAP = { visits: [{ field: 'store_id', refTable: 'store' }] };

const T1 = '2026-01-10T10:00:00.000Z';
const T2 = '2026-01-11T10:00:00.000Z';
const T3 = '2026-01-12T10:00:00.000Z';

function table(r: RunResult, name: string, step: 'push' | 'pull' = 'push') {
  return r.tables.find((t) => t.table === name && t.step === step)!;
}

describe('cloud tables with INSERT rules, inheritance children and partitions', () => {
  let pair: Pair;
  let till: PairTerminal;
  let other: PairTerminal;
  const q = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => pair.db.query<R>(sql, params);
  /** Where each row lives: `table:key`. */
  const homes = async (parent: string, key: string) =>
    (await q<{ home: string }>(`SELECT tableoid::regclass::text || ':' || ${key} AS home FROM ${parent} ORDER BY 1`)).map((r) => r.home);

  beforeAll(async () => {
    pair = await createPair('routed', PG, SQLITE, { tables: TABLES, fkMap: FK_MAP, batchSize: 50 });
    till = pair.terminal('till-1');
    other = pair.terminal('till-2');
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  it('a first push into empty tables goes by the bulk path and lands every row where an INSERT would', async () => {
    const local = openSqlite(till.sqlitePath);
    local.exec(`
      INSERT INTO store VALUES ('S1', 'Main'), ('S2', 'Market');
      INSERT INTO orders VALUES ('o1', 'S1', '2024-06-01', 'old', '${T1}'), ('o2', 'S1', '2025-02-01', NULL, '${T1}'), ('o3', 'S2', '2025-03-01', NULL, '${T1}');
      INSERT INTO events VALUES ('e1', 'S1', 'open', '${T1}'), ('e2', 'S2', 'open', '${T1}');
      INSERT INTO sales VALUES ('s1', '2024-12-31', 'S1', '10.50', '${T1}'), ('s2', '2025-01-01', 'S1', '7.25', '${T1}');
      INSERT INTO visits VALUES ('v1', 'S1', NULL, '${T1}'), ('v2', 'S2', NULL, '${T1}');
    `);
    local.close();

    const r = await runSync(till.config, { direction: 'push' });
    expect(r.status, JSON.stringify(r.tables)).toBe('success');
    // COPY ignores rules: the rows went through a staging table and an INSERT the rules routed.
    expect(await homes('orders', 'order_id')).toEqual(['orders_2024:o1', 'orders_2025:o2', 'orders_2025:o3']);
    expect(await homes('events', 'event_id')).toEqual(['events:e1', 'events:e2']);
    expect(await homes('sales', 'sale_id')).toEqual(['sales_2024:s1', 'sales_2025:s2']);
    expect(await homes('visits', 'visit_id')).toEqual(['visits_s1:v1', 'visits_s2:v2']);
    // The bulk path logs one reload entry per range instead of keys.
    const ops = await q<{ tbl: string; ops: string }>(`SELECT tbl, string_agg(DISTINCT op::text, '') AS ops FROM possync.changes GROUP BY tbl ORDER BY tbl`);
    expect(ops.filter((o) => o.tbl !== 'public.store')).toEqual([
      { tbl: 'public.events', ops: 'T' },
      { tbl: 'public.orders', ops: 'T' },
      { tbl: 'public.sales', ops: 'T' },
      { tbl: 'public.visits', ops: 'T' },
    ]);
    // Capture triggers on every child and partition as well as on the parents.
    const covered = await q<{ rel: string; n: number }>(
      `SELECT c.relname AS rel, count(*)::int AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'possync%' GROUP BY 1 ORDER BY 1`,
    );
    expect(Object.fromEntries(covered.map((c) => [c.rel, c.n]))).toMatchObject({
      orders: 5, orders_2024: 5, orders_2025: 5, events: 5, events_archive: 5, sales: 5, sales_2024: 5, sales_2025: 5, visits: 5, visits_s1: 5, visits_s2: 5,
    });
    expect(table(await runSync(till.config, { direction: 'both' }), 'orders')).toMatchObject({ inserted: 0, updated: 0 });
  });

  it('a terminal pulls rows that other apps write straight into children and partitions, or through the rules', async () => {
    expect((await runSync(other.config, { direction: 'pull' })).status).toBe('success');
    await q(`INSERT INTO orders_2024 VALUES ('o4', 'S2', '2024-07-01', 'back office', '${T2}')`);
    await q(`INSERT INTO orders VALUES ('o5', 'S2', '2025-07-01', 'web shop', '${T2}')`); // routed by a rule
    await q(`UPDATE orders_2025 SET note = 'edited', updated_at = '${T2}' WHERE order_id = 'o3'`);
    await q(`DELETE FROM orders_2025 WHERE order_id = 'o2'`);
    await q(`WITH moved AS (DELETE FROM ONLY events WHERE event_id = 'e1' RETURNING *) INSERT INTO events_archive SELECT * FROM moved`);
    await q(`INSERT INTO events_archive VALUES ('e3', 'S1', 'audit', '${T2}')`);
    await q(`INSERT INTO sales_2025 VALUES ('s3', '2025-05-05', 'S2', '3.00', '${T2}')`);
    await q(`UPDATE visits_s2 SET note = 'seen', updated_at = '${T2}' WHERE visit_id = 'v2'`);

    const r = await runSync(other.config, { direction: 'pull' });
    expect(r.status).toBe('success');
    const local = openSqlite(other.sqlitePath);
    expect(local.prepare(`SELECT order_id, note FROM orders ORDER BY order_id`).all()).toEqual([
      { order_id: 'o1', note: 'old' },
      { order_id: 'o3', note: 'edited' },
      { order_id: 'o4', note: 'back office' },
      { order_id: 'o5', note: 'web shop' },
    ]);
    expect(local.prepare(`SELECT event_id FROM events ORDER BY event_id`).all()).toEqual([{ event_id: 'e1' }, { event_id: 'e2' }, { event_id: 'e3' }]);
    expect(local.prepare(`SELECT sale_id FROM sales ORDER BY sale_id`).all()).toEqual([{ sale_id: 's1' }, { sale_id: 's2' }, { sale_id: 's3' }]);
    expect(local.prepare(`SELECT note FROM visits WHERE visit_id = 'v2'`).get()).toEqual({ note: 'seen' });
    local.close();
    await expectInSync(other.config);
  });

  it('row by row into non-empty tables: updates reach the child that holds the row, new rows go where the rules send them', async () => {
    const local = openSqlite(other.sqlitePath);
    local.exec(`
      UPDATE orders SET note = 'till edit', updated_at = '${T3}' WHERE order_id IN ('o1', 'o4');
      INSERT INTO orders VALUES ('o6', 'S1', '2024-08-08', 'new old-year order', '${T3}'), ('o7', 'S1', '2025-08-08', NULL, '${T3}');
      UPDATE events SET kind = 'closed', updated_at = '${T3}' WHERE event_id IN ('e1', 'e3');
      INSERT INTO events VALUES ('e4', 'S1', 'open', '${T3}');
      UPDATE sales SET amount = '11.00', updated_at = '${T3}' WHERE sale_id = 's1';
      INSERT INTO sales VALUES ('s4', '2024-02-02', 'S2', '1.00', '${T3}');
      UPDATE visits SET note = 'again', updated_at = '${T3}' WHERE visit_id = 'v1';
      INSERT INTO visits VALUES ('v3', 'S2', NULL, '${T3}');
      DELETE FROM orders WHERE order_id = 'o5';
    `);
    local.close();

    const r = await runSync(other.config, { direction: 'push' });
    expect(r.status, JSON.stringify(r.tables)).toBe('success');
    expect(table(r, 'orders')).toMatchObject({ inserted: 2, updated: 2, deleted: 1 });
    expect(table(r, 'events')).toMatchObject({ inserted: 1, updated: 2 });
    expect(await homes('orders', 'order_id')).toEqual(['orders_2024:o1', 'orders_2024:o4', 'orders_2024:o6', 'orders_2025:o3', 'orders_2025:o7']);
    expect(await q(`SELECT order_id, note FROM orders WHERE order_id IN ('o1', 'o4') ORDER BY 1`)).toEqual([
      { order_id: 'o1', note: 'till edit' },
      { order_id: 'o4', note: 'till edit' },
    ]);
    // Updated where it lives: no second copy of e1 or e3 in the parent.
    expect(await homes('events', 'event_id')).toEqual(['events:e2', 'events:e4', 'events_archive:e1', 'events_archive:e3']);
    expect(await q(`SELECT event_id, kind FROM events WHERE kind = 'closed' ORDER BY 1`)).toEqual([
      { event_id: 'e1', kind: 'closed' },
      { event_id: 'e3', kind: 'closed' },
    ]);
    expect(await homes('sales', 'sale_id')).toEqual(['sales_2024:s1', 'sales_2024:s4', 'sales_2025:s2', 'sales_2025:s3']);
    expect(await homes('visits', 'visit_id')).toEqual(['visits_s1:v1', 'visits_s2:v2', 'visits_s2:v3']);
    // The first terminal gets all of it; nothing comes back to the one that pushed.
    expect((await runSync(till.config, { direction: 'both' })).status).toBe('success');
    await expectInSync(till.config);
    const again = await runSync(other.config, { direction: 'both' });
    expect(again.tables.reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0)).toBe(0);
  });

  it('conflicts and deferrals behave as on a plain table', async () => {
    // The back office edits o6 in its child after the till did; the till's older edit loses.
    const T0 = '2026-01-12T09:00:00.000Z';
    await q(`UPDATE orders_2024 SET note = 'office wins', updated_at = '2026-01-13T10:00:00.000Z' WHERE order_id = 'o6'`);
    const local = openSqlite(till.sqlitePath);
    local.exec(`
      UPDATE orders SET note = 'till loses', updated_at = '${T0}' WHERE order_id = 'o6';
      INSERT INTO orders VALUES ('o8', 'S9', '2025-09-09', 'store not there yet', '${T3}');
      INSERT INTO visits VALUES ('v9', 'S9', NULL, '${T3}');
    `);
    local.close();
    const r = await runSync(till.config, { direction: 'push' });
    expect(table(r, 'orders')).toMatchObject({ conflicts: 1, deferred: 1 });
    expect(table(r, 'orders').reasons).toEqual(['orders:o8 waits for store_id → store[S9]']);
    expect(table(r, 'visits')).toMatchObject({ deferred: 1 });
    expect(await q(`SELECT note FROM orders WHERE order_id = 'o6'`)).toEqual([{ note: 'office wins' }]);
    expect(openSqlite(till.sqlitePath).prepare(`SELECT note FROM orders WHERE order_id = 'o6'`).get()).toEqual({ note: 'office wins' });
    expect(await q(`SELECT winner, local_row->>'note' AS lost FROM possync.conflicts WHERE tbl = 'orders'`)).toEqual([{ winner: 'server', lost: 'till loses' }]);

    // The store arrives from the cloud: the next run applies the waiting rows into their children.
    await q(`INSERT INTO store VALUES ('S9', 'Kiosk')`);
    const next = await runSync(till.config, { direction: 'both' });
    expect(next.status, JSON.stringify(next.tables)).toBe('success');
    expect(await homes('orders', 'order_id')).toContain('orders_2025:o8');
    expect(await homes('visits', 'visit_id')).toContain('visits_s2:v9');
    await expectInSync(till.config);
  });

  it('a child created later is covered by the next run, and rows written into it before that still reach the terminals', async () => {
    await q(`CREATE TABLE orders_2026 (CHECK (placed >= '2026-01-01'), PRIMARY KEY (order_id)) INHERITS (orders)`);
    await q(`ALTER TABLE orders_2025 ADD CHECK (placed < '2026-01-01')`);
    await q(`CREATE OR REPLACE RULE orders_2025_ins AS ON INSERT TO orders WHERE (NEW.placed >= '2025-01-01' AND NEW.placed < '2026-01-01') DO INSTEAD INSERT INTO orders_2025 VALUES (NEW.*)`);
    await q(`CREATE RULE orders_2026_ins AS ON INSERT TO orders WHERE (NEW.placed >= '2026-01-01') DO INSTEAD INSERT INTO orders_2026 VALUES (NEW.*)`);
    await q(`INSERT INTO orders VALUES ('o9', 'S1', '2026-02-01', 'before possync saw the child', '${T3}')`);
    const r = await runSync(till.config, { direction: 'both' });
    expect(r.status).toBe('success');
    expect(openSqlite(till.sqlitePath).prepare(`SELECT note FROM orders WHERE order_id = 'o9'`).get()).toEqual({ note: 'before possync saw the child' });
    await q(`INSERT INTO orders_2026 VALUES ('o10', 'S1', '2026-03-01', 'after', '${T3}')`);
    expect((await runSync(other.config, { direction: 'both' })).status).toBe('success');
    expect(openSqlite(other.sqlitePath).prepare(`SELECT order_id FROM orders WHERE order_id IN ('o9', 'o10') ORDER BY 1`).all()).toEqual([{ order_id: 'o10' }, { order_id: 'o9' }]);
    await expectInSync(other.config);
  });

  it('verify-schemas names the path each table takes, and finds nothing drifting', async () => {
    const pg = await PgGateway.connect(till.config.postgresUrl);
    const sqlite = SqliteGateway.open(till.config.sqlitePath, { readonly: true });
    try {
      const findings = await verifySchemas(till.config, pg, sqlite.db);
      expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
      const paths = Object.fromEntries(findings.filter((f) => f.code === 'write-path').map((f) => [f.table, f.message]));
      expect(paths.orders).toMatch(/^orders: INSERT rules route rows to children, and Postgres refuses ON CONFLICT there: pushes use update-then-insert; a first push COPYs into a staging table/);
      expect(paths.events).toMatch(/^events: rows may live in its 1 inheritance child, .*: pushes use update-then-insert$/);
      expect(paths.sales).toMatch(/^sales: partitioned, and its key \(sale_id, day\) is a unique index over every partition: pushes use INSERT … ON CONFLICT$/);
      expect(paths.visits).toMatch(/^visits: partitioned, and no unique index of it is exactly its key \(visit_id\).*: pushes use update-then-insert$/);
      expect(paths.store).toBeUndefined();
    } finally {
      sqlite.close();
      await pg.close();
    }
  });
});
