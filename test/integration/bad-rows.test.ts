import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { runCli } from '../support/cli.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// A clinic's appointment book: the cloud caps reasons at 60 characters, the till at 50 (a CHECK).
const PG = `CREATE TABLE appointment (id uuid PRIMARY KEY, reason varchar(60) NOT NULL, slot int NOT NULL, updated_at timestamptz(3) NOT NULL);
  CREATE TABLE fee (id text PRIMARY KEY, amount numeric(6,2) NOT NULL)`;
const SQLITE = `CREATE TABLE Appointment (Id TEXT PRIMARY KEY, Reason TEXT NOT NULL CHECK (length(Reason) <= 50), Slot INTEGER NOT NULL, UpdatedAt TEXT NOT NULL);
  CREATE TABLE Fee (Id TEXT PRIMARY KEY, Amount TEXT NOT NULL)`;

describe('bad rows never block a sync', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let config: ReturnType<typeof makeConfig>;
  let configPath: string;

  beforeAll(async () => {
    db = await createTestPg('bad_rows');
    await db.query(PG);
    tmp = tempDir();
    const file = path.join(tmp.dir, 'desk.sqlite');
    createSqliteFile(file, SQLITE);
    const raw = { sqlite: { path: file }, postgres: { url: db.url }, terminalId: 'desk', naming: 'snake', batchSize: 1000, tables: [{ name: 'appointment', pk: 'id', updatedCol: 'updated_at' }, { name: 'fee', pk: 'id', conflict: 'client-wins' }] };
    config = makeConfig(raw, tmp.dir);
    configPath = path.join(tmp.dir, 'possync.config.json');
    fs.writeFileSync(configPath, JSON.stringify(raw));
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('push: one over-long value in a 1,000-row batch leaves 999 applied and 1 listed; fixed, it goes through', async () => {
    const local = openSqlite(config.sqlitePath);
    const insert = local.prepare(`INSERT INTO Appointment VALUES (?, ?, ?, '2026-11-24T08:00:00.000Z')`);
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    local.pragma('ignore_check_constraints = ON'); // the till app's own data may already break its rules
    local.transaction(() => ids.forEach((id, i) => insert.run(id, i === 517 ? 'x'.repeat(70) : `check-up ${i}`, i)))();
    local.pragma('ignore_check_constraints = OFF');

    const r = await runSync(config, { direction: 'push', tables: ['appointment'] });
    const t = r.tables[0]!;
    expect(t.inserted).toBe(999);
    expect(t.rejected).toBe(1);
    expect(t.reasons[0]).toMatch(/value too long for type character varying\(60\)/);
    expect(r.status).toBe('partial');
    expect(await db.query(`SELECT count(*)::int AS n FROM appointment`)).toEqual([{ n: 999 }]);

    const listed = await runCli(['rejected', '--json', '-c', configPath]);
    expect(listed.code).toBe(1);
    const rows = (JSON.parse(listed.stdout) as { rows: Array<{ table: string; side: string; reason: string }> }).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ table: 'appointment', side: 'push' });

    // Still refused on the next run (retried, not forgotten), then fixed at the source.
    expect((await runSync(config, { direction: 'push', tables: ['appointment'] })).tables[0]!.rejected).toBe(1);
    local.prepare(`UPDATE Appointment SET Reason = 'long story, short now', UpdatedAt = '2026-11-24T09:00:00.000Z' WHERE Id = ?`).run(ids[517]);
    local.close();
    const fixed = await runSync(config, { direction: 'push', tables: ['appointment'] });
    expect(fixed.status).toBe('success');
    expect(fixed.tables[0]!.rejected).toBe(0);
    expect(await db.query(`SELECT reason FROM appointment WHERE id = $1`, [ids[517]])).toEqual([{ reason: 'long story, short now' }]);
    expect((await runCli(['rejected', '-c', configPath])).code).toBe(0);
  });

  it('pull: a row the till refuses is isolated and listed while the rest arrive; fixed in the cloud, it arrives', async () => {
    expect((await runSync(config, { direction: 'pull' })).status).toBe('success');
    const ids = Array.from({ length: 300 }, () => randomUUID());
    await db.query(`INSERT INTO appointment SELECT u.id::uuid, 'follow-up ' || u.n, u.n, now() FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n)`, [ids]);
    await db.query(`UPDATE appointment SET reason = repeat('y', 55) WHERE id = $1`, [ids[42]]);
    const r = await runSync(config, { direction: 'pull' });
    expect(r.tables[0]!.inserted).toBe(299);
    expect(r.tables[0]!.rejected).toBe(1);
    expect(r.tables[0]!.reasons[0]).toContain('CHECK constraint');

    await db.query(`UPDATE appointment SET reason = 'short again', updated_at = now() WHERE id = $1`, [ids[42]]);
    const fixed = await runSync(config, { direction: 'pull' });
    expect(fixed.status).toBe('success');
    const local = openSqlite(config.sqlitePath);
    expect(local.prepare(`SELECT Reason FROM Appointment WHERE Id = ?`).get(ids[42])).toEqual({ Reason: 'short again' });
    local.close();
  });

  it('a value Postgres would round (three decimals into numeric(6,2)) is a bad row, never altered', async () => {
    const local = openSqlite(config.sqlitePath);
    local.prepare(`INSERT INTO Fee VALUES ('ok', '12.50'), ('fine', '7'), ('rounded', '12.345')`).run();
    local.close();
    const r = await runSync(config, { direction: 'push', tables: ['fee'] });
    expect(r.tables[0]!.inserted).toBe(2);
    expect(r.tables[0]!.rejected).toBe(1);
    expect(r.tables[0]!.reasons[0]).toContain('would be rounded');
    expect(await db.query(`SELECT id, amount::text FROM fee ORDER BY id`)).toEqual([
      { id: 'fine', amount: '7.00' },
      { id: 'ok', amount: '12.50' },
    ]);
    const fix = openSqlite(config.sqlitePath);
    fix.prepare(`DELETE FROM Fee WHERE Id = 'rounded'`).run();
    fix.close();
    // Gone locally: nothing is left to retry.
    const after = await runSync(config, { direction: 'push', tables: ['fee'] });
    expect(after.status).toBe('success');
    expect(after.tables[0]!.rejected).toBe(0);
  });

  it('--discard forgets a held row after an admin decides', async () => {
    await db.query(`INSERT INTO appointment VALUES ('00000000-0000-4000-8000-00000000dead', $1, 1, now())`, ['z'.repeat(55)]);
    expect((await runSync(config, { direction: 'pull' })).tables[0]!.rejected).toBe(1);
    const bad = await runCli(['rejected', '--discard', 'appointment', 'nope', '-c', configPath]);
    expect(bad.code).toBe(2);
    const r = await runCli(['rejected', '--discard', 'appointment', '00000000-0000-4000-8000-00000000dead', '-c', configPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('discarded');
    expect((await runCli(['rejected', '--all', '-c', configPath])).code).toBe(0);
  });
});
