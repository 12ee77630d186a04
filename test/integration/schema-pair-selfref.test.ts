import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';
import { expectInSync, expectNoTableErrors } from '../support/ledger.ts';
import { rng, type Rng } from '../support/prng.ts';

// A clinic's staff chart: every staff member reports to another one. The till calls the table
// StaffMember (PascalCase, no FK declared, as POS apps often have), the cloud staff_member with a
// real self-referencing FK, so a child written before its parent would fail in Postgres.
const PG = `
CREATE TABLE staff_member (staff_member_id uuid PRIMARY KEY, reports_to uuid REFERENCES staff_member, full_name text NOT NULL,
  updated_at timestamp(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE StaffMember (StaffMemberId TEXT PRIMARY KEY, ReportsTo TEXT, FullName TEXT NOT NULL, UpdatedAt DATETIME NOT NULL);
`;
const TABLES = [{ name: 'staff_member', pk: 'staff_member_id', updatedCol: 'updated_at' }];

/**
 * `n` new staff ids hanging under `root`: each reports to the root or to one created before it
 * (a tree several levels deep), listed in a shuffled order so children often come before parents.
 */
function chart(r: Rng, root: string, n: number): Array<{ id: string; boss: string }> {
  const ids = Array.from({ length: n }, () => randomUUID());
  const rows = ids.map((id, i) => ({ id, boss: i === 0 || r.chance(0.05) ? root : ids[r.int(i)]! }));
  for (let i = rows.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  return rows;
}

describe('2,000 self-referencing rows in random order through the change log', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  const terminal = (name: string, batchSize: number) =>
    makeConfig({ sqlite: { path: path.join(tmp.dir, `${name}.sqlite`) }, postgres: { url: db.url }, terminalId: name, naming: 'snake', batchSize, tables: TABLES }, tmp.dir);

  beforeAll(async () => {
    db = await createTestPg('selfref');
    await db.query(PG);
    tmp = tempDir();
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  const pgOrphans = async () =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM staff_member c WHERE c.reports_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM staff_member p WHERE p.staff_member_id = c.reports_to)`))[0]!.n;
  const localCounts = (file: string) => {
    const local = openSqlite(file);
    try {
      return {
        rows: (local.prepare(`SELECT count(*) AS n FROM StaffMember`).get() as { n: number }).n,
        orphans: (local.prepare(`SELECT count(*) AS n FROM StaffMember c WHERE c.ReportsTo IS NOT NULL AND NOT EXISTS (SELECT 1 FROM StaffMember p WHERE p.StaffMemberId = c.ReportsTo)`).get() as { n: number }).n,
        held: (local.prepare(`SELECT count(*) AS n FROM _possync_held`).get() as { n: number }).n,
        changes: (local.prepare(`SELECT count(*) AS n FROM _possync_changes`).get() as { n: number }).n,
      };
    } finally {
      local.close();
    }
  };

  // Run in this order on one Postgres table: the batchSize-100 terminal then pushes into a table
  // another terminal bulk-loaded (its first push), which contests rows that terminal did not
  // write itself. Its own rows written without their links must still be completed, not lost
  // to their own half-written version in Postgres (an LWW tie the server would win).
  it.each([2000, 100])('push with batchSize %i: every row arrives linked and counts as one insert', async (batchSize) => {
    const name = `push-${batchSize}`;
    const file = path.join(tmp.dir, `${name}.sqlite`);
    createSqliteFile(file, SQLITE);
    const root = randomUUID();
    const local = openSqlite(file);
    local.prepare(`INSERT INTO StaffMember VALUES (?, NULL, 'Dr. Root', '2026-11-20 08:00:00')`).run(root);
    // The first push establishes the table (its full scan goes by COPY into an empty table).
    const first = await runSync(terminal(name, batchSize), { direction: 'push' });
    expectNoTableErrors(first);
    expect(first.tables[0]!.inserted).toBe(1);

    const rows = chart(rng(batchSize), root, 2000);
    const insert = local.prepare(`INSERT INTO StaffMember VALUES (?, ?, ?, '2026-11-21 09:30:00.125')`);
    local.transaction(() => rows.forEach((r, i) => insert.run(r.id, r.boss, `staff ${i}`)))();
    local.close();
    // The rows really go through the change log, and in an order where children come first.
    const before = localCounts(file);
    expect(before.changes).toBe(2000);

    const r = await runSync(terminal(name, batchSize), { direction: 'push' });
    expectNoTableErrors(r);
    expect(r.status).toBe('success');
    const t = r.tables[0]!;
    expect(t.label).toBe('StaffMember → staff_member');
    expect(await db.query(`SELECT count(*)::int AS n FROM staff_member WHERE staff_member_id = ANY($1::uuid[])`, [rows.map((x) => x.id)])).toEqual([{ n: 2000 }]);
    expect(await pgOrphans()).toBe(0);
    // Every link arrived as written (none left NULL by insert-then-link).
    const links = await db.query<{ id: string; boss: string | null }>(`SELECT staff_member_id::text AS id, reports_to::text AS boss FROM staff_member WHERE staff_member_id = ANY($1::uuid[])`, [rows.map((x) => x.id)]);
    const want = new Map(rows.map((x) => [x.id, x.boss]));
    expect(links.filter((l) => want.get(l.id) !== l.boss)).toEqual([]);
    expect({ inserted: t.inserted, updated: t.updated, unchanged: t.unchanged, conflicts: t.conflicts, deferred: t.deferred, rejected: t.rejected }).toEqual({
      inserted: 2000,
      updated: 0,
      unchanged: 0,
      conflicts: 0,
      deferred: 0,
      rejected: 0,
    });
    // And the till's own rows keep their links (a lost conflict would write Postgres' version back).
    const mine = openSqlite(file);
    const localLinks = mine.prepare(`SELECT StaffMemberId AS id, ReportsTo AS boss FROM StaffMember`).all() as Array<{ id: string; boss: string | null }>;
    mine.close();
    expect(localLinks.filter((l) => want.has(l.id) && want.get(l.id) !== l.boss)).toEqual([]);
    expect(localCounts(file)).toMatchObject({ held: 0, changes: 0 });

    // Nothing moves on the next run.
    const again = await runSync(terminal(name, batchSize), { direction: 'push' });
    expect(again.tables[0]).toMatchObject({ inserted: 0, updated: 0, deferred: 0 });
  });

  it.each([2000, 100])('pull with batchSize %i: 2,000 rows created in Postgres in random order arrive linked, counted once each', async (batchSize) => {
    const file = path.join(tmp.dir, `pull-${batchSize}.sqlite`);
    createSqliteFile(file, SQLITE);
    const config = terminal(`pull-${batchSize}`, batchSize);
    // The first pull resyncs the table; the rows below then come through the change log.
    const first = await runSync(config, { direction: 'pull' });
    expectNoTableErrors(first);
    expect(localCounts(file)).toMatchObject({ orphans: 0, held: 0 });

    const [{ root }] = (await db.query<{ root: string }>(`SELECT staff_member_id::text AS root FROM staff_member WHERE reports_to IS NULL LIMIT 1`)) as [{ root: string }];
    const rows = chart(rng(batchSize + 7), root, 2000);
    // One statement in shuffled order: Postgres checks the FK at the statement's end, and the
    // change log lists the keys in that order, so pull batches see children first.
    await db.query(
      `INSERT INTO staff_member SELECT u.id::uuid, u.boss::uuid, 'remote ' || u.n, '2026-11-22 10:00:00' FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(id, boss, n)`,
      [rows.map((x) => x.id), rows.map((x) => x.boss)],
    );

    const r = await runSync(config, { direction: 'pull' });
    expectNoTableErrors(r);
    expect(r.status).toBe('success');
    const t = r.tables[0]!;
    expect({ inserted: t.inserted, updated: t.updated, unchanged: t.unchanged, conflicts: t.conflicts, deferred: t.deferred, rejected: t.rejected }).toEqual({
      inserted: 2000,
      updated: 0,
      unchanged: 0,
      conflicts: 0,
      deferred: 0,
      rejected: 0,
    });
    const after = localCounts(file);
    expect(after.orphans).toBe(0);
    expect(after.held).toBe(0);
    expect(after.changes).toBe(0); // applied rows are not captured as local changes
    await expectInSync(config);

    const again = await runSync(config, { direction: 'both' });
    expect(again.tables.map((x) => x.inserted + x.updated + x.deleted)).toEqual([0, 0]);
  });

  it('push: a row written without its link waits across runs, and counts as inserted once its manager arrives', async () => {
    const file = path.join(tmp.dir, 'later.sqlite');
    createSqliteFile(file, SQLITE);
    const config = terminal('later', 100);
    expectNoTableErrors(await runSync(config, { direction: 'both' }));
    const [boss, hire] = [randomUUID(), randomUUID()];
    const local = openSqlite(file);
    // The till app records the new hire before their manager (it declares no FK).
    local.prepare(`INSERT INTO StaffMember VALUES (?, ?, 'new hire', '2026-11-23 09:00:00')`).run(hire, boss);
    const first = await runSync(config, { direction: 'push' });
    expect(first.tables[0]).toMatchObject({ inserted: 0, updated: 0, deferred: 1 });
    expect(first.tables[0]!.reasons).toEqual([`staff_member:${hire} waits for reports_to → staff_member[${boss}]`]);
    // Insert-then-link: the row is in Postgres already, without the link.
    expect(await db.query(`SELECT reports_to FROM staff_member WHERE staff_member_id = $1`, [hire])).toEqual([{ reports_to: null }]);
    expect((await runSync(config, { direction: 'push' })).tables[0]).toMatchObject({ inserted: 0, updated: 0, deferred: 1 });

    local.prepare(`INSERT INTO StaffMember VALUES (?, NULL, 'the manager', '2026-11-23 09:05:00')`).run(boss);
    local.close();
    const landed = await runSync(config, { direction: 'push' });
    expect(landed.tables[0]).toMatchObject({ inserted: 2, updated: 0, conflicts: 0, deferred: 0 });
    expect(await db.query(`SELECT reports_to::text FROM staff_member WHERE staff_member_id = $1`, [hire])).toEqual([{ reports_to: boss }]);
    expect(localCounts(file).held).toBe(0);
    await expectInSync(config);
  });
});
