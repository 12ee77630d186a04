import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { inSync } from '../../src/engine/compare.ts';
import { verifySchemas } from '../../src/engine/verify.ts';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { pgIdent } from '../../src/db/quote.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';
import { makeConfig } from '../support/config.ts';
import { openSqlite } from '../support/db.ts';
import { expectInSync, expectNoTableErrors, localRows, sidesDiff } from '../support/ledger.ts';

// Issue 23, point 3: a table taken out of the config leaves nothing behind that grows. On the
// till that is removed-tables.ts; in the cloud, the capture triggers stay while any live till
// syncs the table (in any direction) and go, with the table's change-log entries, once none does.
// A till that syncs it again gets a full, correct sync. Every test compares both sides row by row.

const PG = `CREATE TABLE clients (id text PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE tags (id text PRIMARY KEY, label text NOT NULL, updated_at timestamptz NOT NULL);`;
const SQLITE = `CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT NOT NULL, updated_at TEXT NOT NULL);`;
const CLIENTS = { name: 'clients', pk: 'id', updatedCol: 'updated_at' };
const TAGS = { name: 'tags', pk: 'id', updatedCol: 'updated_at' };
const ts = (n: number) => new Date(Date.UTC(2026, 0, 1, 8, 0, n)).toISOString();

let pair: Pair | undefined;
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
  await pair?.cleanup();
  pair = undefined;
});

async function seeded(label: string): Promise<Pair> {
  pair = await createPair(label, PG, SQLITE, { tables: [CLIENTS, TAGS] });
  await pair.db.query(`INSERT INTO clients SELECT 'c' || g, 'client ' || g, $1 FROM generate_series(1, 3) g`, [ts(0)]);
  await pair.db.query(`INSERT INTO tags SELECT 't' || g, 'tag ' || g, $1 FROM generate_series(1, 5) g`, [ts(0)]);
  return pair;
}

/** The same till with other tables (or another database role). */
function variant(p: Pair, till: PairTerminal, tables: unknown[], url = p.db.url): ResolvedConfig {
  return makeConfig({ sqlite: { path: till.sqlitePath }, postgres: { url }, terminalId: till.id, tables }, p.dir);
}

/** A run, checked against the rule that success means both sides are equal. */
async function sync(config: ResolvedConfig): Promise<RunResult> {
  const result = await runSync(config, { direction: 'both' });
  if (result.status === 'success') {
    const diffs = (await sidesDiff(config)).filter((d) => !inSync(d));
    expect(diffs, 'run reported success while the sides differ').toEqual([]);
  }
  return result;
}

async function okSync(config: ResolvedConfig): Promise<RunResult> {
  const r = await sync(config);
  expectNoTableErrors(r);
  return r;
}

const captureTriggers = async (p: Pair) =>
  (await p.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'public.tags'::regclass AND tgname LIKE 'possync\\_capture\\_%'`))[0]!.n;
const captureFunctions = async (p: Pair) =>
  (await p.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = 'possync'::regnamespace AND obj_description(oid, 'pg_proc') LIKE '% for public.tags %'`))[0]!.n;
/** The table's change-log entries: keyed ones (they grow with writes) and reload entries. */
const logged = async (p: Pair) =>
  (await p.db.query<{ keyed: number; reload: number }>(`SELECT count(*) FILTER (WHERE op <> 'T')::int AS keyed, count(*) FILTER (WHERE op = 'T')::int AS reload FROM possync.changes WHERE tbl = 'public.tags'`))[0]!;
const notesAbout = (r: RunResult) => r.warnings.filter((w) => w.startsWith('public.tags:'));
/** As if SWEEP_EVERY_MINUTES had passed since a till last looked for capture nobody needs. */
const sweepDue = (p: Pair) => p.db.query(`DELETE FROM possync.system_settings WHERE setting_key = 'possync.last_capture_sweep_at'`);

/** Makes a till look silent for 40 days (longer than retentionDays, 30): its registration, pulls and runs. */
async function silence(p: Pair, id: string): Promise<void> {
  await p.db.query(`UPDATE possync.system_settings SET updated_at = now() - interval '40 days' WHERE setting_key = $1`, [`possync.tables.${id}`]);
  await p.db.query(`UPDATE possync.terminals SET last_seen = now() - interval '40 days' WHERE terminal_id = $1`, [id]);
  await p.db.query(`UPDATE possync.sync_logs SET started_at = now() - interval '40 days' WHERE terminal_id = $1`, [id]);
}

async function cloudTags(p: Pair): Promise<Array<{ id: string; label: string }>> {
  return p.db.query(`SELECT id, label FROM tags ORDER BY id`);
}

describe('cloud capture of a table no till syncs any more', () => {
  it('stays while another till syncs it; goes with its change-log entries once none does; a till that adds it back syncs it in full', async () => {
    const p = await seeded('orphan_two_tills');
    const a = p.terminal('till-a');
    const b = p.terminal('till-b');
    await okSync(a.config);
    await okSync(b.config);

    // Till A lets go of tags; B still syncs it, so the cloud keeps capturing it.
    const aWithout = variant(p, a, [CLIENTS]);
    const aOut = await okSync(aWithout);
    expect(aOut.warnings.join('\n')).toMatch(/tags is no longer in the config: possync removed its capture triggers on this till/);
    expect(notesAbout(aOut)).toEqual([]);
    expect(await captureTriggers(p)).toBe(5);
    await p.db.query(`INSERT INTO tags VALUES ('t6', 'for b', $1)`, [ts(1)]);
    expect((await logged(p)).keyed).toBeGreaterThan(0);
    await okSync(b.config);
    expect(localRows(openSqliteOnce(b.sqlitePath), 'tags').map((r) => r.id)).toContain('t6');

    // Till B lets go too: nobody syncs tags, and the cloud stops capturing it.
    const bWithout = variant(p, b, [CLIENTS]);
    const bOut = await okSync(bWithout);
    expect(notesAbout(bOut)).toHaveLength(1);
    expect(notesAbout(bOut)[0]).toMatch(/^public\.tags: no till seen within 30 days syncs it any more: possync removed its Postgres capture triggers and \d+ change-log entr(y|ies); a till that syncs it again reinstalls them and syncs it in full$/);
    expect(await captureTriggers(p)).toBe(0);
    expect(await captureFunctions(p)).toBe(0);
    expect(await logged(p)).toEqual({ keyed: 0, reload: 1 });

    // Writes in the cloud add nothing to the change log now; later runs have nothing more to say.
    await p.db.query(`INSERT INTO tags VALUES ('t7', 'cloud, uncaptured', $1)`, [ts(2)]);
    await p.db.query(`UPDATE tags SET label = 'cloud edit', updated_at = $1 WHERE id = 't1'`, [ts(3)]);
    await p.db.query(`DELETE FROM tags WHERE id = 't5'`);
    expect(await logged(p)).toEqual({ keyed: 0, reload: 1 });
    expect(notesAbout(await okSync(aWithout))).toEqual([]);
    expect(notesAbout(await okSync(bWithout))).toEqual([]);
    expect(await logged(p)).toEqual({ keyed: 0, reload: 1 });

    // B adds tags back, with a row it wrote while the table was out of its config: capture comes
    // back, and the first sync brings both sides to the same rows.
    const bLocal = openSqliteOnce(b.sqlitePath);
    bLocal.prepare(`INSERT INTO tags VALUES ('t8', 'till, uncaptured', ?)`).run(ts(4));
    const back = await okSync(b.config);
    expect(back.warnings.join('\n')).toMatch(/installed Postgres capture triggers on "public"\."tags"/);
    expect(await captureTriggers(p)).toBe(5);
    await expectInSync(b.config);
    const cloud = await cloudTags(p);
    expect(cloud.map((r) => r.id)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8']);
    // t5 was deleted in the cloud while nobody captured it: B still had it, and a first sync is a
    // union of both sides (the till's row goes up); the cloud's newer edit of t1 wins by updated_at.
    expect(cloud.find((r) => r.id === 't1')!.label).toBe('cloud edit');

    // A adds it back too: both sides equal, and capture logs again.
    await okSync(a.config);
    await expectInSync(a.config);
    await p.db.query(`INSERT INTO tags VALUES ('t9', 'captured again', $1)`, [ts(5)]);
    expect((await logged(p)).keyed).toBeGreaterThan(0);
    await okSync(b.config);
    await okSync(a.config);
    await expectInSync(a.config);
    await expectInSync(b.config);
    expect(localRows(openSqliteOnce(a.sqlitePath), 'tags')).toEqual(localRows(openSqliteOnce(b.sqlitePath), 'tags'));
  });

  it('a till silent for longer than retentionDays does not keep it; when it returns it reinstalls capture and resyncs the table', async () => {
    const p = await seeded('orphan_silent_till');
    const a = p.terminal('till-a');
    const c = p.terminal('till-c');
    await okSync(a.config);
    await okSync(c.config);
    await silence(p, c.id);

    const aOut = await okSync(variant(p, a, [CLIENTS]));
    expect(notesAbout(aOut)[0]).toMatch(/possync removed its Postgres capture triggers/);
    expect(await captureTriggers(p)).toBe(0);

    // Meanwhile: cloud writes nobody captures, and an edit on the silent till (its own capture is intact).
    await p.db.query(`DELETE FROM tags WHERE id = 't2'`);
    await p.db.query(`UPDATE tags SET label = 'cloud edit', updated_at = $1 WHERE id = 't1'`, [ts(3)]);
    await p.db.query(`INSERT INTO tags VALUES ('t9', 'cloud new', $1)`, [ts(3)]);
    const cLocal = openSqliteOnce(c.sqlitePath);
    cLocal.prepare(`UPDATE tags SET label = 'till edit', updated_at = ? WHERE id = 't3'`).run(ts(4));

    // The till returns with tags still in its config. Its checkpoint is older than the reload
    // entry the reinstall logs, so it resyncs tags: the uncaptured delete reaches it too.
    const back = await okSync(c.config);
    expect(back.warnings.join('\n')).toMatch(/installed Postgres capture triggers on "public"\."tags"/);
    expect(await captureTriggers(p)).toBe(5);
    await expectInSync(c.config);
    const cloud = await cloudTags(p);
    expect(cloud.map((r) => r.id)).toEqual(['t1', 't3', 't4', 't5', 't9']);
    expect(cloud.find((r) => r.id === 't1')!.label).toBe('cloud edit');
    expect(cloud.find((r) => r.id === 't3')!.label).toBe('till edit');
    expect(localRows(cLocal, 'tags').map((r) => r.id)).toEqual(['t1', 't3', 't4', 't5', 't9']);
    // Nothing moves on the next run.
    const again = await okSync(c.config);
    expect(again.tables.reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0)).toBe(0);
  });

  it('a push-only till keeps the capture alive (its pushes read the cloud change log for contested keys)', async () => {
    const p = await seeded('orphan_push_only');
    const a = p.terminal('till-a');
    const pusher = p.terminal('till-p', { tables: [CLIENTS, { ...TAGS, direction: 'push' }] });
    await okSync(a.config);
    await okSync(pusher.config);

    const aOut = await okSync(variant(p, a, [CLIENTS]));
    expect(notesAbout(aOut)).toEqual([]);
    expect(await captureTriggers(p)).toBe(5);
    const before = (await logged(p)).keyed;
    await p.db.query(`UPDATE tags SET label = 'cloud edit', updated_at = $1 WHERE id = 't1'`, [ts(9)]);
    expect((await logged(p)).keyed).toBe(before + 1);
    // The push-only till's older edit of the same row is contested and loses to the cloud's newer one (lww).
    openSqliteOnce(pusher.sqlitePath).prepare(`UPDATE tags SET label = 'older till edit', updated_at = ? WHERE id = 't1'`).run(ts(5));
    await okSync(pusher.config);
    expect((await cloudTags(p)).find((r) => r.id === 't1')!.label).toBe('cloud edit');
    expect(await captureTriggers(p)).toBe(5);
  });
});

describe('tills on a possync from before the registry', () => {
  it('while one is live nothing is swept, and verify-schemas says why; once it is upgraded the capture goes', async () => {
    const p = await seeded('orphan_older_till');
    const a = p.terminal('till-a');
    const b = p.terminal('till-b');
    await okSync(a.config);
    await okSync(b.config);
    // An older possync does not register its tables (it still pulls and logs its runs).
    await p.db.query(`DELETE FROM possync.system_settings WHERE setting_key = 'possync.tables.till-b'`);
    const aWithout = variant(p, a, [CLIENTS]);
    expect(notesAbout(await okSync(aWithout))).toEqual([]);
    expect(await captureTriggers(p)).toBe(5);

    const gw = await PgGateway.open(aWithout);
    try {
      const notes = (await verifySchemas(aWithout, gw, openSqliteOnce(a.sqlitePath))).filter((f) => f.code === 'capture-orphaned');
      expect(notes.map((f) => [f.severity, f.message])).toEqual([
        ['info', 'Postgres table public.tags carries possync capture triggers and no till registered it, but till till-b runs a possync that does not register its tables: capture stays until every till seen within 30 days is upgraded'],
      ]);
    } finally {
      await gw.close();
    }

    // Till B, upgraded, no longer syncs tags either: now the capture goes.
    const bOut = await okSync(variant(p, b, [CLIENTS]));
    expect(notesAbout(bOut)[0]).toMatch(/possync removed its Postgres capture triggers/);
    expect(await captureTriggers(p)).toBe(0);
  });
});

describe('a run role that may only read and write rows (not the tables\' owner)', () => {
  it('cannot drop the triggers: it says so, keeps pruning the entries, and verify-schemas gives the owner the statements', async () => {
    const p = await seeded('orphan_dml_role');
    const a = p.terminal('till-a');
    await okSync(a.config);
    const role = `possync_t_dml_${randomBytes(3).toString('hex')}`;
    await p.db.query(`CREATE ROLE ${pgIdent(role)} LOGIN PASSWORD 'pw'`);
    cleanups.push(async () => {
      await p.db.query(`DROP OWNED BY ${pgIdent(role)} CASCADE`).catch(() => {});
      await p.cleanup();
      pair = undefined;
      const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
      await admin.connect();
      try {
        await admin.query(`DROP ROLE IF EXISTS ${pgIdent(role)}`);
      } finally {
        await admin.end();
      }
    });
    await p.db.query(`GRANT CONNECT ON DATABASE ${pgIdent(p.db.name)} TO ${pgIdent(role)};
      GRANT USAGE ON SCHEMA public, possync TO ${pgIdent(role)};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${pgIdent(role)};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA possync TO ${pgIdent(role)};`);
    const url = new URL(p.db.url);
    url.username = role;
    url.password = 'pw';
    const d = p.terminal('till-d');
    const dConfig = variant(p, d, [CLIENTS], url.toString());
    await silence(p, a.id);

    const first = await okSync(dConfig);
    expect(notesAbout(first)).toHaveLength(1);
    expect(notesAbout(first)[0]).toMatch(/^public\.tags: no till seen within 30 days syncs it any more, but possync's role may not drop its Postgres capture triggers \(only the table's owner may\), so they go on logging: possync deleted \d+ change-log entr(y|ies) and goes on pruning them \(every 10 minutes at most\)\. Run possync once as the table's owner, or: DROP TRIGGER IF EXISTS "possync_capture_\w+" ON "public"\."tags";/);
    expect(notesAbout(first)[0]).toContain('DROP TRIGGER IF EXISTS "possync_capture_ins" ON "public"."tags";');
    expect(await captureTriggers(p)).toBe(5);
    expect(await logged(p)).toEqual({ keyed: 0, reload: 1 });

    // The triggers still log; runs keep pruning what they wrote, every SWEEP_EVERY_MINUTES at most.
    await p.db.query(`INSERT INTO tags VALUES ('t6', 'x', $1)`, [ts(1)]);
    expect((await logged(p)).keyed).toBe(1);
    expect(notesAbout(await okSync(dConfig))).toEqual([]);
    expect((await logged(p)).keyed).toBe(1);
    await sweepDue(p);
    const second = await okSync(dConfig);
    expect(notesAbout(second)[0]).toMatch(/possync deleted 1 change-log entry and goes on pruning them \(every 10 minutes at most\)/);
    expect(await logged(p)).toEqual({ keyed: 0, reload: 1 });

    // verify-schemas names it as a note, with the statements for the owner.
    const gw = await PgGateway.open(dConfig);
    const local = openSqliteOnce(d.sqlitePath);
    try {
      const notes = (await verifySchemas(dConfig, gw, local)).filter((f) => f.code === 'capture-orphaned');
      expect(notes).toHaveLength(1);
      expect(notes[0]!.severity).toBe('info');
      expect(notes[0]!.message).toMatch(/^Postgres table public\.tags carries possync capture triggers, but no till seen within 30 days syncs it: possync's role may not drop them/);
      expect(notes[0]!.fix).toContain('DROP TRIGGER IF EXISTS "possync_capture_trunc" ON "public"."tags";');
      expect(notes[0]!.fix).toMatch(/DROP FUNCTION IF EXISTS "possync"\."capture_[0-9a-f]{16}_key"\(\);/);
    } finally {
      await gw.close();
    }

    // The owner runs possync once (a till without tags): the triggers go.
    const owner = await okSync(variant(p, a, [CLIENTS]));
    expect(notesAbout(owner)[0]).toMatch(/possync removed its Postgres capture triggers/);
    expect(await captureTriggers(p)).toBe(0);
    await expectInSync(dConfig);
  });
});

const opened: Array<ReturnType<typeof openSqlite>> = [];
/** A SQLite handle closed after the test. */
function openSqliteOnce(file: string) {
  const db = openSqlite(file);
  opened.push(db);
  return db;
}
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

describe('capture on inheritance children and partitions', () => {
  const ROUTED_PG = `${PG}
CREATE TABLE sales (sale_id text NOT NULL, day date NOT NULL, amount numeric(10,2), updated_at timestamptz NOT NULL, PRIMARY KEY (sale_id, day)) PARTITION BY RANGE (day);
CREATE TABLE a_sales_2025 PARTITION OF sales FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE notes (id text PRIMARY KEY, body text, updated_at timestamptz NOT NULL);
CREATE TABLE notes_old (PRIMARY KEY (id)) INHERITS (notes);`;
  const ROUTED_SQLITE = `${SQLITE}
CREATE TABLE sales (sale_id TEXT NOT NULL, day TEXT NOT NULL, amount NUMERIC, updated_at TEXT NOT NULL, PRIMARY KEY (sale_id, day));
CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, updated_at TEXT NOT NULL);`;
  const ROUTED = [CLIENTS, { name: 'sales', pk: ['sale_id', 'day'], updatedCol: 'updated_at' }, { name: 'notes', pk: 'id', updatedCol: 'updated_at' }];
  const triggersOn = async (p: Pair) =>
    p.db.query<{ rel: string; n: number }>(
      `SELECT c.relname AS rel, count(t.oid)::int AS n FROM pg_class c LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname LIKE 'possync\\_capture\\_%'
        WHERE c.relname IN ('sales', 'a_sales_2025', 'notes', 'notes_old') GROUP BY c.relname ORDER BY c.relname`,
    );

  // The partition sorts before its parent: its clone of the parent's key trigger is not dropped by itself.
  it('go with the parent\'s, and come back with it', async () => {
    const p = (pair = await createPair('orphan_routed', ROUTED_PG, ROUTED_SQLITE, { tables: ROUTED }));
    await p.db.query(`INSERT INTO sales VALUES ('s1', '2025-03-01', 9.5, $1); INSERT INTO notes_old VALUES ('n1', 'old', $1); INSERT INTO notes VALUES ('n2', 'new', $1)`.replace(/\$1/g, `'${ts(0)}'`));
    const till = p.terminal('till-1');
    await okSync(till.config);
    expect((await triggersOn(p)).every((r) => r.n > 0)).toBe(true);

    const out = await okSync(variant(p, till, [CLIENTS]));
    expect(out.warnings.filter((w) => /^public\.(sales|notes): .*possync removed its Postgres capture triggers/.test(w))).toHaveLength(2);
    expect(await triggersOn(p)).toEqual([
      { rel: 'a_sales_2025', n: 0 },
      { rel: 'notes', n: 0 },
      { rel: 'notes_old', n: 0 },
      { rel: 'sales', n: 0 },
    ]);
    expect(await p.db.query(`SELECT count(*)::int AS n FROM possync.changes WHERE tbl IN ('public.sales', 'public.notes') AND op <> 'T'`)).toEqual([{ n: 0 }]);
    await p.db.query(`INSERT INTO notes_old VALUES ('n3', 'uncaptured', '${ts(1)}'); INSERT INTO sales VALUES ('s2', '2025-04-01', 1.25, '${ts(1)}')`);
    expect(await p.db.query(`SELECT count(*)::int AS n FROM possync.changes WHERE tbl IN ('public.sales', 'public.notes') AND op <> 'T'`)).toEqual([{ n: 0 }]);

    const back = await okSync(till.config);
    expect(back.warnings.join('\n')).toMatch(/installed Postgres capture triggers/);
    expect((await triggersOn(p)).every((r) => r.n > 0)).toBe(true);
    await expectInSync(till.config);
    expect(localRows(openSqliteOnce(till.sqlitePath), 'notes').map((r) => r.id)).toEqual(['n1', 'n2', 'n3']);
  });
});
