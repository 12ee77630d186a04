import { afterEach, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';
import { makeConfig } from '../support/config.ts';
import { openSqlite } from '../support/db.ts';
import { expectInSync, expectNoTableErrors, sidesDiff } from '../support/ledger.ts';
import { inSync } from '../../src/engine/compare.ts';

// Issue 23: schemas that change while tills keep syncing. Every test evolves a synced pair step
// by step, syncing in between, and ends with both sides compared row by row; no run may report
// success while the sides differ.

const PG = `CREATE TABLE clients (id text PRIMARY KEY, name varchar(40) NOT NULL, visits integer, balance numeric(10,2), updated_at timestamptz NOT NULL);`;
const SQLITE = `CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT NOT NULL, visits INTEGER, balance NUMERIC, updated_at TEXT NOT NULL);`;
const CLIENTS = { name: 'clients', pk: 'id', updatedCol: 'updated_at' };
const id = (n: number) => `c${String(n).padStart(3, '0')}`;
const ts = (n: number) => new Date(Date.UTC(2026, 0, 1, 8, 0, n)).toISOString();

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.cleanup();
  pair = undefined;
});

async function seeded(label: string, base: Record<string, unknown> = { tables: [CLIENTS] }, pgSql = PG, sqliteSql = SQLITE): Promise<{ pair: Pair; till: PairTerminal }> {
  pair = await createPair(label, pgSql, sqliteSql, base);
  const till = pair.terminal('till-1');
  await pair.db.query(`INSERT INTO clients (id, name, visits, balance, updated_at) SELECT 'c' || lpad(g::text, 3, '0'), 'client ' || g, g, g * 1.25, $1 FROM generate_series(1, 40) g`, [ts(0)]);
  expectNoTableErrors(await sync(till));
  return { pair, till };
}

/** A run, checked against the rule that success means both sides are equal. */
async function sync(t: PairTerminal, config = t.config): Promise<RunResult> {
  const result = await runSync(config, { direction: 'both' });
  if (result.status === 'success') {
    const diffs = (await sidesDiff(config)).filter((d) => !inSync(d));
    expect(diffs, `run reported success while the sides differ: ${JSON.stringify(result.backfills)}`).toEqual([]);
  }
  return result;
}

const applied = (r: RunResult) => r.tables.reduce((a, t) => a + t.inserted + t.updated + t.deleted, 0);

describe('a column that joins the sync is backfilled', () => {
  it('cloud first, then the till: the cloud values reach the till, and nothing moves afterwards', async () => {
    const { pair, till } = await seeded('evolve_cloud_first');
    await pair.db.query(`ALTER TABLE clients ADD COLUMN tier text`);
    await pair.db.query(`UPDATE clients SET tier = CASE WHEN visits % 2 = 0 THEN 'gold' ELSE 'silver' END`);
    const local = openSqlite(till.sqlitePath);
    // The till keeps working while only the cloud has the column.
    local.prepare(`UPDATE clients SET name = 'renamed', updated_at = ? WHERE id = ?`).run(ts(5), id(3));
    expectNoTableErrors(await sync(till));
    // The till app's update adds the column; it edits a row and adds one before possync runs.
    local.exec(`ALTER TABLE clients ADD COLUMN tier TEXT`);
    local.prepare(`UPDATE clients SET name = 'edited', updated_at = ? WHERE id = ?`).run(ts(9), id(4));
    local.prepare(`INSERT INTO clients (id, name, visits, balance, updated_at, tier) VALUES ('c999', 'new', 1, 2.5, ?, 'bronze')`).run(ts(9));
    const r = await sync(till);
    expectNoTableErrors(r);
    expect(r.status).toBe('success');
    expect(r.backfills).toEqual([{ table: 'clients', label: 'clients', columns: ['tier'], toTill: 40, toCloud: 0, contested: 0, refused: [] }]);
    expect(local.prepare(`SELECT count(*) AS n FROM clients WHERE tier IS NULL`).get()).toEqual({ n: 0 });
    // The edit pushed after the backfill kept the cloud's tier.
    expect(await pair.db.query(`SELECT name, tier FROM clients WHERE id = $1`, [id(4)])).toEqual([{ name: 'edited', tier: 'gold' }]);
    expect(await pair.db.query(`SELECT tier FROM clients WHERE id = 'c999'`)).toEqual([{ tier: 'bronze' }]);
    await expectInSync(till.config);
    // No echo: the backfill's writes do not come back as changes.
    const again = await sync(till);
    expect(applied(again)).toBe(0);
    expect(again.backfills).toBeUndefined();
    local.close();
  });

  it('till first, then the cloud: the till values reach the cloud and a second till', async () => {
    const { pair, till } = await seeded('evolve_till_first');
    const other = pair.terminal('till-2');
    expectNoTableErrors(await sync(other));
    const local = openSqlite(till.sqlitePath);
    local.exec(`ALTER TABLE clients ADD COLUMN nickname TEXT`);
    local.exec(`UPDATE clients SET nickname = 'nick ' || id`);
    expectNoTableErrors(await sync(till));
    const second = openSqlite(other.sqlitePath);
    second.exec(`ALTER TABLE clients ADD COLUMN nickname TEXT`);
    await pair.db.query(`ALTER TABLE clients ADD COLUMN nickname text`);
    const r = await sync(till);
    expectNoTableErrors(r);
    expect(r.backfills?.map((b) => [b.toTill, b.toCloud])).toEqual([[0, 40]]);
    expect(await pair.db.query(`SELECT count(*)::int AS n FROM clients WHERE nickname LIKE 'nick %'`)).toEqual([{ n: 40 }]);
    // The second till had the column empty: its own backfill takes the cloud's values.
    const r2 = await sync(other);
    expectNoTableErrors(r2);
    expect(r2.backfills?.map((b) => [b.toTill, b.toCloud])).toEqual([[40, 0]]);
    await expectInSync(till.config);
    await expectInSync(other.config);
    // The first till does not re-download what it backfilled, and nothing moves any more.
    for (const t of [till, other]) expect(applied(await sync(t))).toBe(0);
    local.close();
    second.close();
  });

  it('a column taken out of localOnly: NULLs take the other side, differing values go by the conflict policy', async () => {
    const pgSql = `${PG} ALTER TABLE clients ADD COLUMN points integer;`;
    const sqliteSql = `${SQLITE} ALTER TABLE clients ADD COLUMN points INTEGER;`;
    const base = { tables: [{ ...CLIENTS, localOnly: ['points'] }] };
    const { pair, till } = await seeded('evolve_local_only', base, pgSql, sqliteSql);
    await pair.db.query(`UPDATE clients SET points = visits * 10 WHERE visits <= 30`);
    const local = openSqlite(till.sqlitePath);
    local.exec(`UPDATE clients SET points = 7 WHERE visits > 20`);
    local.prepare(`UPDATE clients SET points = 3500, updated_at = ? WHERE id = ?`).run(ts(30), id(35));
    expectNoTableErrors(await sync(till));
    const config = makeConfig({ sqlite: { path: till.sqlitePath }, postgres: { url: pair.db.url }, terminalId: till.id, tables: [CLIENTS] }, pair.dir);
    const r = await sync(till, config);
    expectNoTableErrors(r);
    // Rows 1-20: only the cloud had values; 21-30: both had different ones, and under lww the
    // rows' updated_at agree (they are synced), so the tie goes to the server; 31-40: only the till.
    expect(r.backfills?.map((b) => ({ toTill: b.toTill, toCloud: b.toCloud, contested: b.contested }))).toEqual([{ toTill: 30, toCloud: 10, contested: 10 }]);
    expect(await pair.db.query(`SELECT id, points FROM clients WHERE id IN ($1, $2, $3) ORDER BY id`, [id(25), id(35), id(5)])).toEqual([
      { id: id(5), points: 50 },
      { id: id(25), points: 250 },
      { id: id(35), points: 3500 },
    ]);
    await expectInSync(config);
    expect(applied(await sync(till, config))).toBe(0);
    local.close();
  });

  it('a columnMap added for a column named differently on each side', async () => {
    const pgSql = `${PG} ALTER TABLE clients ADD COLUMN email text;`;
    const sqliteSql = `${SQLITE} ALTER TABLE clients ADD COLUMN mail TEXT;`;
    const { pair, till } = await seeded('evolve_column_map', { tables: [CLIENTS] }, pgSql, sqliteSql);
    const local = openSqlite(till.sqlitePath);
    local.exec(`UPDATE clients SET mail = id || '@example.com'`);
    const config = makeConfig({ sqlite: { path: till.sqlitePath }, postgres: { url: pair.db.url }, terminalId: till.id, tables: [{ ...CLIENTS, columnMap: { mail: 'email' } }] }, pair.dir);
    const r = await sync(till, config);
    expectNoTableErrors(r);
    expect(r.backfills?.map((b) => [b.columns, b.toCloud])).toEqual([[['email'], 40]]);
    await expectInSync(config);
    local.close();
  });
});

describe('a column that leaves or changes type', () => {
  it('widened types keep values exact; a dropped column leaves the others syncing; the run says what changed', async () => {
    const { pair, till } = await seeded('evolve_widen');
    await pair.db.query(`ALTER TABLE clients ALTER COLUMN name TYPE varchar(80), ALTER COLUMN visits TYPE bigint, ALTER COLUMN balance TYPE numeric(12,2)`);
    const local = openSqlite(till.sqlitePath);
    local.prepare(`UPDATE clients SET name = ?, visits = ?, balance = '1234567890.12', updated_at = ? WHERE id = ?`).run('x'.repeat(70), 2n ** 53n + 1n, ts(20), id(1));
    const r = await sync(till);
    expectNoTableErrors(r);
    expect(r.status).toBe('success');
    expect(r.warnings.filter((w) => w.includes('changed type'))).toHaveLength(3);
    expect(r.warnings.join('\n')).toContain('clients.visits changed type (Postgres integer → bigint)');
    expect(await pair.db.query(`SELECT length(name) AS len, visits::text, balance::text FROM clients WHERE id = $1`, [id(1)])).toEqual([{ len: 70, visits: '9007199254740993', balance: '1234567890.12' }]);
    await expectInSync(till.config);
    // The cloud drops a column: the rest syncs on, the run says so once.
    await pair.db.query(`ALTER TABLE clients DROP COLUMN balance`);
    await pair.db.query(`UPDATE clients SET name = 'after drop', updated_at = $1 WHERE id = $2`, [ts(40), id(2)]);
    const dropped = await sync(till);
    expectNoTableErrors(dropped);
    expect(dropped.warnings.some((w) => w.startsWith('clients.balance is no longer synced'))).toBe(true);
    expect(local.prepare(`SELECT name FROM clients WHERE id = ?`).get(id(2))).toEqual({ name: 'after drop' });
    await expectInSync(till.config);
    expect((await sync(till)).warnings.some((w) => w.includes('no longer synced'))).toBe(false);
    local.close();
  });

  it('a narrowed type: a value that no longer fits is refused with its reason, never cut, and the run is not a success', async () => {
    const { pair, till } = await seeded('evolve_narrow');
    const local = openSqlite(till.sqlitePath);
    local.prepare(`UPDATE clients SET balance = '12345678.90', name = ?, updated_at = ? WHERE id = ?`).run('y'.repeat(35), ts(20), id(1));
    // The cloud narrows while the till holds values that fit the old types only.
    await pair.db.query(`ALTER TABLE clients ALTER COLUMN name TYPE varchar(30) USING left(name, 30), ALTER COLUMN balance TYPE numeric(6,2)`);
    const r = await sync(till);
    expect(r.status).toBe('partial');
    expect(r.warnings.join('\n')).toContain('clients.balance changed type (Postgres numeric(10,2) → numeric(6,2))');
    const push = r.tables.find((t) => t.step === 'push')!;
    expect(push.rejected).toBe(1);
    expect(push.reasons.join('\n')).toMatch(/value too long for type character varying\(30\).*not cut/);
    // Nothing was cut: the cloud still has its old row, the till its values.
    expect(await pair.db.query(`SELECT balance::text FROM clients WHERE id = $1`, [id(1)])).toEqual([{ balance: '1.25' }]);
    expect(local.prepare(`SELECT balance FROM clients WHERE id = ?`).get(id(1))).toEqual({ balance: 12345678.9 });
    // Fixed on the till: it goes through, and both sides end equal.
    local.prepare(`UPDATE clients SET balance = '1234.50', name = 'short', updated_at = ? WHERE id = ?`).run(ts(21), id(1));
    const fixed = await sync(till);
    expectNoTableErrors(fixed);
    expect(fixed.status).toBe('success');
    await expectInSync(till.config);
    local.close();
  });
});

describe('tables added to and removed from the config', () => {
  const TAGS_PG = `${PG} CREATE TABLE tags (id text PRIMARY KEY, label text NOT NULL);`;
  const TAGS_SQLITE = `${SQLITE} CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT NOT NULL);`;
  const TAGS = { name: 'tags', pk: 'id', conflict: 'server-wins' };

  it('a table added later gets its first sync without disturbing the others; one removed leaves no capture behind', async () => {
    const { pair, till } = await seeded('evolve_tables', { tables: [CLIENTS] }, TAGS_PG, TAGS_SQLITE);
    const local = openSqlite(till.sqlitePath);
    await pair.db.query(`INSERT INTO tags VALUES ('t1', 'cloud tag')`);
    local.exec(`INSERT INTO tags VALUES ('t2', 'till tag')`);
    const withTags = makeConfig({ sqlite: { path: till.sqlitePath }, postgres: { url: pair.db.url }, terminalId: till.id, tables: [CLIENTS, TAGS] }, pair.dir);
    const added = await sync(till, withTags);
    expectNoTableErrors(added);
    expect(added.tables.filter((t) => t.table === 'clients').map((t) => t.inserted + t.updated + t.deleted)).toEqual([0, 0]);
    expect(added.tables.filter((t) => t.table === 'tags').map((t) => t.inserted)).toEqual([1, 1]);
    await expectInSync(withTags);
    // Removed: the till's triggers go, its change log stops growing, a later re-add syncs in full.
    local.exec(`INSERT INTO tags VALUES ('t3', 'pending')`);
    const removed = await sync(till);
    expectNoTableErrors(removed);
    expect(removed.warnings.join('\n')).toMatch(/tags is no longer in the config: possync removed its capture triggers on this till and 1 unpushed change/);
    expect(local.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'tags'`).get()).toEqual({ n: 0 });
    local.exec(`INSERT INTO tags VALUES ('t4', 'not captured')`);
    expect(local.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'tags'`).get()).toEqual({ n: 0 });
    expect(await pair.db.query(`SELECT count(*)::int AS n FROM possync.system_settings WHERE setting_key LIKE '%.tags'`)).toEqual([{ n: 0 }]);
    expect((await sync(till)).warnings.some((w) => w.includes('no longer in the config'))).toBe(false);
    await expectInSync(till.config);
    const back = await sync(till, withTags);
    expectNoTableErrors(back);
    expect(await pair.db.query(`SELECT id FROM tags ORDER BY id`)).toEqual([{ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 't4' }]);
    await expectInSync(withTags);
    local.close();
  });
});
