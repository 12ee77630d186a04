import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAndPlan } from '../../src/engine/run.ts';
import type { VerifyDataResult } from '../../src/engine/verify-data/report.ts';
import { runVerifyData } from '../../src/engine/verify-data/run.ts';
import { runCli } from '../support/cli.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, uid, type Ledger, type Terminal } from '../support/ledger.ts';
import { byTable, cloudBehindPossync, tillBehindPossync } from '../support/verify-data.ts';

// verify-data against real databases: planted differences of each kind are found (and nothing
// else), values the sync calls equal hash equal on both sides, rows with changes in flight are
// left out, and --repair plus one run makes the sides equal.

const key = (n: number) => JSON.stringify([uid(n)]);

describe('possync verify-data', () => {
  let ledger: Ledger;
  let till: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('verify_data', {
      extraPg: `CREATE TABLE vals (id int PRIMARY KEY, amount numeric(10,2), ts timestamptz, flag boolean, code char(4), day date, seen timestamp(3), updated_at timestamptz(3) NOT NULL);`,
      extraSqlite: `CREATE TABLE vals (id INTEGER PRIMARY KEY, amount TEXT, ts TEXT, flag INTEGER, code TEXT, day TEXT, seen TEXT, updated_at TEXT NOT NULL);`,
      extraTables: [{ name: 'vals', pk: 'id', updatedCol: 'updated_at' }],
    });
    till = ledger.terminal('till-verify');
    const tag = till.local.prepare(`INSERT INTO tags VALUES (?, ?, ?)`);
    for (let i = 1; i <= 300; i++) tag.run(uid(i), `tag ${i}`, at(i));
    const val = till.local.prepare(`INSERT INTO vals VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    const two = (n: number) => String(n).padStart(2, '0');
    // Every tenth row (3, 13…) NULL in each nullable column.
    for (let i = 1; i <= 50; i++) {
      if (i % 10 === 3) val.run(i, null, null, null, null, null, null, at(i));
      else val.run(i, `${i}.50`, at(i * 1000), i % 2, 'ab', `2026-01-${two((i % 28) + 1)}`, `2026-01-01 10:${two(i)}:00.250`, at(i));
    }
    till.local.prepare(`INSERT INTO accounts VALUES (?, 'a', '1.00', ?, NULL)`).run(uid(9000), at(0));
    expectNoTableErrors(await till.sync('both'));
  });
  afterAll(() => ledger?.cleanup());

  it('equal sides: nothing reported, only bucket checksums cross', async () => {
    const r = await runVerifyData(till.config, { bucketRows: 16 });
    expect(r.ok).toBe(true);
    for (const t of r.tables) {
      expect(t.status, t.table).toBe('equal');
      expect(t.rows).toEqual([]);
      expect(t.transfer.hashedRows).toBe(0);
      expect(t.transfer.fullRows).toBe(0);
    }
    expect(byTable(r).tags!.tillRows).toBe(300);
    expect(byTable(r).tags!.cloudRows).toBe(300);
  });

  it('values the sync calls equal hash equal on both sides: not reported, not even fetched', async () => {
    // numeric 12.5 vs 12.50, ms vs µs timestamps, 1 vs true, char(4) with and without blanks,
    // 'true' spelled as text on the till.
    tillBehindPossync(till, `UPDATE vals SET amount = '7.5', code = 'ab  ', flag = 'true' WHERE id = 7`);
    await cloudBehindPossync(ledger.db, ['vals'], `UPDATE vals SET ts = ts + interval '456 microseconds' WHERE id = 8`);
    const r = byTable(await runVerifyData(till.config, { tables: ['vals'], bucketRows: 4 }));
    expect(r.vals!.status).toBe('equal');
    expect(r.vals!.transfer.hashedRows).toBe(0);
  });

  it('finds each planted kind: missing, extra, different in one column', async () => {
    await cloudBehindPossync(ledger.db, ['tags', 'vals'], `INSERT INTO tags VALUES ('${uid(501)}', 'cloud only', '${at(501)}');
      UPDATE tags SET label = 'changed in the cloud', updated_at = '${at(100_000)}' WHERE id = '${uid(7)}';
      UPDATE vals SET amount = 99.99 WHERE id = 9;
      UPDATE vals SET amount = 0, day = '2026-01-01' WHERE id = 13;
      UPDATE vals SET flag = NULL, day = NULL, seen = NULL WHERE id = 14`);
    tillBehindPossync(till, `INSERT INTO tags VALUES (?, 'till only', ?)`, uid(502), at(502));
    const r = await runVerifyData(till.config, { bucketRows: 16 });
    expect(r.ok).toBe(false);
    const t = byTable(r);
    expect(t.tags!.rows).toEqual([
      { key: key(7), kind: 'different', columns: ['label', 'updated_at'] },
      { key: key(501), kind: 'missing' },
      { key: key(502), kind: 'extra' },
    ]);
    expect([t.tags!.missing, t.tags!.extra, t.tags!.different]).toEqual([1, 1, 1]);
    // A value against NULL, either way round, in each family whose values end with '|' in the
    // row text (checksum.ts encode), where NULL is an empty value.
    expect(t.vals!.rows).toEqual([
      { key: JSON.stringify(['13']), kind: 'different', columns: ['amount', 'day'] },
      { key: JSON.stringify(['14']), kind: 'different', columns: ['flag', 'day', 'seen'] },
      { key: JSON.stringify(['9']), kind: 'different', columns: ['amount'] },
    ]);
    for (const name of ['accounts', 'entries', 'prices', 'notes']) expect(t[name]!.status, name).toBe('equal');
    // Only rows in differing buckets crossed as key + hash, and only the differing ones in full.
    expect(t.tags!.transfer.hashedRows).toBeLessThan(100);
    expect(t.tags!.transfer.fullRows).toBe(2);
  });

  it('leaves out rows with changes in flight: a till edit not pushed, a cloud edit not pulled', async () => {
    till.local.prepare(`UPDATE tags SET label = 'till edit', updated_at = ? WHERE id = ?`).run(at(200_000), uid(20));
    await ledger.db.query(`UPDATE tags SET label = 'cloud edit', updated_at = '${at(200_000)}' WHERE id = '${uid(30)}'`);
    await ledger.db.query(`INSERT INTO tags VALUES ('${uid(503)}', 'new in the cloud', '${at(503)}')`);
    const t = byTable(await runVerifyData(till.config, { tables: ['tags'], bucketRows: 16 })).tags!;
    expect(t.rows.map((r) => r.key)).toEqual([key(7), key(501), key(502)]);
    expect(t.inFlight).toBeGreaterThanOrEqual(3);
  });

  it('the CLI: --json and exit 1; --repair, then one run, and the sides are equal (exit 0)', async () => {
    const env = { TEST_PG_URL: ledger.db.url };
    const found = await runCli(['verify-data', '--json', '-c', till.configPath], { env });
    expect(found.stderr).toBe('');
    expect(found.code).toBe(1);
    const json = JSON.parse(found.stdout) as VerifyDataResult;
    expect(json.ok).toBe(false);
    expect(byTable(json).tags!.rows).toHaveLength(3);

    const repair = await runCli(['verify-data', '--repair', '--json', '-c', till.configPath], { env });
    expect(repair.code).toBe(1);
    const repaired = byTable(JSON.parse(repair.stdout) as VerifyDataResult);
    // missing → pull; extra → push; different with a newer cloud updated_at (lww) → pull.
    expect(repaired.tags!.repaired).toEqual({ push: 1, pull: 2 });
    // Nothing but the till's queues was written: the cloud is as it was.
    expect((await ledger.db.query(`SELECT count(*)::int AS n FROM tags WHERE id = '${uid(502)}'`))[0]).toEqual({ n: 0 });

    const run = await runCli(['trigger', '--direction', 'both', '-c', till.configPath], { env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const again = await runCli(['verify-data', '-c', till.configPath], { env });
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toContain('the till and the cloud hold the same data');
    await expectInSync(till.config);
    expect(till.local.prepare(`SELECT label FROM tags WHERE id = ?`).get(uid(7))).toEqual({ label: 'changed in the cloud' });
    expect((await ledger.db.query(`SELECT label FROM tags WHERE id = '${uid(502)}'`))[0]).toEqual({ label: 'till only' });
  });

  it('a table never pulled is skipped, not called equal or different', async () => {
    const fresh = ledger.terminal('till-fresh');
    const { close } = await openAndPlan(fresh.config);
    await close();
    const r = await runVerifyData(fresh.config, { tables: ['tags'] });
    expect(r.ok).toBe(true);
    expect(r.tables[0]!.status).toBe('skipped');
  });
});
