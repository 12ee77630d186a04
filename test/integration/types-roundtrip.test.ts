import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

const PG = `
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE TABLE samples (
  id uuid PRIMARY KEY,
  money numeric(20,6), plain_numeric numeric, big int8, small int2, whole int4,
  flag boolean, at timestamptz(6), local_at timestamp(3), day date, clock time,
  doc jsonb, raw_doc json, blob bytea, label text, short varchar(12), ratio float8, approx real,
  tags text[], counts int4[], feeling mood,
  updated_at timestamptz(3) NOT NULL
);`;

const SQLITE = `
CREATE TABLE samples (
  id TEXT PRIMARY KEY,
  money TEXT, plain_numeric TEXT, big INTEGER, small INTEGER, whole INTEGER,
  flag INTEGER, at TEXT, local_at TEXT, day TEXT, clock TEXT,
  doc TEXT, raw_doc TEXT, blob BLOB, label TEXT, short TEXT, ratio REAL, approx REAL,
  tags TEXT, counts TEXT, feeling TEXT,
  updated_at TEXT NOT NULL
);`;

const COLS = ['money', 'plain_numeric', 'big', 'small', 'whole', 'flag', 'at', 'local_at', 'day', 'clock', 'doc', 'raw_doc', 'blob', 'label', 'short', 'ratio', 'approx', 'tags', 'counts', 'feeling'];

/** What Postgres prints for every column, the exact form we compare. */
async function pgText(db: TestPg, id: string): Promise<Record<string, string | null>> {
  const rows = await db.query<Record<string, string | null>>(
    `SET TimeZone = 'UTC'; SELECT ${COLS.map((c) => `${c}::text AS ${c}`).join(', ')} FROM samples WHERE id = $1`.replace('SET TimeZone = \'UTC\'; ', ''),
    [id],
  );
  return rows[0]!;
}

describe('exact round trip of every supported type', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let sqlitePath: string;
  let config: ReturnType<typeof makeConfig>;

  beforeAll(async () => {
    db = await createTestPg('types');
    await db.query(PG);
    await db.query(`ALTER DATABASE ${db.name} SET TimeZone = 'UTC'`);
    tmp = tempDir();
    sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    config = makeConfig(
      { sqlite: { path: sqlitePath }, postgres: { url: db.url }, terminalId: 't1', tables: [{ name: 'samples', pk: 'id', updatedCol: 'updated_at' }] },
      tmp.dir,
    );
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('Postgres → SQLite → Postgres keeps every value exactly', async () => {
    const id = '00000000-0000-4000-8000-00000000000a';
    await db.query(
      `INSERT INTO samples VALUES ($1, 12345678901234.567890, 0.50, 9223372036854775807, -32768, 2147483647,
        true, '2026-11-24 01:18:19.123456+00', '2026-11-24 01:18:19.5', '2024-02-29', '23:59:58.25',
        '{"b": [1, 2.50, null], "a": "ünïcødé 🎉", "big": 12345678901234567890}', '{"z":1,  "a":2}', '\\x00ff10deadbeef',
        'tab\tquote''s "dq" back\\slash 中文 👍🏽', 'exactly12chr', 0.1, 1.5,
        ARRAY['a b', 'c,d', 'q"x', NULL, ''], ARRAY[1, -2, 3], 'busy', '2026-11-24T00:00:00Z')`,
      [id],
    );
    const original = await pgText(db, id);
    const pulled = await runSync(config, { direction: 'pull' });
    expect(pulled.status).toBe('success');
    expect(pulled.tables[0]!.inserted).toBe(1);

    const local = openSqlite(sqlitePath);
    const row = local.prepare('SELECT * FROM samples WHERE id = ?').safeIntegers(true).get(id) as Record<string, unknown>;
    expect(row.money).toBe('12345678901234.567890');
    expect(row.plain_numeric).toBe('0.50');
    expect(row.big).toBe(9223372036854775807n);
    expect(row.small).toBe(-32768n);
    expect(row.flag).toBe(1n);
    expect(row.at).toBe('2026-11-24T01:18:19.123Z');
    expect(row.day).toBe('2024-02-29');
    expect(Buffer.from(row.blob as Buffer).toString('hex')).toBe('00ff10deadbeef');
    expect(row.label).toBe('tab\tquote\'s "dq" back\\slash 中文 👍🏽');
    expect(JSON.parse(row.tags as string)).toEqual(['a b', 'c,d', 'q"x', null, '']);
    expect(JSON.parse(row.counts as string)).toEqual([1, -2, 3]);

    // Touch one column locally so the row is pushed back; every other value must come back unchanged.
    local.prepare(`UPDATE samples SET label = label || '!', updated_at = '2026-11-24T00:00:01.000Z' WHERE id = ?`).run(id);
    local.close();
    const pushed = await runSync(config, { direction: 'push' });
    expect(pushed.status).toBe('success');
    expect(pushed.tables[0]!.updated).toBe(1);
    const after = await pgText(db, id);
    expect(after).toEqual({ ...original, label: `${original.label}!` });
  });

  it('SQLite → Postgres → SQLite keeps every value exactly, including NULLs', async () => {
    const id = '00000000-0000-4000-8000-00000000000b';
    const nullId = '00000000-0000-4000-8000-00000000000c';
    const local = openSqlite(sqlitePath);
    local
      .prepare(
        `INSERT INTO samples VALUES (?, '-0.000001', '99999999999999999999.99', 9007199254740993, 7, -1, 0,
          '2026-01-31T23:59:59.999Z', '2026-01-31T23:59:59.999', '1999-12-31', '00:00:00', '{"k":"v"}', '[1,2]',
          X'0001FEFF', 'Ωmega', 'short', -1.25e-7, 3.5, '["x","y z"]', '[10,20]', 'calm', '2026-11-24T00:00:00.000Z')`,
      )
      .run(id);
    local.prepare(`INSERT INTO samples (id, updated_at) VALUES (?, '2026-11-24T00:00:00.000Z')`).run(nullId);
    const before = local.prepare('SELECT * FROM samples WHERE id IN (?, ?) ORDER BY id').safeIntegers(true).all(id, nullId);
    local.close();

    const pushed = await runSync(config, { direction: 'push' });
    expect(pushed.status).toBe('success');
    const pg = await pgText(db, id);
    expect(pg.money).toBe('-0.000001');
    expect(pg.plain_numeric).toBe('99999999999999999999.99');
    expect(pg.big).toBe('9007199254740993');
    expect(pg.flag).toBe('false');
    expect(pg.at).toBe('2026-01-31 23:59:59.999+00');
    expect(pg.blob).toBe('\\x0001feff');
    expect(pg.tags).toBe('{x,"y z"}');
    expect(pg.feeling).toBe('calm');
    const nulls = await pgText(db, nullId);
    expect(Object.values(nulls).every((v) => v === null)).toBe(true);

    // A second terminal pulls the rows into an empty database: same values as the first terminal.
    const other = path.join(tmp.dir, 'other.sqlite');
    createSqliteFile(other, SQLITE);
    const otherConfig = makeConfig(
      { sqlite: { path: other }, postgres: { url: db.url }, terminalId: 't2', tables: [{ name: 'samples', pk: 'id', updatedCol: 'updated_at' }] },
      tmp.dir,
    );
    expect((await runSync(otherConfig, { direction: 'pull' })).status).toBe('success');
    const check = openSqlite(other);
    const copied = check.prepare('SELECT * FROM samples WHERE id IN (?, ?) ORDER BY id').safeIntegers(true).all(id, nullId);
    check.close();
    // jsonb is stored normalised by Postgres, so the second terminal gets Postgres' spelling of the
    // same document; everything else is byte-for-byte what the first terminal wrote.
    const docs = (rows: unknown[]) => rows.map((r) => JSON.parse(((r as { doc: string | null }).doc ?? 'null')) as unknown);
    expect(docs(copied)).toEqual(docs(before));
    const withoutDoc = (rows: unknown[]) => rows.map((r) => ({ ...(r as object), doc: undefined }));
    expect(withoutDoc(copied)).toEqual(withoutDoc(before));
  });
});
