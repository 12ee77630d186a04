import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, expectNoTableErrors, TABLE_NAMES, uid, type Ledger } from '../support/ledger.ts';

// A query a whole step needs (the push checkpoints of all tables, the pull's probe of all change
// windows) can fail too: the step's tables report the error and the run still returns its result.
describe('a failure of a whole step', () => {
  let ledger: Ledger;

  beforeAll(async () => {
    ledger = await createLedger('step_failure');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  it('a pull checkpoint Postgres cannot read fails every pull table with the reason; other pushes still run', async () => {
    const till = ledger.terminal('till-step');
    expectNoTableErrors(await till.sync('both'));
    const key = `sync.checkpoint.${till.id}.pull.tags`;
    const stored = JSON.parse((till.local.prepare(`SELECT setting_value FROM system_settings WHERE setting_key = ?`).get(key) as { setting_value: string }).setting_value) as { snapshot: string };
    // A snapshot whose xmin is above its xmax: valid JSON, refused by pg_snapshot's input.
    till.local.prepare(`UPDATE system_settings SET setting_value = ? WHERE setting_key = ?`).run(JSON.stringify({ ...stored, snapshot: '9:5:' }), key);
    till.local.prepare(`INSERT INTO notes (id, body, updated_at) VALUES (?, 'x', '2026-01-01T00:00:00.000Z')`).run(uid(1));

    const r = await till.sync('both');
    expect(r.status).toBe('partial');
    const pushes = r.tables.filter((t) => t.step === 'push');
    expect(pushes.map((t) => t.status)).toEqual(TABLE_NAMES.map(() => 'success'));
    expect(pushes.find((t) => t.table === 'notes')!.inserted).toBe(1);
    const pulls = r.tables.filter((t) => t.step === 'pull');
    expect(pulls.map((t) => t.status)).toEqual(TABLE_NAMES.map(() => 'error'));
    for (const t of pulls) expect(t.error).toMatch(/pg_snapshot/);
  });
});
