import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { expectNoTableErrors } from '../support/ledger.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// A lab's results: sample codes are unique in the cloud, readings are int4 there, and the till
// keeps times as ISO text (which has no room for a year beyond 9999).
const PG = `
CREATE TABLE lab_result (result_id uuid PRIMARY KEY, sample_code text NOT NULL UNIQUE, taken_at timestamptz(3) NOT NULL,
  reading integer, updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE LabResult (ResultId TEXT PRIMARY KEY, SampleCode TEXT NOT NULL, TakenAt DATETIME NOT NULL, Reading INTEGER,
  UpdatedAt DATETIME NOT NULL);
`;
const TABLES = [{ name: 'lab_result', pk: 'result_id', updatedCol: 'updated_at' }];

describe('bad rows on a schema pair: isolated, listed, retried, applied once fixed', () => {
  let pair: Pair;
  let till: PairTerminal;
  const held = () => {
    const db = openSqlite(till.sqlitePath);
    try {
      return db.prepare(`SELECT side, kind, display, reason, attempts FROM _possync_held ORDER BY side, display`).all() as Array<{ side: string; kind: string; display: string; reason: string; attempts: number }>;
    } finally {
      db.close();
    }
  };
  const localCount = () => {
    const db = openSqlite(till.sqlitePath);
    try {
      return (db.prepare(`SELECT count(*) AS n FROM LabResult`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    pair = await createPair('bad_pair', PG, SQLITE, { naming: 'snake', batchSize: 1000, tables: TABLES });
    till = pair.terminal('lab-till');
    // Establish the table both ways, so what follows goes through the change logs.
    expectNoTableErrors(await runSync(till.config, { direction: 'both' }));
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  it('pull: a year-10000 timestamp in a 1,000-row batch leaves 999 applied and 1 listed; still listed next run; fixed in the cloud, applied', async () => {
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    const bad = ids[613]!;
    await pair.db.query(
      `INSERT INTO lab_result SELECT u.id::uuid, 'P-' || u.n, CASE WHEN u.id = $2 THEN '10000-01-01 00:00:00+00' ELSE '2026-11-20 08:00:00+00' END::timestamptz,
         u.n, '2026-11-20 08:00:00+00' FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n)`,
      [ids, bad],
    );
    const r = await runSync(till.config, { direction: 'pull' });
    expect(r.status).toBe('partial');
    expect(r.tables[0]).toMatchObject({ status: 'success', inserted: 999, updated: 0, rejected: 1, deferred: 0 });
    expect(r.tables[0]!.reasons).toHaveLength(1);
    expect(r.tables[0]!.reasons[0]).toMatch(/outside years 0001-9999/);
    expect(localCount()).toBe(999);

    const listed = await runCli(['rejected', '--json', '-c', till.configPath]);
    expect(listed.code).toBe(1);
    const rows = (JSON.parse(listed.stdout) as { rows: Array<{ side: string; table: string; display: string; reason: string }> }).rows;
    expect(rows).toEqual([expect.objectContaining({ side: 'pull', table: 'lab_result', display: `lab_result:${bad}`, reason: expect.stringMatching(/outside years 0001-9999/) as unknown })]);

    // Retried, not dropped: the next run before the fix still refuses and still lists it.
    const again = await runSync(till.config, { direction: 'pull' });
    expect(again.tables[0]).toMatchObject({ inserted: 0, rejected: 1 });
    expect(held()).toEqual([expect.objectContaining({ side: 'pull', kind: 'rejected', display: `lab_result:${bad}`, attempts: 2 })]);

    await pair.db.query(`UPDATE lab_result SET taken_at = '2026-11-20 09:15:00.250+00' WHERE result_id = $1`, [bad]);
    const fixed = await runSync(till.config, { direction: 'pull' });
    expect(fixed.status).toBe('success');
    expect(fixed.tables[0]).toMatchObject({ inserted: 1, rejected: 0 });
    expect(held()).toEqual([]);
    const db = openSqlite(till.sqlitePath);
    expect(db.prepare(`SELECT TakenAt FROM LabResult WHERE ResultId = ?`).get(bad)).toEqual({ TakenAt: '2026-11-20T09:15:00.250Z' });
    expect(localCount()).toBe(1000);
    db.close();
  });

  it.each([
    // P-5 is a cloud row's sample code since the pull above.
    ['a unique constraint violation', (n: number, i: number) => ({ code: i === 137 ? 'P-5' : `T-${n}-${i}`, reading: i }), /duplicate key value violates unique constraint "lab_result_sample_code_key"/],
    ['an integer out of range for int4', (n: number, i: number) => ({ code: `T-${n}-${i}`, reading: i === 137 ? 3_000_000_000 : i }), /value "3000000000" is out of range for type integer/],
  ])('push: %s is isolated from a 500-row batch, listed, and goes through once fixed', async (_what, make, reason) => {
    const n = Date.now();
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const db = openSqlite(till.sqlitePath);
    const insert = db.prepare(`INSERT INTO LabResult VALUES (?, ?, '2026-11-21T08:00:00.000Z', ?, '2026-11-21T08:00:00.000Z')`);
    db.transaction(() => ids.forEach((id, i) => insert.run(id, make(n, i).code, make(n, i).reading)))();

    const r = await runSync(till.config, { direction: 'push' });
    expect(r.status).toBe('partial');
    expect(r.tables[0]).toMatchObject({ status: 'success', inserted: 499, rejected: 1, deferred: 0 });
    expect(r.tables[0]!.reasons[0]).toMatch(reason);
    expect(await pair.db.query(`SELECT count(*)::int AS n FROM lab_result WHERE result_id = ANY($1::uuid[])`, [ids])).toEqual([{ n: 499 }]);
    expect(held()).toEqual([expect.objectContaining({ side: 'push', kind: 'rejected', display: `lab_result:${ids[137]}`, reason: expect.stringMatching(reason) as unknown })]);

    expect((await runSync(till.config, { direction: 'push' })).tables[0]).toMatchObject({ inserted: 0, rejected: 1 });

    db.prepare(`UPDATE LabResult SET SampleCode = ?, Reading = 7, UpdatedAt = '2026-11-21T09:00:00.000Z' WHERE ResultId = ?`).run(`fixed-${n}`, ids[137]);
    db.close();
    const fixed = await runSync(till.config, { direction: 'push' });
    expect(fixed.status).toBe('success');
    expect(fixed.tables[0]).toMatchObject({ inserted: 1, rejected: 0 });
    expect(await pair.db.query(`SELECT sample_code, reading FROM lab_result WHERE result_id = $1`, [ids[137]])).toEqual([{ sample_code: `fixed-${n}`, reading: 7 }]);
    expect(held()).toEqual([]);
  });
});
