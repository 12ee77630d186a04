import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { captureDdl, PG_SCHEMA_VERSION } from '../../src/db/postgres/possync-schema.ts';
import { sqliteCaptureTriggers } from '../../src/db/sqlite/capture.ts';
import { SqliteGateway } from '../../src/db/sqlite/gateway.ts';
import { pgCaptureStates, sqliteCaptureSpec } from '../../src/engine/install.ts';
import type { SyncPlan } from '../../src/engine/plan/types.ts';
import { openAndPlan } from '../../src/engine/run.ts';
import { hasDrift, verifySchemas, type Finding } from '../../src/engine/verify.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, localRows, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Upgrading possync's own objects (issue 7 point 1): capture triggers and functions left by an
// older possync, or damaged by hand, on either side, are reported by verify-schemas and
// reinstalled by the next run, which then captures every change again; installing stays
// idempotent when terminals start at once. Engine level: ensureInstalled through runSync, and
// verifySchemas in-process (the CLI's exit codes are covered in cli-verify-schemas.test.ts).

const INSTALL_NOTE = /^installed (Postgres|SQLite) capture triggers on /;

async function findings(t: Terminal): Promise<Finding[]> {
  const pg = await PgGateway.connect(t.config.postgresUrl);
  const sqlite = SqliteGateway.open(t.config.sqlitePath, { readonly: true });
  try {
    return await verifySchemas(t.config, pg, sqlite.db);
  } finally {
    sqlite.close();
    await pg.close();
  }
}

const drift = (fs: Finding[]) => fs.filter((f) => f.severity !== 'info').map((f) => `${f.severity} ${f.code} ${f.table}: ${f.message.split(':')[0]}`);

async function planOf(t: Terminal): Promise<SyncPlan> {
  const { plan, close } = await openAndPlan(t.config);
  await close();
  return plan;
}

describe('upgrading possync objects on both sides', () => {
  let ledger: Ledger;
  let till: Terminal;
  let plan: SyncPlan;

  beforeAll(async () => {
    ledger = await createLedger('install_upgrade');
    till = ledger.terminal('till-up');
    await ledger.db.query(`INSERT INTO accounts VALUES ($1, 'Main', 100, $2, NULL)`, [uid(1), at(0)]);
    await ledger.db.query(`INSERT INTO tags VALUES ($1, 'red', $2), ($3, 'blue', $2)`, [uid(11), at(0), uid(12)]);
    await ledger.db.query(`INSERT INTO prices VALUES ($1, 5, $2)`, [uid(21), at(0)]);
    till.local.prepare(`INSERT INTO notes VALUES (?, 'first', ?)`).run(uid(31), at(1));
    till.local.prepare(`INSERT INTO entries VALUES (?, ?, '7.00', NULL, ?, NULL)`).run(uid(41), uid(1), at(1));
    expectNoTableErrors(await till.sync('both'));
    plan = await planOf(till);
    expect(drift(await findings(till))).toEqual([]);
  });
  afterAll(() => ledger?.cleanup());

  it('stale, partial and disabled capture objects are reported, reinstalled by the next run, and capture again', async () => {
    const db = ledger.db;
    // Postgres accounts: the function from an older possync (it did not record the origin, so a
    // terminal's own pushes would come back to it), with that version's comment.
    const accounts = captureDdl('public', 'accounts', ['id']);
    const oldBody = accounts.functions[0]!.body.replaceAll(`nullif(current_setting('possync.origin', true), '')`, 'NULL');
    expect(oldBody).not.toBe(accounts.functions[0]!.body);
    await db.query(`CREATE OR REPLACE FUNCTION possync.${accounts.functionName}() RETURNS trigger LANGUAGE plpgsql AS $f$${oldBody}$f$`);
    await db.query(`COMMENT ON FUNCTION possync.${accounts.functionName}() IS 'possync capture for public.accounts v0000000000000001'`);
    // Postgres tags: one of its five triggers dropped; prices: one disabled (a bulk load's
    // DISABLE TRIGGER never undone). Deletes and updates there go unrecorded meanwhile.
    await db.query(`DROP TRIGGER possync_capture_del ON tags`);
    await db.query(`ALTER TABLE prices DISABLE TRIGGER possync_capture_upd`);
    // SQLite notes: an older update trigger (fires on any column); entries: its delete trigger gone.
    const notes = sqliteCaptureTriggers(sqliteCaptureSpec(plan.byName.get('notes')!)).find((t) => t.name.endsWith('_upd'))!;
    const oldNotes = notes.sql.replace(/AFTER UPDATE OF .*? ON/, 'AFTER UPDATE ON');
    expect(oldNotes).not.toBe(notes.sql);
    till.local.exec(`DROP TRIGGER "${notes.name}"`);
    till.local.exec(oldNotes);
    till.local.exec(`DROP TRIGGER "_possync_entries_del"`);

    const pg = await PgGateway.connect(till.config.postgresUrl);
    try {
      expect(Object.fromEntries((await pgCaptureStates(pg.pool, plan)).map((s) => [s.table, s.state]))).toEqual({
        accounts: 'stale',
        entries: 'ok',
        tags: 'missing',
        prices: 'missing',
        notes: 'ok',
      });
    } finally {
      await pg.close();
    }
    const before = await findings(till);
    expect(hasDrift(before)).toBe(true);
    expect(drift(before).sort()).toEqual(
      [
        'error capture-missing tags: Postgres capture triggers on "tags" are missing although it has synced before',
        'error capture-missing prices: Postgres capture triggers on "prices" are missing although it has synced before',
        'error capture-missing entries: SQLite capture triggers on "entries" are missing although it has synced before',
        'warning capture-stale accounts: Postgres capture triggers on "accounts" are from an older possync or an older column set',
        'warning capture-stale notes: SQLite capture triggers on "notes" are from an older possync or an older column set',
      ].sort(),
    );

    // The next run reinstalls what is stale or missing, on both sides, and says so.
    const upgrade = await till.sync('both');
    expectNoTableErrors(upgrade);
    const notesOf = (side: string) => upgrade.warnings.find((w) => w.startsWith(`installed ${side} capture triggers on `)) ?? '';
    for (const t of ['accounts', 'tags', 'prices']) expect(notesOf('Postgres')).toContain(`"public"."${t}"`);
    for (const t of ['entries', 'notes']) expect(notesOf('SQLite')).toContain(t);
    expect(notesOf('Postgres')).not.toContain('"entries"');
    expect(drift(await findings(till))).toEqual([]);

    // Capture works again. Cloud side: an update, a hard delete and an update on the repaired tables.
    await db.query(`UPDATE accounts SET name = 'Main (renamed)', updated_at = $2 WHERE id = $1`, [uid(1), at(10_000)]);
    await db.query(`DELETE FROM tags WHERE id = $1`, [uid(12)]);
    await db.query(`UPDATE prices SET amount = 6, updated_at = $2 WHERE id = $1`, [uid(21), at(10_000)]);
    // Terminal side: an update of the notes trigger's columns and a hard delete of an entry.
    till.local.prepare(`UPDATE notes SET body = 'second', updated_at = ? WHERE id = ?`).run(at(10_001), uid(31));
    till.local.prepare(`DELETE FROM entries WHERE id = ?`).run(uid(41));

    const after = await till.sync('both');
    expectNoTableErrors(after);
    expect(after.warnings.filter((w) => INSTALL_NOTE.test(w))).toEqual([]);
    expect(localRows(till.local, 'tags').map((r) => r.id)).toEqual([uid(11)]);
    expect(localRows(till.local, 'prices')[0]).toMatchObject({ amount: '6.00' });
    expect(localRows(till.local, 'accounts')[0]).toMatchObject({ name: 'Main (renamed)' });
    expect(await db.query(`SELECT body FROM notes`)).toEqual([{ body: 'second' }]);
    // entries has a deletedCol: the local hard delete arrives as a tombstone.
    expect(await db.query(`SELECT id, deleted_at IS NOT NULL AS gone FROM entries`)).toEqual([{ id: uid(41), gone: true }]);

    // A push to accounts records this terminal as its origin again, so it does not come back.
    till.local.prepare(`UPDATE accounts SET balance = '150.00', updated_at = ? WHERE id = ?`).run(at(20_000), uid(1));
    expectNoTableErrors(await till.sync('push'));
    const origin = await db.query<{ origin: string | null }>(`SELECT origin FROM possync.changes WHERE tbl = 'public.accounts' ORDER BY xid DESC LIMIT 1`);
    expect(origin).toEqual([{ origin: 'till-up' }]);
    expect(await db.query(`SELECT balance::text AS balance FROM accounts`)).toEqual([{ balance: '150.00' }]);
    await expectInSync(till.config);

    // Idempotent: nothing left to install, and nothing moves.
    const again = await till.sync('both');
    expect(again.warnings.filter((w) => INSTALL_NOTE.test(w))).toEqual([]);
    expect(again.tables.reduce((a, t) => a + t.inserted + t.updated + t.deleted, 0)).toBe(0);
  });

  it('bookkeeping from an older schema version is upgraded once when terminals start together', async () => {
    const db = ledger.db;
    // What schema version 1 lacked: the terminal registry and the xid index; plus a dropped trigger.
    await db.query(`DROP TABLE possync.terminals; DROP INDEX possync.changes_xid`);
    await db.query(`UPDATE possync.system_settings SET setting_value = '1' WHERE setting_key = 'possync.schema_version'`);
    await db.query(`DROP TRIGGER possync_capture_ins ON notes`);

    const b = ledger.terminal('till-up-b');
    const c = ledger.terminal('till-up-c');
    const [rb, rc] = await Promise.all([b.sync('both'), c.sync('both')]);
    expectNoTableErrors(rb);
    expectNoTableErrors(rc);
    // Both waited on the install lock; only the first found the trigger missing.
    const pgNotes = [rb, rc].flatMap((r) => r.warnings.filter((w) => w.startsWith('installed Postgres capture triggers')));
    expect(pgNotes).toEqual(['installed Postgres capture triggers on "public"."notes"']);
    const [state] = await db.query<{ v: string; terminals: string | null; idx: string | null }>(
      `SELECT (SELECT setting_value FROM possync.system_settings WHERE setting_key = 'possync.schema_version') AS v,
              to_regclass('possync.terminals')::text AS terminals, to_regclass('possync.changes_xid')::text AS idx`,
    );
    expect(state).toEqual({ v: String(PG_SCHEMA_VERSION), terminals: 'possync.terminals', idx: 'possync.changes_xid' });
    expect(drift(await findings(b))).toEqual([]);

    // A cloud insert into notes after the upgrade reaches every terminal.
    await db.query(`INSERT INTO notes VALUES ($1, 'after upgrade', $2)`, [uid(32), at(30_000)]);
    for (const t of [till, b, c]) {
      expectNoTableErrors(await t.sync('both'));
      expect(localRows(t.local, 'notes').map((r) => r.id), t.id).toContain(uid(32));
      await expectInSync(t.config);
    }
    const registered = await db.query<{ terminal_id: string }>(`SELECT terminal_id FROM possync.terminals ORDER BY terminal_id`);
    expect(registered.map((r) => r.terminal_id)).toEqual(['till-up', 'till-up-b', 'till-up-c']);
  });

  it('capture functions that run with the caller\'s rights (before SECURITY DEFINER) or an unpinned search_path are stale and replaced', async () => {
    const db = ledger.db;
    // accounts: what possync installed before issue 18, the same bodies run with each writer's
    // rights. tags: SECURITY DEFINER but with no search_path of its own (a hand edit).
    const accounts = captureDdl('public', 'accounts', ['id']);
    const tags = captureDdl('public', 'tags', ['id']);
    for (const f of accounts.functions) await db.query(`CREATE OR REPLACE FUNCTION possync.${f.name}() RETURNS trigger LANGUAGE plpgsql AS $f$${f.body}$f$`);
    await db.query(`CREATE OR REPLACE FUNCTION possync.${tags.functionName}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $f$${tags.functions[0]!.body}$f$`);

    const pg = await PgGateway.connect(till.config.postgresUrl);
    try {
      const states = Object.fromEntries((await pgCaptureStates(pg.pool, plan)).map((s) => [s.table, s.state]));
      expect(states).toMatchObject({ accounts: 'stale', tags: 'stale', prices: 'ok', entries: 'ok', notes: 'ok' });
    } finally {
      await pg.close();
    }
    expect(drift(await findings(till)).filter((d) => d.includes('capture-stale')).sort()).toEqual([
      'warning capture-stale accounts: Postgres capture triggers on "accounts" are from an older possync or an older column set',
      'warning capture-stale tags: Postgres capture triggers on "tags" are from an older possync or an older column set',
    ]);

    const upgrade = await till.sync('both');
    expectNoTableErrors(upgrade);
    const installedNote = upgrade.warnings.filter((w) => w.startsWith('installed Postgres capture triggers on '));
    expect(installedNote).toHaveLength(1);
    expect(installedNote[0]!.replace('installed Postgres capture triggers on ', '').split(', ').sort()).toEqual(['"public"."accounts"', '"public"."tags"']);
    const fns = await db.query<{ name: string; definer: boolean; config: string[] | null }>(
      `SELECT proname AS name, prosecdef AS definer, proconfig AS config FROM pg_proc WHERE pronamespace = 'possync'::regnamespace AND proname = ANY($1::text[]) ORDER BY 1`,
      [[...accounts.functions, ...tags.functions].map((f) => f.name)],
    );
    expect(fns).toHaveLength(4);
    for (const f of fns) expect(f, f.name).toMatchObject({ definer: true, config: ['search_path=pg_catalog, pg_temp'] });
    expect(drift(await findings(till))).toEqual([]);

    // They capture again, origin included: a cloud edit reaches the till, the till's own push does not come back.
    await db.query(`UPDATE tags SET label = 'crimson', updated_at = $2 WHERE id = $1`, [uid(11), at(40_000)]);
    expectNoTableErrors(await till.sync('pull'));
    expect(localRows(till.local, 'tags').find((r) => r.id === uid(11))).toMatchObject({ label: 'crimson' });
    till.local.prepare(`UPDATE accounts SET balance = '175.00', updated_at = ? WHERE id = ?`).run(at(40_001), uid(1));
    expectNoTableErrors(await till.sync('push'));
    expect(await db.query(`SELECT origin FROM possync.changes WHERE tbl = 'public.accounts' ORDER BY xid DESC LIMIT 1`)).toEqual([{ origin: 'till-up' }]);
    const settled = await till.sync('both');
    expect(settled.tables.reduce((a, t) => a + t.inserted + t.updated + t.deleted, 0)).toBe(0);
  });
});
