import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import type { StatusReport } from '../../src/engine/status/report.ts';
import type { HeldListing } from '../../src/engine/held.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// Issue 19: while a table failed on every run, the summary said "0 waiting or refused" although
// the till held 16,049 of its rows from earlier runs. Held rows are counted whatever happened to
// their table in the run: here the table errors (a cloud trigger refuses every write with a
// non-data error, as the rules error did), and a table depending on it is not run at all.
const PG = `
CREATE TABLE shift (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE sale (id text PRIMARY KEY, shift_id text REFERENCES shift, qty integer NOT NULL CHECK (qty >= 0));
CREATE TABLE sale_line (id text PRIMARY KEY, sale_id text NOT NULL REFERENCES sale, sku text NOT NULL);
CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM shift WHERE name = 'refuse') THEN
    RAISE EXCEPTION 'writes to sale are switched off' USING ERRCODE = '0A000';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON sale FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes();
`;
const SQLITE = `
CREATE TABLE shift (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE sale (id TEXT PRIMARY KEY, shift_id TEXT, qty INTEGER NOT NULL);
CREATE TABLE sale_line (id TEXT PRIMARY KEY, sale_id TEXT NOT NULL, sku TEXT NOT NULL);
`;
const TABLES = [
  { name: 'shift', pk: 'id', conflict: 'server-wins', direction: 'pull' },
  { name: 'sale', pk: 'id', conflict: 'client-wins' },
  { name: 'sale_line', pk: 'id', conflict: 'client-wins' },
];

describe('held rows are counted whatever happened to their table in the run', () => {
  let pair: Pair;
  let till: PairTerminal;
  const cli = (args: string[]) => runCli([...args, '-c', till.configPath]);

  beforeAll(async () => {
    pair = await createPair('held_counts', PG, SQLITE, { tables: TABLES, batchSize: 10 });
    till = pair.terminal('till-1');
    const local = openSqlite(till.sqlitePath);
    local.exec(`
      INSERT INTO sale VALUES ('s1', 'nowhere', 1), ('s2', 'nowhere', 2), ('s3', NULL, -1), ('s4', NULL, 4);
      INSERT INTO sale_line VALUES ('l1', 's1', 'A'), ('l4', 's4', 'B'), ('l9', 's9', 'C');
    `);
    local.close();
    // s1 and s2 wait for a shift that is nowhere (nullable link: written without it), s3 is
    // refused, l9 waits for a sale that is nowhere.
    const first = await runSync(till.config, { direction: 'push' });
    expect(first.tables.find((t) => t.table === 'sale')).toMatchObject({ status: 'success', deferred: 2, rejected: 1 });
    expect(first.tables.find((t) => t.table === 'sale_line')).toMatchObject({ status: 'success', deferred: 1, rejected: 0 });
    // The cloud now refuses every write to sale; a new local edit makes the next run try one.
    await pair.db.query(`INSERT INTO shift VALUES ('x', 'refuse')`);
    const again = openSqlite(till.sqlitePath);
    again.exec(`UPDATE sale SET qty = 5 WHERE id = 's4'`);
    again.close();
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it('in the run result and the printed summary, for the table that errored', async () => {
    const r = await runSync(till.config, { direction: 'push' });
    const sale = r.tables.find((t) => t.table === 'sale')!;
    expect(sale.status).toBe('error');
    expect(sale.error).toContain('writes to sale are switched off');
    expect(sale).toMatchObject({ deferred: 2, rejected: 1 });
    expect(sale.reasons).toHaveLength(3);
    // Not run, since its parent table failed: its earlier held row still counts.
    expect(r.tables.find((t) => t.table === 'sale_line')).toMatchObject({ status: 'not-run', deferred: 1, rejected: 0 });

    const out = await cli(['trigger', '-d', 'push']);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/4 waiting or refused, 2 tables failed/);
    expect(out.stdout).toContain('waiting or refused rows (retried on every run):');
    expect(out.stdout).toContain('sale:s3');
  });

  it('in status and rejected, which read what the till holds', async () => {
    const s = JSON.parse((await cli(['status', '--json'])).stdout) as StatusReport;
    expect(s.tables.find((t) => t.table === 'sale')).toMatchObject({ deferred: 2, rejected: 1 });
    expect(s.tables.find((t) => t.table === 'sale_line')).toMatchObject({ deferred: 1, rejected: 0 });
    const all = await cli(['rejected', '--all', '--json']);
    expect(all.code).toBe(1);
    const rows = (JSON.parse(all.stdout) as { rows: HeldListing[] }).rows;
    expect(rows.map((h) => `${h.table}:${h.kind}`).sort()).toEqual(['sale:deferred', 'sale:deferred', 'sale:rejected', 'sale_line:deferred']);
    const text = await cli(['rejected', '--all']);
    expect(text.stdout).not.toContain('no held rows');
    expect(text.stdout).toContain('4 rows held');
  });
});
