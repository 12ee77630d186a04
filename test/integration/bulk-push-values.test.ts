import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// The COPY path of a first push lets SQLite write COPY text for values in plain forms, and hands
// everything else to the codec. Postgres' input functions accept more spellings than the codec
// ('1_000', '0x1F', odd uuid hyphens, spaced bytea hex, 24:00:00): none of them may take the fast
// path with a meaning the row-by-row path would not give them. Each awkward value gets a table of
// its own (one row), so each one is a separate COPY attempt: a refusal elsewhere cannot hide it.
// The same tables are pushed row by row into a second database (each already holds another
// terminal's row, which rules COPY out), and the two outcomes must be identical.
const CASES: Array<{ type: string; values: unknown[] }> = [
  { type: 'int', values: [42n, -7n, '42', '-42', ' 42', '+42', '1_000', '0x1F', '12.00', '--5', '', 'abc', 3.5, 2.0, 9_999_999_999n, '9999999999'] },
  { type: 'numeric(10,2)', values: ['12.50', '0.5', '.5', '5.', '-0', '-.5', '1e3', '1_000.5', 'NaN', 'Infinity', ' 1.5', '1.239', '1.230', 7n, 2.5, '123456789.00', '0x1F', '1.2.3', '-', '.'] },
  {
    type: 'uuid',
    values: [
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
      'a0eebc999c0b4ef8bb6d6bb9bd380a11',
      'a0eebc99-9c0b4ef8-bb6d-6bb9-bd380a11',
      ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      Buffer.from('a0eebc999c0b4ef8bb6d6bb9bd380a11', 'hex'),
    ],
  },
  { type: 'boolean', values: [0n, 1n, 2n, 'true', 'T', ' yes ', 'on', 'off', 'tr', '1', '0', 'n', 'No'] },
  {
    type: 'timestamptz(3)',
    values: [
      '2026-11-24T01:02:03.456Z',
      '2026-11-24T01:02:03Z',
      '2026-11-24T01:02:03.456',
      '2026-11-24 01:02:03',
      '2026-11-24 01:02:03.456',
      '2026-11-24T24:00:00Z',
      '2026-12-31T23:59:60Z',
      '0000-01-01T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-11-24T01:02:03.4567Z',
      '2026-11-24 01:02:03+02',
      'now',
      'infinity',
      1763946123n,
    ],
  },
  { type: 'bytea', values: [Buffer.from([0, 1, 255]), '\\xdeadbeef', '\\xDEADBEEF', '\\xde ad', '\\xabc', 'plain', '\\Xab', '\\x'] },
  { type: 'text', values: ['a\tb', 'a\\b', 'x\ny\rz', 42n, 1.5, '', 'ünïcødé 🎉', Buffer.from('bytes as text')] },
  { type: 'varchar(3)', values: ['abc', 'abcd', 'abc   ', '🎉🎉🎉', 7n] },
  { type: 'char(4)', values: ['ab', 'ab      ', 'abcde', ' ab'] },
  { type: 'real', values: [12.5, 1234.5678, '1234.5678', '0.1', 16777217n, '1e39'] },
  { type: 'double precision', values: [0.1, '0.1000000000000000055511151231257827', 9007199254740993n, '1e400'] },
  { type: 'json', values: ['{"a":1}', '[1, 2]', '7', 7n, 'nope', '{"a":', ' {"b" : 2} ', 'null'] },
  { type: 'jsonb', values: ['{"b":1,"a":2}', '"\\u0000"', '1e400'] },
];

const tables = CASES.flatMap((c, i) => c.values.map((value, j) => ({ name: `v_${i}_${j}`, type: c.type, value })));
const OTHER = '00000000-0000-4000-8000-0000000000ff';
const ID = '00000000-0000-4000-8000-000000000001';

describe('bulk first push: awkward values are fast or refused, never different', () => {
  let bulkDb: TestPg;
  let rowDb: TestPg;
  let utf16Db: TestPg;
  let tmp: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    [bulkDb, rowDb, utf16Db] = await Promise.all([createTestPg('bulkv_a'), createTestPg('bulkv_b'), createTestPg('bulkv_c')]);
    const ddl = tables.map((t) => `CREATE TABLE ${t.name} (id uuid PRIMARY KEY, v ${t.type}, updated_at timestamptz(3) NOT NULL);`).join('\n');
    await Promise.all([bulkDb.query(ddl), rowDb.query(ddl), utf16Db.query(ddl)]);
    await rowDb.query(tables.map((t) => `INSERT INTO ${t.name} (id, updated_at) VALUES ('${OTHER}', now());`).join('\n'));
    tmp = tempDir();
  });
  afterAll(async () => {
    await Promise.all([bulkDb?.drop(), rowDb?.drop(), utf16Db?.drop()]);
    tmp?.cleanup();
  });

  const push = async (db: TestPg, name: string, encoding = 'UTF-8') => {
    const file = path.join(tmp.dir, `${name}.sqlite`);
    // No declared type: SQLite stores each value exactly as given (text stays text).
    const ddl = tables.map((t) => `CREATE TABLE ${t.name} (id TEXT PRIMARY KEY, v, updated_at TEXT NOT NULL);`).join('\n');
    if (encoding === 'UTF-8') createSqliteFile(file, ddl);
    else {
      // The encoding is fixed when the first table is written: set it before anything else.
      const created = openSqlite(file);
      created.pragma(`encoding = '${encoding}'`);
      created.exec(ddl);
      created.pragma('journal_mode = WAL');
      expect(created.pragma('encoding', { simple: true })).toBe(encoding);
      created.close();
    }
    const local = openSqlite(file);
    for (const t of tables) local.prepare(`INSERT INTO ${t.name} VALUES (?, ?, '2026-11-24T00:00:00.000Z')`).run(ID, t.value);
    const config = makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: name, tables: tables.map((t) => ({ name: t.name, pk: 'id', updatedCol: 'updated_at' })) }, tmp.dir);
    const result = await runSync(config, { direction: 'push' });
    const held = new Set((local.prepare(`SELECT tbl FROM _possync_held`).all() as Array<{ tbl: string }>).map((r) => r.tbl));
    local.close();
    expect(result.tables.filter((t) => t.status !== 'success')).toEqual([]);
    const outcome = new Map<string, string>();
    for (const t of tables) {
      const rows = await db.query<{ v: string | null }>(`SELECT v::text FROM ${t.name} WHERE id = '${ID}'`);
      outcome.set(t.name, held.has(t.name) ? 'held' : rows.length === 0 ? 'missing' : `= ${JSON.stringify(rows[0]!.v)}`);
    }
    return outcome;
  };

  let byRow: Promise<Map<string, string>> | undefined;
  const rowByRow = () => (byRow ??= push(rowDb, 'rows'));
  const show = (m: Map<string, string>) => tables.map((t) => `${t.type} ${JSON.stringify(typeof t.value === 'bigint' ? `${t.value}n` : Buffer.isBuffer(t.value) ? `<blob ${t.value.toString('hex')}>` : t.value)}: ${m.get(t.name)}`);

  it(`${tables.length} values, one table each`, async () => {
    const bulk = await push(bulkDb, 'bulk');
    expect(show(bulk)).toEqual(show(await rowByRow()));
    // Every value either arrived or is held: nothing went missing on either path.
    expect([...bulk.values()].filter((v) => v === 'missing')).toEqual([]);
    // The plain forms really took the COPY path (one 'table reloaded' entry), so the comparison
    // above covers it, and a few spellings only Postgres accepts really were refused by it.
    const copied = new Set((await bulkDb.query<{ tbl: string }>(`SELECT tbl FROM possync.changes WHERE op = 'T'`)).map((r) => r.tbl.replace(/^public\./, '')));
    const plain = tables.filter((t) => ['42', '12.50', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'true', '2026-11-24T01:02:03.456Z', '\\xdeadbeef', 'a\tb', '{"a":1}'].includes(t.value as string));
    expect(plain.filter((t) => !copied.has(t.name)).map((t) => `${t.type} ${String(t.value)}`)).toEqual([]);
    const onlyPostgres = tables.filter((t) => ['1_000', '0x1F', 'a0eebc99-9c0b4ef8-bb6d-6bb9-bd380a11', '\\xde ad', '2026-11-24T24:00:00Z'].includes(t.value as string));
    expect(onlyPostgres.filter((t) => copied.has(t.name)).map((t) => `${t.type} ${String(t.value)}`)).toEqual([]);
  });

  it('the same from a terminal database stored in UTF-16', async () => {
    // COPY text leaves a UTF-8 database as its bytes; a UTF-16 one must not send its own.
    const utf16 = await push(utf16Db, 'utf16', 'UTF-16le');
    expect(show(utf16)).toEqual(show(await rowByRow()));
    expect((await utf16Db.query(`SELECT 1 FROM possync.changes WHERE op = 'T'`)).length).toBeGreaterThan(20);
  });
});
