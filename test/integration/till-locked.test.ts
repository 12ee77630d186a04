import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// The POS app holds a write transaction on the till database for longer than possync's busy
// timeout (15 s) in the middle of a run. possync must stop the run there with one line and exit 1
// (LOCKED: the next run goes on), rather than wait the timeout again for every later table, and
// the run after the app lets go must converge.
const PG = `CREATE TABLE a (id int PRIMARY KEY, v text, updated_at timestamptz(3) NOT NULL DEFAULT now());
CREATE TABLE b (id int PRIMARY KEY, v text, updated_at timestamptz(3) NOT NULL DEFAULT now());
CREATE TABLE c (id int PRIMARY KEY, v text, updated_at timestamptz(3) NOT NULL DEFAULT now());
INSERT INTO a (id, v) SELECT g, 'a' || g FROM generate_series(1, 50) g;
INSERT INTO b (id, v) SELECT g, 'b' || g FROM generate_series(1, 50) g;
INSERT INTO c (id, v) SELECT g, 'c' || g FROM generate_series(1, 50) g;`;
const SQLITE = ['a', 'b', 'c'].map((t) => `CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT, updated_at TEXT NOT NULL);`).join('\n');

describe('the POS app keeps the till database locked past the busy timeout', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    db = await createTestPg('till_locked');
    await db.query(PG);
    tmp = tempDir();
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('stops the run with LOCKED (exit 1, one line) instead of waiting again per table; the next run converges', async () => {
    const sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    const configPath = path.join(tmp.dir, 'till.json');
    const tables = ['a', 'b', 'c'].map((name) => ({ name, pk: 'id', updatedCol: 'updated_at' }));
    fs.writeFileSync(configPath, JSON.stringify({ sqlite: { path: sqlitePath }, postgres: { url: db.url }, terminalId: 'till', tables }));
    const trigger = async () => {
      const started = Date.now();
      const r = await runCli(['trigger', '--direction', 'pull', '--json', '--config', configPath], { cwd: tmp.dir, timeoutMs: 120_000 });
      return { ...r, ms: Date.now() - started, result: JSON.parse(r.stdout) as RunResult };
    };
    // A first run installs possync's triggers and tables on the till.
    expect((await trigger()).code).toBe(0);
    await db.query(`UPDATE a SET v = v || '!'; UPDATE b SET v = v || '!'; UPDATE c SET v = v || '!'`);

    const app = openSqlite(sqlitePath);
    app.exec('BEGIN IMMEDIATE');
    let run;
    try {
      run = await trigger();
    } finally {
      app.exec('COMMIT');
      app.close();
    }
    expect(run.code, run.stderr).toBe(1);
    expect(run.result.errorCode).toBe('LOCKED');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/locked by another program/);
    // One busy timeout (15 s), not one per table (45 s).
    expect(run.ms).toBeLessThan(30_000);
    expect(run.result.status).toBe('failed');

    const again = await trigger();
    expect(again.code, again.stderr).toBe(0);
    const till = openSqlite(sqlitePath);
    try {
      for (const t of ['a', 'b', 'c']) expect((till.prepare(`SELECT count(*) AS n FROM ${t} WHERE v LIKE '%!'`).get() as { n: number }).n).toBe(50);
    } finally {
      till.close();
    }
  });
});
