import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';
import { backendPid } from '../support/pg-locks.ts';

// possync's first run installs capture triggers, DDL that needs a lock every writer of the table
// conflicts with. A back-office session has written the table and left its transaction open.
// possync must give up within its bound and name that session, and while it tries, the table's
// other writers (a web shop inserting orders) must never wait more than a few seconds: a DDL
// statement waiting in Postgres' lock queue would make them queue behind it. Once the back office
// commits, the next run installs and converges.
const PG = `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL DEFAULT now());
INSERT INTO items (id, name) SELECT g, 'item ' || g FROM generate_series(1, 10) g;`;
const SQLITE = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);`;
const DDL_LOCK_SECONDS = 1;

describe('a first run meets an open transaction that wrote a synced table', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    db = await createTestPg('install_lock');
    await db.query(PG);
    tmp = tempDir();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await db.drop();
    tmp.cleanup();
  });

  const session = async (app: string) => {
    const c = new pg.Client({ connectionString: db.url, application_name: app });
    await c.connect();
    clients.push(c);
    return c;
  };

  it('gives up within its bound naming the blocker, never holds the other writers up, and converges after', async () => {
    const sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    const configPath = path.join(tmp.dir, 'till.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({ sqlite: { path: sqlitePath }, postgres: { url: db.url, ddlLockTimeoutSeconds: DDL_LOCK_SECONDS }, terminalId: 'till', tables: [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }] }),
    );
    const trigger = async () => {
      const started = Date.now();
      const r = await runCli(['trigger', '--direction', 'both', '--json', '--config', configPath], { cwd: tmp.dir, timeoutMs: 120_000 });
      return { ...r, ms: Date.now() - started, result: JSON.parse(r.stdout) as RunResult };
    };

    const backOffice = await session('backoffice');
    const blockerPid = await backendPid(backOffice);
    await backOffice.query(`BEGIN; UPDATE items SET name = 'changed by the back office', updated_at = now() WHERE id = 1`);

    // The web shop inserts all along and times each statement.
    const shop = await session('webshop');
    let nextId = 1000;
    let slowest = 0;
    let writes = 0;
    let writing = true;
    const shopLoop = (async () => {
      while (writing) {
        const t0 = Date.now();
        await shop.query(`INSERT INTO items (id, name) VALUES ($1, 'web order')`, [nextId++]);
        slowest = Math.max(slowest, Date.now() - t0);
        writes++;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const blocked = await trigger();
    writing = false;
    await shopLoop;

    expect(blocked.code, blocked.stderr).toBe(1);
    expect(blocked.result.errorCode).toBe('BLOCKED');
    expect(blocked.stderr.trim().split('\n')).toHaveLength(1);
    expect(blocked.stderr).toContain(`pid ${blockerPid}`);
    expect(blocked.stderr).toContain('application "backoffice"');
    expect(blocked.stderr).toMatch(/transaction open since/);
    // Three tries of 1 s with pauses, plus process start: well within the bound a till needs.
    expect(blocked.ms).toBeLessThan(15_000);
    // The shop kept writing, and no single write waited more than a few seconds.
    expect(writes).toBeGreaterThan(20);
    expect(slowest).toBeLessThan(DDL_LOCK_SECONDS * 1000 + 1_500);

    await backOffice.query('COMMIT');
    const after = await trigger();
    expect(after.code, after.stderr).toBe(0);
    const till = openSqlite(sqlitePath);
    try {
      expect((till.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n).toBe(10 + writes);
      expect((till.prepare('SELECT name FROM items WHERE id = 1').get() as { name: string }).name).toBe('changed by the back office');
    } finally {
      till.close();
    }
  });
});
