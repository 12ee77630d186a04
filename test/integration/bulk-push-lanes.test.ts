import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { runAndKill } from '../support/crash.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// A first push into an empty Postgres table goes by COPY in 50,000-row ranges, two in flight on
// two connections. Ranges must still commit in order: the scan checkpoint written with a range
// says "everything up to here is in Postgres", so a range may not commit before the one in front
// of it. 130,000 rows make three ranges.
const N = 130_000;
const PG = `CREATE TABLE items (id uuid PRIMARY KEY, n int NOT NULL, label text NOT NULL, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL, label TEXT NOT NULL, updated_at TEXT NOT NULL);`;
const id = (n: number) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

describe('bulk first push on two lanes', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let configPath: string;

  beforeEach(async () => {
    db = await createTestPg('lanes');
    await db.query(PG);
    tmp = tempDir();
    file = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(file, SQLITE);
    const local = openSqlite(file);
    local.exec(`WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ${N})
      INSERT INTO items SELECT printf('%08x-0000-4000-8000-%012x', n, n), n, 'item ' || n, '2026-11-24T00:00:00.000Z' FROM c`);
    local.close();
    configPath = path.join(tmp.dir, 'possync.config.json');
    fs.writeFileSync(configPath, JSON.stringify({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: 'till-1', tables: [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }] }));
  });
  afterEach(async () => {
    await db.drop();
    tmp.cleanup();
  });

  const config = () => makeConfig(JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>, tmp.dir);
  const counts = async () => (await db.query<{ rows: number; total: string }>(`SELECT count(*)::int AS rows, coalesce(sum(n), 0)::text AS total FROM items`))[0]!;
  const expected = { rows: N, total: String((N * (N + 1)) / 2) };

  it('every row arrives once, by COPY, in three ranges; a second run moves nothing', async () => {
    const r = await runSync(config(), { direction: 'push' });
    expect(r.status).toBe('success');
    expect(r.tables[0]).toMatchObject({ inserted: N, rejected: 0 });
    expect(await counts()).toEqual(expected);
    expect(await db.query(`SELECT count(*)::int AS n FROM possync.changes WHERE op = 'T'`)).toEqual([{ n: 3 }]);
    const again = await runSync(config(), { direction: 'push' });
    expect(again.tables[0]).toMatchObject({ inserted: 0, updated: 0 });
  });

  // Range ends come from rowid arithmetic when at least half of the rowids are in use, and from
  // walking the rows otherwise; either way each row must arrive once.
  it('rowids with gaps: ranges by rowid arithmetic hold fewer rows, every row arrives once', async () => {
    const local = openSqlite(file);
    local.prepare(`DELETE FROM items WHERE n % 4 = 0 OR n BETWEEN 60000 AND 70000`).run();
    const left = local.prepare(`SELECT count(*) AS rows, sum(n) AS total FROM items`).get() as { rows: number; total: number };
    local.close();
    const r = await runSync(config(), { direction: 'push' });
    expect(r.tables[0]).toMatchObject({ inserted: left.rows, rejected: 0 });
    expect(await counts()).toEqual({ rows: left.rows, total: String(left.total) });
    // 130,000 rowids in ranges of 50,000: still three ranges, each by COPY.
    expect(await db.query(`SELECT count(*)::int AS n FROM possync.changes WHERE op = 'T'`)).toEqual([{ n: 3 }]);
  });

  it('sparse rowids: ranges found by walking the rows, every row arrives once', async () => {
    const local = openSqlite(file);
    local.prepare(`UPDATE items SET rowid = rowid * 1000 WHERE n > 100000`).run();
    local.close();
    const r = await runSync(config(), { direction: 'push' });
    expect(r.tables[0]).toMatchObject({ inserted: N, rejected: 0 });
    expect(await counts()).toEqual(expected);
    expect(await db.query(`SELECT count(*)::int AS n FROM possync.changes WHERE op = 'T'`)).toEqual([{ n: 3 }]);
  });

  it('a bad value in the middle range: that range goes row by row, the rest still arrives', async () => {
    const local = openSqlite(file);
    local.prepare(`UPDATE items SET n = 'not a number' WHERE n = 75000`).run();
    local.close();
    const r = await runSync(config(), { direction: 'push' });
    expect(r.tables[0]).toMatchObject({ inserted: N - 1, rejected: 1 });
    expect(r.tables[0]!.reasons[0]).toMatch(/not a number/);
    expect((await counts()).rows).toBe(N - 1);
    expect(await db.query(`SELECT count(*)::int AS n FROM items WHERE id = $1`, [id(75000)])).toEqual([{ n: 0 }]);
  });

  it('a later range never commits before an earlier one: killed while the first range is slow, nothing is lost', async () => {
    // The first range stalls on one row; the second range's COPY finishes meanwhile and must wait.
    await db.query(`CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.n = 10 THEN PERFORM pg_sleep(8); END IF; RETURN NEW; END $$;
      CREATE TRIGGER slow_row BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION slow_row();`);
    const killed = await runAndKill(configPath, file, 5_000, 'push');
    expect(killed.killed).toBe(true);
    // Killed while the first range slept: neither range may have committed.
    await db.query(`SELECT pg_sleep(0.5)`); // let the server notice the dead connection and roll back
    expect((await counts()).rows).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM possync.system_settings WHERE setting_key LIKE 'sync.checkpoint.%.push.items'`)).toEqual([{ n: 0 }]);

    await db.query(`DROP TRIGGER slow_row ON items`);
    const r = await runSync(config(), { direction: 'push' });
    expect(r.status).toBe('success');
    expect(await counts()).toEqual(expected);
  });
});
