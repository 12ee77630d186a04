import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { runSync } from '../../src/engine/run.ts';
import { expectInSync } from '../support/ledger.ts';
import { pruneChangeLog } from '../../src/engine/retention.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

const PG = `CREATE TABLE items (id text PRIMARY KEY, label text NOT NULL, updated_at timestamptz(3) NOT NULL)`;
const SQLITE = `CREATE TABLE items (id TEXT PRIMARY KEY, label TEXT NOT NULL, updated_at TEXT NOT NULL)`;

describe('change-log retention', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  const terminal = (name: string) => {
    const file = path.join(tmp.dir, `${name}.sqlite`);
    createSqliteFile(file, SQLITE);
    return makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: name, retentionDays: 30, tables: [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }] }, tmp.dir);
  };
  /**
   * The pull fence is the server's oldest open transaction, and xids are server-wide: while
   * another test file holds a transaction open, no pull can pass the changes made after it began,
   * and pruning rightly keeps them. Wait (bounded) until every change here is below the fence.
   */
  const fencePassesChanges = async () => {
    const deadline = Date.now() + 45_000;
    for (;;) {
      const [r] = await db.query<{ ok: boolean }>(
        `SELECT coalesce(pg_snapshot_xmin(pg_current_snapshot()) > (SELECT max(xid) FROM possync.changes), true) AS ok`,
      );
      if (r!.ok) return;
      if (Date.now() > deadline) throw new Error('another transaction kept the pull fence below this test\'s changes for 45 s');
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  const changeCount = async () => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM possync.changes`))[0]!.n);

  beforeAll(async () => {
    db = await createTestPg('retention');
    await db.query(PG);
    tmp = tempDir();
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('prunes what every active terminal has pulled; a terminal silent too long resyncs key by key on return', async () => {
    const a = terminal('till-a');
    const b = terminal('till-b');
    for (let i = 0; i < 5; i++) await db.query(`INSERT INTO items VALUES ($1, 'v0', now())`, [`k${i}`]);
    expect((await runSync(a, { direction: 'both' })).status).toBe('success');
    expect((await runSync(b, { direction: 'both' })).status).toBe('success');

    // While b is away, the cloud changes, deletes and adds rows; a keeps pulling.
    await db.query(`UPDATE items SET label = 'v1', updated_at = now() WHERE id IN ('k0', 'k1')`);
    await db.query(`DELETE FROM items WHERE id = 'k2'`);
    await db.query(`INSERT INTO items VALUES ('k9', 'new', now())`);
    await fencePassesChanges();
    expect((await runSync(a, { direction: 'both' })).status).toBe('success');

    // b still holds pruning back: its checkpoint is older than those changes.
    const gw = await PgGateway.connect(db.url);
    try {
      await pruneChangeLog(gw, 30, { force: true });
      expect(await changeCount()).toBeGreaterThan(0);

      // b has been silent for longer than retentionDays: it no longer holds pruning back.
      await db.query(`UPDATE possync.terminals SET last_seen = now() - interval '31 days' WHERE terminal_id = 'till-b'`);
      await pruneChangeLog(gw, 30, { force: true });
      expect(await changeCount()).toBe(0);
    } finally {
      await gw.close();
    }

    // b returns: its checkpoint is below the pruned horizon, so it resyncs instead of missing rows.
    const back = await runSync(b, { direction: 'both' });
    expect(back.status).toBe('success');
    const local = openSqlite(b.sqlitePath);
    expect(local.prepare(`SELECT id, label FROM items ORDER BY id`).all()).toEqual([
      { id: 'k0', label: 'v1' },
      { id: 'k1', label: 'v1' },
      { id: 'k3', label: 'v0' },
      { id: 'k4', label: 'v0' },
      { id: 'k9', label: 'new' },
    ]);
    local.close();
    await expectInSync(b);
  });

  it('keeps the change log bounded over many cycles', async () => {
    const a = terminal('till-c');
    expect((await runSync(a, { direction: 'both' })).status).toBe('success');
    const gw = await PgGateway.connect(db.url);
    try {
      await db.query(`UPDATE possync.terminals SET last_seen = now() - interval '90 days' WHERE terminal_id <> 'till-c'`);
      for (let cycle = 0; cycle < 20; cycle++) {
        await db.query(`UPDATE items SET updated_at = now(), label = $1`, [`c${cycle}`]);
        if (cycle === 19) await fencePassesChanges();
        expect((await runSync(a, { direction: 'pull' })).status).toBe('success');
        await pruneChangeLog(gw, 30, { force: true });
      }
      // Only what till-c has not pulled yet (nothing) may remain.
      expect(await changeCount()).toBeLessThanOrEqual(1);
    } finally {
      await gw.close();
    }
  });
});
