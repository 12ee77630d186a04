import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, tempDir, type TestPg } from '../support/db.ts';

// The till's disk fills up in the middle of a first pull, and later the file system turns
// read-only. possync must stop the run with one line on stderr and exit 3, the SQLite file must
// stay intact, and once there is room again the next run must converge. The till lives on a small
// tmpfs this test mounts (it needs root, as CI has; elsewhere it is skipped with the reason).
const ROWS = 20_000;
const PG = `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, payload text, updated_at timestamptz(3) NOT NULL DEFAULT now());
INSERT INTO items (id, name, payload) SELECT g, 'item ' || g, repeat('z', 300) FROM generate_series(1, ${ROWS}) g;`;
const SQLITE = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT, updated_at TEXT NOT NULL);`;

function tryMount(dir: string, sizeMb: number): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const probe = tempDir('possync-mount-probe-');
const cannotMount = tryMount(probe.dir, 1);
if (!cannotMount) execFileSync('umount', [probe.dir]);
probe.cleanup();

describe.skipIf(cannotMount !== undefined)(`a full or read-only disk on the till${cannotMount ? ` (skipped: cannot mount a tmpfs: ${cannotMount})` : ''}`, () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let disk: string;
  let configPath: string;
  let sqlitePath: string;

  beforeAll(async () => {
    db = await createTestPg('till_disk');
    await db.query(PG);
    tmp = tempDir();
    disk = path.join(tmp.dir, 'disk');
    fs.mkdirSync(disk);
    // ~6 MB of rows to pull onto a 2 MB disk.
    expect(tryMount(disk, 2)).toBeUndefined();
    sqlitePath = path.join(disk, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    configPath = path.join(tmp.dir, 'till.json');
    fs.writeFileSync(configPath, JSON.stringify({ sqlite: { path: sqlitePath }, postgres: { url: db.url }, terminalId: 'till', tables: [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }] }));
  });
  afterAll(async () => {
    if (disk) execFileSync('umount', ['-l', disk], { stdio: 'ignore' });
    await db.drop();
    tmp.cleanup();
  });

  const trigger = async (direction: string) => {
    const r = await runCli(['trigger', '--direction', direction, '--json', '--config', configPath], { cwd: tmp.dir, timeoutMs: 120_000 });
    return { ...r, result: JSON.parse(r.stdout) as RunResult };
  };
  const intact = () => {
    const local = new Database(sqlitePath, { readonly: true });
    try {
      return (local.pragma('integrity_check') as Array<{ integrity_check: string }>)[0]!.integrity_check;
    } finally {
      local.close();
    }
  };
  const count = () => {
    const local = new Database(sqlitePath, { readonly: true });
    try {
      return (local.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n;
    } finally {
      local.close();
    }
  };

  it('disk full mid-pull: exit 3, one line naming the full disk, the file intact; with room again the rerun converges', async () => {
    const run = await trigger('pull');
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/disk is full/);
    expect(run.result.errorCode).toBe('DISK_FULL');
    expect(run.result.tables.find((t) => t.table === 'items')).toMatchObject({ status: 'error' });
    expect(intact()).toBe('ok');

    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    const again = await trigger('pull');
    expect(again.code, again.stderr).toBe(0);
    expect(count()).toBe(ROWS);
    expect(intact()).toBe('ok');
  });

  it('a read-only file system: exit 3 with one line, nothing changed', async () => {
    await db.query(`UPDATE items SET name = 'renamed' WHERE id <= 10`);
    execFileSync('mount', ['-o', 'remount,ro', disk]);
    try {
      const run = await trigger('both');
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/till\.sqlite/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', disk]);
    }
    const again = await trigger('both');
    expect(again.code, again.stderr).toBe(0);
    expect(count()).toBe(ROWS);
  });
});
