import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// The bulk path of a first push (COPY, with SQLite writing the COPY text) must give exactly what
// the row-by-row path gives, including the rows it refuses. Two identical tills push the same
// awkward values: one into an empty table (bulk), one into a table that already has a row
// (row by row), and the two Postgres tables must match.
const PG = `
CREATE TABLE stock (id uuid PRIMARY KEY, label text, qty int, price numeric(10,2), active boolean,
  counted_at timestamptz(3), raw bytea, note json, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `
CREATE TABLE stock (id TEXT PRIMARY KEY, label TEXT, qty INTEGER, price TEXT, active INTEGER,
  counted_at TEXT, raw BLOB, note TEXT, updated_at TEXT NOT NULL);`;

const ROWS: Array<[string, unknown, unknown, unknown, unknown, unknown, unknown, unknown]> = [
  ['00000000-0000-4000-8000-000000000001', 'tab\there', 1, '12.50', 1, '2026-11-24T01:02:03.456Z', Buffer.from([0, 1, 255]), '{"a":1}'],
  ['00000000-0000-4000-8000-000000000002', 'line\nbreak and \\ back', -7, '0.5', 0, '2026-11-24 01:02:03', '\\xdeadbeef', '[1,2]'],
  ['00000000-0000-4000-8000-000000000003', 'ünïcødé 🎉', 9007199254740, '1e3', 'true', '2026-11-24T01:02:03.456', 'plain text bytes', null],
  ['00000000-0000-4000-8000-000000000004', null, null, null, null, null, null, null],
  ['ABCDEF00-0000-4000-8000-000000000005', 'upper-case uuid', '42', '3', 'no', 1763946123, null, '7'],
  ['00000000-0000-4000-8000-000000000006', 'too precise', 1, '1.239', 1, '2026-11-24T01:02:03.456Z', null, null],
  ['00000000-0000-4000-8000-000000000007', 'bad bool', 1, '1.00', 2, '2026-11-24T01:02:03.456Z', null, null],
  ['00000000-0000-4000-8000-000000000008', 'now is not a time', 1, '1.00', 1, 'now', null, null],
];

describe('bulk first push equals the row-by-row path', () => {
  let bulkDb: TestPg;
  let rowDb: TestPg;
  let tmp: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    [bulkDb, rowDb] = await Promise.all([createTestPg('bulk_a'), createTestPg('bulk_b')]);
    await bulkDb.query(PG);
    await rowDb.query(PG);
    // A row from another terminal: the table is not empty, so this push goes row by row.
    await rowDb.query(`INSERT INTO stock (id, label, updated_at) VALUES ('00000000-0000-4000-8000-0000000000ff', 'other', now())`);
    tmp = tempDir();
  });
  afterAll(async () => {
    await Promise.all([bulkDb.drop(), rowDb.drop()]);
    tmp.cleanup();
  });

  const push = async (db: TestPg, name: string): Promise<RunResult> => {
    const file = path.join(tmp.dir, `${name}.sqlite`);
    createSqliteFile(file, SQLITE);
    const local = openSqlite(file);
    const insert = local.prepare(`INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2026-11-24T00:00:00.000Z')`);
    for (const r of ROWS) insert.run(...r);
    local.close();
    const config = makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: name, tables: [{ name: 'stock', pk: 'id', updatedCol: 'updated_at' }] }, tmp.dir);
    return runSync(config, { direction: 'push' });
  };
  const rows = (db: TestPg) =>
    db.query(`SELECT id::text, label, qty::text, price::text, active::text, counted_at::text, raw::text, note::text FROM stock WHERE id <> '00000000-0000-4000-8000-0000000000ff' ORDER BY id`);

  it('same rows, same values, same refusals', async () => {
    await bulkDb.query(`SET TimeZone = 'UTC'`);
    const [bulk, byRow] = [await push(bulkDb, 'bulk'), await push(rowDb, 'rows')];
    const summary = (r: RunResult) => ({ inserted: r.tables[0]!.inserted, rejected: r.tables[0]!.rejected, reasons: r.tables[0]!.reasons.map((x) => x.replace(/ \(.*$/, '')) });
    expect(summary(bulk)).toEqual(summary(byRow));
    // int4 overflow, too many decimals, 2 as a boolean, 'now' as a time, a number in an ISO text column
    expect(bulk.tables[0]!.rejected).toBe(5);
    const [a, b] = [await rows(bulkDb), await rows(rowDb)];
    expect(a).toEqual(b);
    expect(a).toHaveLength(3);
    expect(a.find((r) => r.id === '00000000-0000-4000-8000-000000000002')).toMatchObject({ label: 'line\nbreak and \\ back', qty: '-7', price: '0.50', raw: '\\xdeadbeef' });
  });

  it('rows that all fit go by COPY, with the same result', async () => {
    const clean = await createTestPg('bulk_c');
    try {
      await clean.query(PG);
      const good = new Set(['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000004']);
      const file = path.join(tmp.dir, 'clean.sqlite');
      createSqliteFile(file, SQLITE);
      const local = openSqlite(file);
      const insert = local.prepare(`INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2026-11-24T00:00:00.000Z')`);
      for (const r of ROWS.filter((x) => good.has(x[0]))) insert.run(...r);
      local.close();
      const config = makeConfig({ sqlite: { path: file }, postgres: { url: clean.url }, terminalId: 'clean', tables: [{ name: 'stock', pk: 'id', updatedCol: 'updated_at' }] }, tmp.dir);
      const r = await runSync(config, { direction: 'push' });
      expect(r.status).toBe('success');
      // The bulk path really was taken: one 'table reloaded' entry instead of a key per row.
      expect(await clean.query(`SELECT op FROM possync.changes`)).toEqual([{ op: 'T' }]);
      expect(await rows(clean)).toEqual(await rows(rowDb));
    } finally {
      await clean.drop();
    }
  });
});
