import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { expectInSync, expectNoTableErrors } from '../support/ledger.ts';
import { createPair, type Pair } from '../support/pair.ts';

// verify-schemas, run in CI before a deploy, says what the next run will do about a schema that
// changed since the last one: a column that joins the sync (backfilled), one that leaves, one
// whose type changed. After the run, the same check is quiet again.
const PG = `CREATE TABLE clients (id text PRIMARY KEY, name text NOT NULL, visits integer, note text, updated_at timestamptz NOT NULL);`;
const SQLITE = `CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT NOT NULL, visits INTEGER, note TEXT, updated_at TEXT NOT NULL);`;

describe('verify-schemas names columns that join, leave or change type since the last run', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await createPair('verify_evolution', PG, SQLITE, { tables: [{ name: 'clients', pk: 'id', updatedCol: 'updated_at' }] });
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  it('before the run: joined, left and retyped columns as notes; after it: none', async () => {
    const till = pair.terminal('till-1');
    await pair.db.query(`INSERT INTO clients SELECT 'c' || g, 'client ' || g, g, 'n', '2026-01-01T08:00:00Z' FROM generate_series(1, 10) g`);
    expectNoTableErrors(await runSync(till.config, { direction: 'both' }));

    await pair.db.query(`ALTER TABLE clients ADD COLUMN tier text; UPDATE clients SET tier = 'gold'; ALTER TABLE clients ALTER COLUMN visits TYPE bigint; ALTER TABLE clients DROP COLUMN note`);
    const local = openSqlite(till.sqlitePath);
    local.exec(`ALTER TABLE clients ADD COLUMN tier TEXT`);
    local.close();

    const verify = async () => {
      const r = await runCli(['verify-schemas', '--json', '-c', till.configPath]);
      const out = JSON.parse(r.stdout) as { findings: Array<{ severity: string; table: string; code: string; message: string }> };
      return { code: r.code, findings: out.findings.filter((f) => f.code === 'column-joined' || f.code === 'column-left' || f.code === 'column-retyped') };
    };
    const before = await verify();
    expect(before.findings.map((f) => [f.severity, f.code])).toEqual([
      ['info', 'column-joined'],
      ['info', 'column-left'],
      ['info', 'column-retyped'],
    ]);
    expect(before.findings[0]!.message).toMatch(/clients: tier joins the sync: the next run backfills its values/);
    expect(before.findings[1]!.message).toMatch(/clients\.note is no longer synced/);
    expect(before.findings[2]!.message).toMatch(/clients\.visits changed type \(Postgres integer → bigint\)/);

    expectNoTableErrors(await runSync(till.config, { direction: 'both' }));
    await expectInSync(till.config);
    expect((await verify()).findings).toEqual([]);
  });
});
