import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// Progress a person (or a program) can plan by: a first push and a first pull report rows done out
// of the total. `trigger --json --events` writes each progress event as a JSON line on stderr,
// and stdout still holds exactly one JSON document.
const PG = `CREATE TABLE stock (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE catalog (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL);
INSERT INTO catalog SELECT g, 'item ' || g, now() FROM generate_series(1, 2500) g;`;
const SQLITE = `CREATE TABLE stock (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE catalog (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);`;

describe('progress events with totals', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    db = await createTestPg('cli_progress');
    await db.query(PG);
    tmp = tempDir();
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('a first push and a first pull count up to their totals; stdout stays one document', async () => {
    const sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    const local = openSqlite(sqlitePath);
    local.prepare(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 120000) INSERT INTO stock SELECT i, 'stock ' || i, '2026-12-01T00:00:00.000Z' FROM g`).run();
    local.close();
    const configPath = path.join(tmp.dir, 'till.json');
    const tables = ['stock', 'catalog'].map((name) => ({ name, pk: 'id', updatedCol: 'updated_at' }));
    fs.writeFileSync(configPath, JSON.stringify({ sqlite: { path: sqlitePath }, postgres: { url: db.url }, terminalId: 'till', tables }));

    const r = await runCli(['trigger', '--direction', 'both', '--json', '--events', '--config', configPath], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'success' });
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; step: string; table: string; rows: number; total?: number });
    expect(events.every((e) => e.event === 'progress')).toBe(true);
    const push = events.filter((e) => e.step === 'push' && e.table === 'stock');
    // COPY goes in slices of 50,000 rows: an event after each.
    expect(push.map((e) => e.rows)).toEqual([50_000, 100_000, 120_000]);
    expect(push.every((e) => e.total === 120_000)).toBe(true);
    expect(push.at(-1)!.rows).toBe(120_000);
    const pull = events.filter((e) => e.step === 'pull' && e.table === 'catalog');
    expect(pull.at(-1)).toMatchObject({ rows: 2500, total: 2500 });

    // Without --events nothing is written on stderr.
    const again = await runCli(['trigger', '--direction', 'both', '--json', '--config', configPath], { cwd: tmp.dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
  });
});
