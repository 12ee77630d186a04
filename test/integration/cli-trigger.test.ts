import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, tempDir, type TestPg } from '../support/db.ts';

describe('possync trigger (subprocess)', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let configPath: string;

  beforeAll(async () => {
    db = await createTestPg('cli_trigger');
    await db.query(`CREATE TABLE notes (id text PRIMARY KEY, body text, updated_at timestamptz NOT NULL)`);
    await db.query(`INSERT INTO notes VALUES ('n-cloud', 'from the cloud', '2026-11-01T00:00:00Z')`);
    tmp = tempDir();
    const sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, updated_at TEXT NOT NULL);
      INSERT INTO notes VALUES ('n-local', 'from the till', '2026-11-02T00:00:00.000Z');`);
    configPath = path.join(tmp.dir, 'possync.config.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({ sqlite: { path: 'till.sqlite' }, postgres: { url: 'env:TEST_PG_URL' }, terminalId: 'till-cli', tables: [{ name: 'notes', pk: 'id', updatedCol: 'updated_at' }] }),
    );
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('prints a summary with the direction arrows and exits 0', async () => {
    const r = await runCli(['trigger', '--direction', 'both', '--config', configPath], { env: { TEST_PG_URL: db.url } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('push sqlite → postgres');
    expect(r.stdout).toContain('pull postgres → sqlite');
    expect(r.stdout).toMatch(/notes\s+1\s+0/);
  });

  it('--json prints exactly one JSON document, and a second run applies nothing', async () => {
    const r = await runCli(['trigger', '-d', 'both', '--json', '-c', configPath], { env: { TEST_PG_URL: db.url } });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { status: string; tables: Array<{ inserted: number; updated: number; deleted: number }> };
    expect(doc.status).toBe('success');
    expect(doc.tables.reduce((a, t) => a + t.inserted + t.updated + t.deleted, 0)).toBe(0);
  });

  it('a config error exits 2 with one line and no stack', async () => {
    const bad = path.join(tmp.dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ terminalId: 'x', tables: [{ name: 'notes', pk: 'id', conflikt: 'lww' }] }));
    const r = await runCli(['trigger', '-d', 'push', '-c', bad], { env: { TEST_PG_URL: db.url } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('conflikt');
    expect(r.stderr).toContain('updatedCol');
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('an unreachable database exits 3 and never prints the password', async () => {
    const r = await runCli(['trigger', '-d', 'push', '-c', configPath], { env: { TEST_PG_URL: 'postgresql://possync:s3cret-pw@127.0.0.1:1/nope' } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach PostgreSQL');
    expect(r.stderr).not.toContain('s3cret-pw');
  });

  it('a missing --direction is a usage error (exit 2)', async () => {
    const r = await runCli(['trigger', '-c', configPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--direction');
  });
});
