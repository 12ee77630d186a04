import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { pinCaptureFormat } from '../../src/engine/install/compat.ts';
import { buildStatus } from '../../src/engine/status/report.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';
import { openSqlite } from '../support/db.ts';
import { expectInSync, expectNoTableErrors } from '../support/ledger.ts';

// Issue 23 point 4: a fleet upgrades possync one till at a time. Two releases are made in one
// process by pinning the capture format each run installs (install/compat.ts): the older one
// writes format v1, the newer v2 (its function bodies differ, as a real upgrade's would). They
// sync one cloud in turns; neither may reinstall the other's triggers, and both stay equal to
// the cloud. A release whose format the older one cannot read makes it stop and say so.

const PG = `CREATE TABLE clients (id text PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL);`;
const SQLITE = `CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);`;
const V1 = { version: 1, readers: 1 };
const V2 = { version: 2, readers: 1 };
const V3 = { version: 3, readers: 3 };
const ts = (n: number) => new Date(Date.UTC(2026, 0, 1, 8, 0, n)).toISOString();

const installs = (r: RunResult) => r.warnings.filter((w) => w.startsWith('installed Postgres capture triggers'));

describe('two possync releases syncing one cloud', () => {
  let pair: Pair;
  let older: PairTerminal;
  let newer: PairTerminal;
  const as = async (format: typeof V1, t: PairTerminal) => {
    pinCaptureFormat(format);
    try {
      return await runSync(t.config, { direction: 'both' });
    } finally {
      pinCaptureFormat(undefined);
    }
  };
  const comments = async () =>
    (await pair.db.query<{ c: string }>(`SELECT obj_description(p.oid, 'pg_proc') AS c FROM pg_proc p WHERE p.pronamespace = 'possync'::regnamespace AND p.proname LIKE 'capture%' ORDER BY 1`)).map((r) => r.c.split(' for ')[0]);

  beforeAll(async () => {
    pair = await createPair('evolve_versions', PG, SQLITE, { tables: [{ name: 'clients', pk: 'id', updatedCol: 'updated_at' }] });
    older = pair.terminal('till-old');
    newer = pair.terminal('till-new');
  });
  afterEach(() => pinCaptureFormat(undefined));
  afterAll(() => pair.cleanup());

  it('the newer release upgrades the capture objects once; the older one leaves them and both keep syncing', async () => {
    expect(installs(await as(V1, older))).toHaveLength(1);
    expect(await comments()).toEqual(['possync capture v1 readers v1', 'possync capture v1 readers v1']);
    expect(installs(await as(V2, newer))).toHaveLength(1);
    expect(await comments()).toEqual(['possync capture v2 readers v1', 'possync capture v2 readers v1']);
    const oldLocal = openSqlite(older.sqlitePath);
    const newLocal = openSqlite(newer.sqlitePath);
    for (let round = 1; round <= 3; round++) {
      oldLocal.prepare(`INSERT INTO clients VALUES (?, ?, ?)`).run(`old-${round}`, `from the old till ${round}`, ts(round));
      newLocal.prepare(`INSERT INTO clients VALUES (?, ?, ?)`).run(`new-${round}`, `from the new till ${round}`, ts(round));
      await pair.db.query(`INSERT INTO clients VALUES ($1, 'from the back office', $2)`, [`cloud-${round}`, ts(round)]);
      if (round > 1) {
        oldLocal.prepare(`UPDATE clients SET name = 'old edit', updated_at = ? WHERE id = ?`).run(ts(10 + round), `new-${round - 1}`);
        await pair.db.query(`UPDATE clients SET name = 'cloud edit', updated_at = $1 WHERE id = $2`, [ts(10 + round), `old-${round - 1}`]);
      }
      for (const [format, till] of [[V1, older], [V2, newer], [V1, older]] as const) {
        const r = await as(format, till);
        expectNoTableErrors(r);
        expect(installs(r), `round ${round}: ${till.id} reinstalled`).toEqual([]);
      }
      expect(await comments()).toEqual(['possync capture v2 readers v1', 'possync capture v2 readers v1']);
    }
    // The last run of the newer till brings it the older till's last edits.
    expectNoTableErrors(await as(V2, newer));
    await expectInSync(older.config);
    await expectInSync(newer.config);
    expect(oldLocal.prepare(`SELECT count(*) AS n FROM clients`).get()).toEqual({ n: 9 });
    const status = await (async () => {
      pinCaptureFormat(V1);
      return buildStatus(older.config);
    })();
    expect(status.cloud.reachable && status.cloud.capture).toMatchObject({ upgradeRequired: false, note: expect.stringContaining('from a newer possync') });
    oldLocal.close();
    newLocal.close();
  });

  it('a release the older one cannot read: the older till syncs nothing and says the cloud expects a newer possync', async () => {
    expect(installs(await as(V3, newer))).toHaveLength(1);
    const local = openSqlite(older.sqlitePath);
    local.prepare(`INSERT INTO clients VALUES ('waits', 'until the upgrade', ?)`).run(ts(50));
    const refused = await as(V1, older);
    expect(refused.status).toBe('failed');
    expect(refused.errorCode).toBe('UPGRADE_REQUIRED');
    expect(refused.error).toMatch(/the cloud expects a newer possync: its capture objects \(on clients\) are format v3, readable by possync capture v3 or newer, and this possync reads v1/);
    expect(await comments()).toEqual(['possync capture v3 readers v3', 'possync capture v3 readers v3']);
    expect(await pair.db.query(`SELECT count(*)::int AS n FROM clients WHERE id = 'waits'`)).toEqual([{ n: 0 }]);
    pinCaptureFormat(V1);
    const status = await buildStatus(older.config);
    expect(status.cloud.reachable && status.cloud.capture.upgradeRequired).toBe(true);
    // Upgraded, the till catches up, with nothing lost while it waited.
    const upgraded = await as(V3, older);
    expectNoTableErrors(upgraded);
    expect(installs(upgraded)).toEqual([]);
    await expectInSync(older.config);
    expect(await pair.db.query(`SELECT count(*)::int AS n FROM clients WHERE id = 'waits'`)).toEqual([{ n: 1 }]);
    local.close();
  });
});
