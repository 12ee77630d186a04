import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PossyncError } from '../../src/errors.ts';
import { runVerifyData } from '../../src/engine/verify-data/run.ts';
import { at, createLedger, expectNoTableErrors, uid, type Ledger, type Terminal } from '../support/ledger.ts';
import { byTable, cloudBehindPossync, tillBehindPossync } from '../support/verify-data.ts';

// How verify-data finds the cloud's rows of the buckets that differ. The cloud hashes the table
// once; the rows of differing buckets are then read by key (the till's rows there, and the keys
// in flight), and only rows the till lacks, whose keys nobody here knows, need a second pass over
// the cloud table (transfer.cloudPasses). Also: the till's chunked scan with rowids beyond 2^53
// and with TEXT that is not valid UTF-8.

const BIG = 2n ** 53n;
const bigKey = (n: bigint) => JSON.stringify([String(BIG + n)]);

describe('verify-data: passes over the cloud table', () => {
  let ledger: Ledger;
  let till: Terminal;
  // Small buckets, so the rows to look up stay a small share of these small tables (as they are of a large one).
  const verify = async (table: string) => byTable(await runVerifyData(till.config, { tables: [table], bucketRows: 2 }))[table]!;

  beforeAll(async () => {
    ledger = await createLedger('verify_passes', {
      extraPg: `CREATE TABLE big (id bigint PRIMARY KEY, label text NOT NULL, updated_at timestamptz(3) NOT NULL);
        CREATE TABLE small (id int PRIMARY KEY, label text NOT NULL, updated_at timestamptz(3) NOT NULL);
        CREATE TABLE pair (shop int, code text, label text NOT NULL, updated_at timestamptz(3) NOT NULL, PRIMARY KEY (shop, code));`,
      extraSqlite: `CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE small (id INTEGER PRIMARY KEY, label TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE pair (shop INTEGER, code TEXT, label TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (shop, code));`,
      extraTables: [
        { name: 'big', pk: 'id', updatedCol: 'updated_at' },
        { name: 'small', pk: 'id', updatedCol: 'updated_at' },
        { name: 'pair', pk: ['shop', 'code'], updatedCol: 'updated_at' },
      ],
    });
    till = ledger.terminal('till-passes');
    const tag = till.local.prepare(`INSERT INTO tags VALUES (?, ?, ?)`);
    for (let i = 1; i <= 400; i++) tag.run(uid(i), `tag ${i}`, at(i));
    // Invalid UTF-8 stored as TEXT (a byte 0xff): the push sends U+FFFD in its place.
    till.local.prepare(`INSERT INTO tags VALUES (?, CAST(x'61ff62' AS TEXT), ?)`).run(uid(401), at(401));
    // INTEGER PRIMARY KEY values beyond 2^53 (snowflake-style ids): rowids a double cannot hold.
    const big = till.local.prepare(`INSERT INTO big VALUES (?, ?, ?)`);
    for (let i = 1n; i <= 40n; i++) big.run(BIG + i, `big ${i}`, at(Number(i)));
    const small = till.local.prepare(`INSERT INTO small VALUES (?, ?, ?)`);
    for (let i = 1; i <= 40; i++) small.run(i, `small ${i}`, at(i));
    const pair = till.local.prepare(`INSERT INTO pair VALUES (?, ?, ?, ?)`);
    for (let i = 1; i <= 40; i++) pair.run(i % 3, `code ${i}`, `pair ${i}`, at(i));
    expectNoTableErrors(await till.sync('both'));
  });
  afterAll(() => ledger?.cleanup());

  it('equal sides, invalid UTF-8 on the till included: equal, one pass', async () => {
    expect((await ledger.db.query(`SELECT label FROM tags WHERE id = '${uid(401)}'`))[0]).toEqual({ label: 'a\uFFFDb' });
    for (const table of ['tags', 'big', 'small', 'pair']) {
      const t = await verify(table);
      expect(t.status, table).toBe('equal');
      expect(t.transfer.cloudPasses, table).toBe(1);
      expect(t.transfer.hashedRows, table).toBe(0);
    }
  });

  it('rows the till holds (different, extra, gone from the cloud): found in one pass over the cloud table', async () => {
    await cloudBehindPossync(ledger.db, ['tags'], `UPDATE tags SET label = 'changed in the cloud' WHERE id = '${uid(7)}'; DELETE FROM tags WHERE id = '${uid(8)}'`);
    tillBehindPossync(till, `INSERT INTO tags VALUES (?, 'till only', ?)`, uid(502), at(502));
    tillBehindPossync(till, `UPDATE tags SET label = 'changed on the till' WHERE id = ?`, uid(9));
    const t = await verify('tags');
    expect(t.rows).toEqual([
      { key: JSON.stringify([uid(7)]), kind: 'different', columns: ['label'] },
      { key: JSON.stringify([uid(8)]), kind: 'extra' },
      { key: JSON.stringify([uid(9)]), kind: 'different', columns: ['label'] },
      { key: JSON.stringify([uid(502)]), kind: 'extra' },
    ]);
    expect(t.transfer.cloudPasses).toBe(1);
    expect(t.transfer.hashedRows).toBeGreaterThan(0);
    expect(t.transfer.hashedRows).toBeLessThan(200);
  });

  it('when the rows to look up are a large share of the table, a second pass instead, with the same findings', async () => {
    // One bucket: every till row would be looked up.
    const t = byTable(await runVerifyData(till.config, { tables: ['tags'], bucketRows: 1_000 })).tags!;
    expect(t.rows.map((r) => [r.key, r.kind])).toEqual([
      [JSON.stringify([uid(7)]), 'different'],
      [JSON.stringify([uid(8)]), 'extra'],
      [JSON.stringify([uid(9)]), 'different'],
      [JSON.stringify([uid(502)]), 'extra'],
    ]);
    expect(t.transfer.cloudPasses).toBe(2);
  });

  it('a cloud row not pulled yet (in flight): left out, its key looked up, still one pass', async () => {
    await ledger.db.query(`INSERT INTO tags VALUES ('${uid(503)}', 'new in the cloud', '${at(503)}')`);
    const t = await verify('tags');
    expect(t.rows.map((r) => r.key)).toEqual([uid(7), uid(8), uid(9), uid(502)].map((k) => JSON.stringify([k])));
    expect(t.inFlight).toBeGreaterThanOrEqual(1);
    expect(t.transfer.cloudPasses).toBe(1);
  });

  it('a row only the cloud holds: no key to look up, so a second pass finds it', async () => {
    await cloudBehindPossync(ledger.db, ['tags'], `INSERT INTO tags VALUES ('${uid(501)}', 'cloud only', '${at(501)}')`);
    const t = await verify('tags');
    expect(t.rows).toContainEqual({ key: JSON.stringify([uid(501)]), kind: 'missing' });
    expect(t.rows).toHaveLength(5);
    expect(t.transfer.cloudPasses).toBe(2);
  });

  it('rowids beyond 2^53: the differing rows are read back exactly', async () => {
    await cloudBehindPossync(ledger.db, ['big'], `UPDATE big SET label = 'changed in the cloud' WHERE id = ${BIG + 1n}`);
    tillBehindPossync(till, `UPDATE big SET label = 'changed on the till' WHERE id = ?`, BIG + 3n);
    const t = await verify('big');
    expect(t.rows).toEqual([
      { key: bigKey(1n), kind: 'different', columns: ['label'] },
      { key: bigKey(3n), kind: 'different', columns: ['label'] },
    ]);
    expect(t.transfer.cloudPasses).toBe(1);
  });

  it('a composite key: the rows are looked up by both columns', async () => {
    await cloudBehindPossync(ledger.db, ['pair'], `UPDATE pair SET label = 'changed in the cloud' WHERE shop = 1 AND code = 'code 4'`);
    tillBehindPossync(till, `UPDATE pair SET label = 'changed on the till' WHERE shop = 2 AND code = 'code 5'`);
    const t = await verify('pair');
    expect(t.rows).toEqual([
      { key: JSON.stringify(['1', 'code 4']), kind: 'different', columns: ['label'] },
      { key: JSON.stringify(['2', 'code 5']), kind: 'different', columns: ['label'] },
    ]);
    expect(t.transfer.cloudPasses).toBe(1);
  });

  it('a till key Postgres cannot read (beyond int): the lookup by key gives way to a second pass', async () => {
    tillBehindPossync(till, `INSERT INTO small VALUES (3000000000, 'too big for int', ?)`, at(1));
    await cloudBehindPossync(ledger.db, ['small'], `UPDATE small SET label = 'changed in the cloud' WHERE id = 5`);
    const t = await verify('small');
    expect(t.rows.map((r) => [r.key, r.kind])).toEqual([
      [JSON.stringify(['3000000000']), 'extra'],
      [JSON.stringify(['5']), 'different'],
    ]);
    expect(t.transfer.cloudPasses).toBe(2);
  });

  it("a role that may not read a table: PERMISSION naming the table and the GRANT, not Postgres' bare error", async () => {
    const role = `possync_t_verify_${randomBytes(3).toString('hex')}`;
    await ledger.db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw';
      GRANT USAGE ON SCHEMA possync TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA possync TO ${role};
      GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}; REVOKE SELECT ON small FROM ${role}`);
    try {
      const url = new URL(ledger.db.url);
      url.username = role;
      url.password = 'pw';
      const err = await runVerifyData({ ...till.config, postgresUrl: url.toString() }, { tables: ['tags', 'small'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PossyncError);
      expect(err).toMatchObject({ code: 'PERMISSION', message: expect.stringMatching(/lacks SELECT on table "public"\."small"/), hint: expect.stringMatching(/^GRANT SELECT ON "public"\."small"/) });
    } finally {
      await ledger.db.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
