import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { runSync } from '../../src/engine/run.ts';
import { renderRun } from '../../src/cli/summary.ts';
import type { RunResult, TableResult } from '../../src/engine/result.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';
import { at, expectInSync, uid } from '../support/ledger.ts';

// Semantic merge on a natural key: a gym member signed up offline at the desk with a phone the
// cloud already knows is the cloud's member. With `naturalKey: ["phone"]` the local row adopts the
// cloud id instead of failing on the unique constraint, its visits follow, and the two versions
// meet as a conflict the table's policy decides (and records).
const PG = `
CREATE TABLE members (id uuid PRIMARY KEY, phone text NOT NULL UNIQUE, name text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE visits (id uuid PRIMARY KEY, member_id uuid NOT NULL REFERENCES members(id), note text, updated_at timestamptz(3) NOT NULL);
`;
// The desk keeps members under the cloud's uuid ...
const SQLITE_UUID = `
CREATE TABLE members (id TEXT PRIMARY KEY, phone TEXT NOT NULL, name TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE visits (id TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members(id), note TEXT, updated_at TEXT NOT NULL);
`;
// ... or under its own integer key, with the shared id in server_id.
const SQLITE_LOCAL = `
CREATE TABLE members (local_id INTEGER PRIMARY KEY, server_id TEXT UNIQUE, phone TEXT NOT NULL, name TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE visits (id TEXT PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(local_id), note TEXT, updated_at TEXT NOT NULL);
`;

const PHONE = '+254700000001';
const CLOUD = uid(1, 1);
const LOCAL = uid(1, 2);
const VISIT = uid(1, 3);

const table = (r: RunResult, step: 'push' | 'pull', name: string): TableResult => r.tables.find((t) => t.step === step && t.table === name)!;

describe('naturalKey: a new local row adopts the cloud row with the same natural key', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;

  beforeEach(async () => {
    db = await createTestPg('natural');
    await db.query(PG);
    tmp = tempDir();
    file = path.join(tmp.dir, 'desk.sqlite');
  });
  afterEach(async () => {
    await db.drop();
    tmp.cleanup();
  });

  const uuidConfig = (naturalKey: boolean) =>
    makeConfig(
      {
        sqlite: { path: file },
        postgres: { url: db.url },
        terminalId: 'desk-1',
        tables: [
          { name: 'members', pk: 'id', updatedCol: 'updated_at', ...(naturalKey ? { naturalKey: ['phone'] } : {}) },
          { name: 'visits', pk: 'id', updatedCol: 'updated_at' },
        ],
      },
      tmp.dir,
    );

  /** The desk has synced once (so the cloud member below is news to it), then works offline. */
  async function offlineSignup(config: ReturnType<typeof uuidConfig>, localUpdated: string) {
    createSqliteFile(file, SQLITE_UUID);
    expect((await runSync(config, { direction: 'both' })).status).toBe('success');
    await db.query(`INSERT INTO members VALUES ($1, $2, 'Cloud Name', $3)`, [CLOUD, PHONE, at(1_000)]);
    const local = openSqlite(file);
    local.prepare(`INSERT INTO members VALUES (?, ?, 'Desk Name', ?)`).run(LOCAL, PHONE, localUpdated);
    local.prepare(`INSERT INTO visits VALUES (?, ?, 'first visit', ?)`).run(VISIT, LOCAL, localUpdated);
    local.close();
  }

  it('without naturalKey the offline member is rejected on the unique phone, and its visit waits', async () => {
    const config = uuidConfig(false);
    await offlineSignup(config, at(2_000));
    const r = await runSync(config, { direction: 'both' });
    expect(table(r, 'push', 'members').rejected).toBe(1);
    expect(table(r, 'push', 'members').reasons[0]).toMatch(/phone/);
    expect(table(r, 'push', 'visits').deferred).toBe(1);
  });

  it('adopts the cloud id, the visit follows, the newer local version wins and the conflict is recorded', async () => {
    const config = uuidConfig(true);
    await offlineSignup(config, at(2_000));
    const r = await runSync(config, { direction: 'both' });
    expect(r.status).toBe('success');
    expect(table(r, 'push', 'members')).toMatchObject({ merged: 1, rejected: 0, inserted: 0, updated: 1, conflicts: 1 });
    expect(table(r, 'push', 'visits')).toMatchObject({ inserted: 1, deferred: 0 });
    // The trigger summary tells the admin why a row they created took another id.
    expect(renderRun(r, new Chalk({ level: 0 }))).toContain('note: push members: 1 row created on this till matched a cloud row on the natural key and took its id');

    expect(await db.query(`SELECT id::text, phone, name FROM members`)).toEqual([{ id: CLOUD, phone: PHONE, name: 'Desk Name' }]);
    expect(await db.query(`SELECT id::text, member_id::text FROM visits`)).toEqual([{ id: VISIT, member_id: CLOUD }]);
    const local = openSqlite(file);
    expect(local.prepare(`SELECT id, name FROM members`).all()).toEqual([{ id: CLOUD, name: 'Desk Name' }]);
    expect(local.prepare(`SELECT member_id FROM visits`).all()).toEqual([{ member_id: CLOUD }]);
    local.close();
    const [conflict] = await db.query<{ winner: string; local_row: { name: string }; server_row: { name: string } }>(`SELECT winner, local_row, server_row FROM possync.conflicts`);
    expect(conflict).toMatchObject({ winner: 'local', local_row: { name: 'Desk Name' }, server_row: { name: 'Cloud Name' } });

    await expectInSync(config);
    const again = await runSync(config, { direction: 'both' });
    expect(again.tables.map((t) => t.inserted + t.updated + t.deleted + t.merged)).toEqual(again.tables.map(() => 0));
  });

  it('keeps the cloud version when it is newer, on both sides', async () => {
    const config = uuidConfig(true);
    await offlineSignup(config, at(500));
    const r = await runSync(config, { direction: 'both' });
    expect(r.status).toBe('success');
    expect(table(r, 'push', 'members')).toMatchObject({ merged: 1, conflicts: 1 });
    expect(await db.query(`SELECT id::text, name FROM members`)).toEqual([{ id: CLOUD, name: 'Cloud Name' }]);
    const local = openSqlite(file);
    expect(local.prepare(`SELECT id, name FROM members`).all()).toEqual([{ id: CLOUD, name: 'Cloud Name' }]);
    local.close();
    await expectInSync(config);
  });

  it('a member rejected before naturalKey was configured is merged on the next run', async () => {
    await offlineSignup(uuidConfig(false), at(2_000));
    expect(table(await runSync(uuidConfig(false), { direction: 'both' }), 'push', 'members').rejected).toBe(1);
    const config = uuidConfig(true);
    const r = await runSync(config, { direction: 'both' });
    expect(r.status).toBe('success');
    expect(table(r, 'push', 'members')).toMatchObject({ merged: 1, rejected: 0 });
    // The till had pulled the cloud member as well: the two local rows were folded into one.
    const local = openSqlite(file);
    expect(local.prepare(`SELECT count(*) AS n FROM _possync_held`).get()).toEqual({ n: 0 });
    expect(local.prepare(`SELECT id, name FROM members`).all()).toEqual([{ id: CLOUD, name: 'Desk Name' }]);
    expect(local.prepare(`SELECT member_id FROM visits`).all()).toEqual([{ member_id: CLOUD }]);
    expect(local.prepare(`SELECT direction, winner, json_extract(local_row, '$.name') AS mine, json_extract(server_row, '$.name') AS theirs FROM _possync_conflicts`).all()).toEqual([
      { direction: 'merge', winner: 'local', mine: 'Desk Name', theirs: 'Cloud Name' },
    ]);
    local.close();
    expect(await db.query(`SELECT id::text, name FROM members`)).toEqual([{ id: CLOUD, name: 'Desk Name' }]);
    expect(await db.query(`SELECT member_id::text FROM visits`)).toEqual([{ member_id: CLOUD }]);
    await expectInSync(config);
  });

  it('folds a local integer-key duplicate into the pulled cloud row, keeping the newer cloud values', async () => {
    createSqliteFile(file, SQLITE_LOCAL);
    const config = (naturalKey: boolean) =>
      makeConfig(
        {
          sqlite: { path: file },
          postgres: { url: db.url },
          terminalId: 'desk-3',
          tables: [
            { name: 'members', pk: 'id', updatedCol: 'updated_at', localPk: 'local_id', serverIdCol: 'server_id', ...(naturalKey ? { naturalKey: 'phone' } : {}) },
            { name: 'visits', pk: 'id', updatedCol: 'updated_at' },
          ],
          fkMap: { visits: [{ field: 'member_id', refTable: 'members' }] },
        },
        tmp.dir,
      );
    await db.query(`INSERT INTO members VALUES ($1, $2, 'Cloud Name', $3)`, [CLOUD, PHONE, at(3_000)]);
    const local = openSqlite(file);
    local.prepare(`INSERT INTO members (local_id, phone, name, updated_at) VALUES (7, ?, 'Desk Name', ?)`).run(PHONE, at(2_000));
    local.prepare(`INSERT INTO visits VALUES (?, 7, 'first visit', ?)`).run(VISIT, at(2_000));
    // Without naturalKey: member 7 is refused on the phone, and the pull brings the cloud member in as a second row.
    expect(table(await runSync(config(false), { direction: 'both' }), 'push', 'members').rejected).toBe(1);
    expect(local.prepare(`SELECT count(*) AS n FROM members`).get()).toEqual({ n: 2 });

    const r = await runSync(config(true), { direction: 'both' });
    expect(r.status).toBe('success');
    expect(table(r, 'push', 'members')).toMatchObject({ merged: 1, rejected: 0 });
    const [kept] = local.prepare(`SELECT local_id, server_id, name FROM members`).all() as Array<{ local_id: number; server_id: string; name: string }>;
    expect(kept).toMatchObject({ server_id: CLOUD, name: 'Cloud Name' });
    expect(kept!.local_id).not.toBe(7);
    expect(local.prepare(`SELECT member_id FROM visits`).all()).toEqual([{ member_id: kept!.local_id }]);
    expect(local.prepare(`SELECT winner FROM _possync_conflicts WHERE direction = 'merge'`).all()).toEqual([{ winner: 'server' }]);
    local.close();
    expect(await db.query(`SELECT id::text, name FROM members`)).toEqual([{ id: CLOUD, name: 'Cloud Name' }]);
    expect(await db.query(`SELECT member_id::text FROM visits`)).toEqual([{ member_id: CLOUD }]);
    await expectInSync(config(true));
  });

  it('survives a failed Postgres batch after the local rename: the next run pushes the renamed row', async () => {
    const config = uuidConfig(true);
    await offlineSignup(config, at(2_000));
    // The cloud refuses any update of the member while the flag is set.
    await db.query(`CREATE TABLE refuse (on_ boolean NOT NULL); INSERT INTO refuse VALUES (true);
      CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF (SELECT on_ FROM refuse) THEN RAISE EXCEPTION 'maintenance: members are read-only'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_update BEFORE UPDATE ON members FOR EACH ROW EXECUTE FUNCTION refuse_update();`);
    const first = await runSync(config, { direction: 'push' });
    expect(table(first, 'push', 'members')).toMatchObject({ merged: 1, rejected: 1 });
    expect(table(first, 'push', 'members').reasons[0]).toMatch(/read-only/);
    const local = openSqlite(file);
    // Renamed locally already, and what still has to go is keyed by the new id.
    expect(local.prepare(`SELECT id FROM members`).all()).toEqual([{ id: CLOUD }]);
    expect(local.prepare(`SELECT key FROM _possync_held WHERE tbl = 'members'`).all()).toEqual([{ key: JSON.stringify([CLOUD]) }]);
    local.close();

    await db.query(`UPDATE refuse SET on_ = false`);
    const second = await runSync(config, { direction: 'both' });
    expect(second.status).toBe('success');
    expect(await db.query(`SELECT id::text, name FROM members`)).toEqual([{ id: CLOUD, name: 'Desk Name' }]);
    expect(await db.query(`SELECT member_id::text FROM visits`)).toEqual([{ member_id: CLOUD }]);
    await expectInSync(config);
  });

  it('with a local integer key, the shared id changes and visits follow through the FK translation', async () => {
    createSqliteFile(file, SQLITE_LOCAL);
    const config = makeConfig(
      {
        sqlite: { path: file },
        postgres: { url: db.url },
        terminalId: 'desk-2',
        tables: [
          { name: 'members', pk: 'id', updatedCol: 'updated_at', localPk: 'local_id', serverIdCol: 'server_id', naturalKey: 'phone' },
          { name: 'visits', pk: 'id', updatedCol: 'updated_at' },
        ],
        fkMap: { visits: [{ field: 'member_id', refTable: 'members' }] },
      },
      tmp.dir,
    );
    expect((await runSync(config, { direction: 'both' })).status).toBe('success');
    await db.query(`INSERT INTO members VALUES ($1, $2, 'Cloud Name', $3)`, [CLOUD, PHONE, at(1_000)]);
    const local = openSqlite(file);
    local.prepare(`INSERT INTO members (local_id, phone, name, updated_at) VALUES (7, ?, 'Desk Name', ?)`).run(PHONE, at(2_000));
    local.prepare(`INSERT INTO visits VALUES (?, 7, 'first visit', ?)`).run(VISIT, at(2_000));

    const r = await runSync(config, { direction: 'both' });
    expect(r.status).toBe('success');
    expect(table(r, 'push', 'members')).toMatchObject({ merged: 1, rejected: 0, conflicts: 1 });
    expect(local.prepare(`SELECT local_id, server_id, name FROM members`).all()).toEqual([{ local_id: 7, server_id: CLOUD, name: 'Desk Name' }]);
    expect(await db.query(`SELECT member_id::text FROM visits`)).toEqual([{ member_id: CLOUD }]);
    expect(await db.query(`SELECT count(*)::int AS n FROM members`)).toEqual([{ n: 1 }]);
    local.close();
    await expectInSync(config);
  });

  it('a config naturalKey without a unique key in Postgres is a schema problem with the fix', async () => {
    await db.query(`ALTER TABLE members DROP CONSTRAINT members_phone_key`);
    createSqliteFile(file, SQLITE_UUID);
    await expect(runSync(uuidConfig(true), { direction: 'push' })).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      exitCode: 2,
      message: expect.stringMatching(/naturalKey \(phone\) is not a unique key.*CREATE UNIQUE INDEX/),
    });
  });
});
