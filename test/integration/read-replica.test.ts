import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/db.ts';
import { startStreamingPair, type StreamingPair } from '../support/replica.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { makeTill, type Till } from '../support/tills.ts';

// postgres.readUrl: pulls read a real hot standby streaming from its own embedded primary, both
// started here. Pushes and bookkeeping go to the primary; the pull's one transaction goes to the
// standby unless it cannot serve this till correctly, and then the primary serves and the run's
// notes say why (src/engine/pull/read-source.ts).
const PG = `CREATE TABLE items (id text PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL DEFAULT now());`;
const SQLITE = `CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);`;

describe('pulls from a hot standby (postgres.readUrl)', () => {
  let pair: StreamingPair;
  let tmp: ReturnType<typeof tempDir>;
  let db: string;
  let n = 0;
  const tills: Till[] = [];

  beforeAll(async () => {
    pair = await startStreamingPair();
    tmp = tempDir();
  }, 180_000);
  afterAll(async () => {
    await pair?.stop();
    tmp?.cleanup();
  });
  beforeEach(async () => {
    db = `replica_${++n}`;
    await pair.primary.createDatabase(db);
    await primary((c) => c.query(PG));
    await pair.standby.catchUp();
  });
  afterEach(async () => {
    for (const t of tills.splice(0)) t.close();
    await pair.standby.start();
    await pair.standby.query(`SELECT pg_wal_replay_resume()`);
  });

  async function primary<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: pair.primary.url(db) });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }
  function till(id: string, extra: Record<string, unknown> = {}): Till {
    const t = makeTill(tmp.dir, `${id}_${n}`, SQLITE, {
      postgres: { url: pair.primary.url(db), readUrl: pair.standby.url(db), connectTimeoutSeconds: 3, ...extra },
      batchSize: 50,
      tables: [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }],
    });
    tills.push(t);
    return t;
  }
  const rows = (t: Till) => t.local.prepare(`SELECT id, name FROM items ORDER BY id`).all() as Array<{ id: string; name: string }>;
  const cloud = () => primary(async (c) => (await c.query<{ id: string; name: string }>(`SELECT id, name FROM items ORDER BY id`)).rows);
  const insertLocal = (t: Till, id: string, name: string) => t.local.prepare(`INSERT INTO items VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`).run(id, name);
  const pullCheckpoint = (t: Till) => {
    const row = t.local.prepare(`SELECT setting_value AS v FROM system_settings WHERE setting_key = ?`).get(`sync.checkpoint.${t.id}.pull.items`) as { v: string };
    return JSON.parse(row.v) as { xid: string; snapshot: string };
  };
  /** Whether a checkpoint's snapshot counts the transaction `xid` as seen (asked of the primary). */
  const seenBy = (snapshot: string, xid: string) => primary(async (c) => (await c.query<{ v: boolean }>(`SELECT pg_visible_in_snapshot($1::xid8, $2::pg_snapshot) AS v`, [xid, snapshot])).rows[0]!.v);
  const ok = (r: RunResult) => {
    expect(r.error).toBeUndefined();
    expect(r.tables.every((x) => x.status === 'success')).toBe(true);
  };

  it('serves the pull from the standby: a row the standby has not replayed is not pulled, and the checkpoint stays below it', async () => {
    const a = till('a');
    const b = till('b');
    insertLocal(a, 'i1', 'one');
    ok(await a.sync('push'));
    await pair.standby.catchUp();
    const first = await b.sync('pull');
    ok(first);
    expect(first.pullServer).toMatchObject({ server: 'standby' });
    expect(first.warnings.some((w) => w.startsWith(`pull served by the standby at postgresql://postgres:***@127.0.0.1:${pair.standby.port}/${db}`))).toBe(true);
    expect(rows(b)).toEqual([{ id: 'i1', name: 'one' }]);

    // A cloud-side write the standby has not replayed: the pull from the standby does not see it.
    await pair.standby.query(`SELECT pg_wal_replay_pause()`);
    const xid = await primary(async (c) => (await c.query<{ x: string }>(`INSERT INTO items (id, name) VALUES ('i2', 'cloud') RETURNING pg_current_xact_id()::text AS x`)).rows[0]!.x);
    const lagging = await b.sync('pull');
    ok(lagging);
    expect(lagging.pullServer).toMatchObject({ server: 'standby' });
    expect(rows(b)).toEqual([{ id: 'i1', name: 'one' }]);
    const cp = pullCheckpoint(b);
    expect(BigInt(cp.xid)).toBeLessThanOrEqual(BigInt(xid));
    expect(await seenBy(cp.snapshot, xid)).toBe(false);

    await pair.standby.query(`SELECT pg_wal_replay_resume()`);
    await pair.standby.catchUp();
    const after = await b.sync('pull');
    ok(after);
    expect(after.pullServer).toMatchObject({ server: 'standby' });
    expect(rows(b)).toEqual(await cloud());
    expect(await seenBy(pullCheckpoint(b).snapshot, xid)).toBe(true);
  });

  it('a transaction still open on the primary during a standby pull is pulled once it commits', async () => {
    const b = till('b');
    ok(await b.sync('pull'));
    // On a standby pg_current_snapshot() does not list open transactions; recorded as is, the
    // checkpoint would count this one as seen and its row would never arrive.
    const open = new pg.Client({ connectionString: pair.primary.url(db) });
    await open.connect();
    try {
      await open.query(`BEGIN`);
      const xid = (await open.query<{ x: string }>(`INSERT INTO items (id, name) VALUES ('late', 'late') RETURNING pg_current_xact_id()::text AS x`)).rows[0]!.x;
      await primary((c) => c.query(`INSERT INTO items (id, name) VALUES ('early', 'early')`));
      await pair.standby.catchUp();
      const during = await b.sync('pull');
      ok(during);
      expect(during.pullServer).toMatchObject({ server: 'standby' });
      expect(rows(b)).toEqual([{ id: 'early', name: 'early' }]);
      expect(await seenBy(pullCheckpoint(b).snapshot, xid)).toBe(false);
      await open.query(`COMMIT`);
    } finally {
      await open.end();
    }
    await pair.standby.catchUp();
    const after = await b.sync('pull');
    ok(after);
    expect(after.pullServer).toMatchObject({ server: 'standby' });
    expect(rows(b)).toEqual([
      { id: 'early', name: 'early' },
      { id: 'late', name: 'late' },
    ]);
  });

  it("a till whose own push the standby has not replayed pulls from the primary: nothing lost, nothing twice, converged after replay resumes", async () => {
    const a = till('a');
    const c = till('c');
    insertLocal(c, 'x', 'from c');
    insertLocal(c, 'y', 'from c');
    ok(await c.sync('both'));
    await pair.standby.catchUp();
    ok(await a.sync('pull'));
    // c changes y after a's pull, so y is in a's next window; the standby replays it.
    c.local.prepare(`UPDATE items SET name = 'c again', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = 'y'`).run();
    ok(await c.sync('push'));
    await pair.standby.catchUp();
    await pair.standby.query(`SELECT pg_wal_replay_pause()`);

    // a deletes y and adds z while the standby is paused. A pull from the standby would fetch y as
    // it was (c's version, replayed) and bring it back, and the next pull would skip a's delete as
    // its own: the till would keep y for good.
    await new Promise((r) => setTimeout(r, 5));
    a.local.prepare(`DELETE FROM items WHERE id = 'y'`).run();
    insertLocal(a, 'z', 'from a');
    const both = await a.sync('both');
    ok(both);
    expect(both.pullServer?.server).toBe('primary');
    expect(both.pullServer?.reason).toMatch(/has not replayed this till's last writes/);
    expect(both.warnings).toContain(`pull served by the primary: ${both.pullServer!.reason}`);
    expect(await cloud()).toEqual([
      { id: 'x', name: 'from c' },
      { id: 'z', name: 'from a' },
    ]);
    expect(rows(a)).toEqual(await cloud());

    // c pulls from the paused standby meanwhile: it does not see a's writes yet, and loses nothing.
    const cLag = await c.sync('pull');
    ok(cLag);
    expect(cLag.pullServer?.server, cLag.pullServer?.reason).toBe('standby');
    expect(rows(c)).toEqual([
      { id: 'x', name: 'from c' },
      { id: 'y', name: 'c again' },
    ]);

    await pair.standby.query(`SELECT pg_wal_replay_resume()`);
    await pair.standby.catchUp();
    for (const t of [a, c]) {
      const r = await t.sync('both');
      ok(r);
      expect(r.pullServer?.server).toBe('standby');
      expect(r.tables.filter((x) => x.step === 'pull').reduce((s, x) => s + x.inserted + x.updated + x.deleted, 0)).toBe(t === c ? 2 : 0);
    }
    // Row by row, each till equals the cloud; and another round moves nothing.
    expect(rows(a)).toEqual(await cloud());
    expect(rows(c)).toEqual(await cloud());
    for (const t of [a, c]) {
      const r = await t.sync('both');
      expect(r.tables.reduce((s, x) => s + x.inserted + x.updated + x.deleted, 0)).toBe(0);
    }
  }, 180_000);

  it('a standby further behind than postgres.readMaxLagSeconds does not serve the pull', async () => {
    const b = till('b', { readMaxLagSeconds: 1 });
    ok(await b.sync('pull'));
    await pair.standby.query(`SELECT pg_wal_replay_pause()`);
    await primary((c) => c.query(`INSERT INTO items (id, name) VALUES ('i1', 'cloud')`));
    await new Promise((r) => setTimeout(r, 1_500));
    const r = await b.sync('pull');
    ok(r);
    expect(r.pullServer?.server).toBe('primary');
    expect(r.pullServer?.reason).toMatch(/ s behind \(postgres\.readMaxLagSeconds 1\)$/);
    expect(rows(b)).toEqual(await cloud());
  });

  it('a readUrl that is not a standby (a promoted replica, or the primary by mistake): the primary serves, and the note says why', async () => {
    const a = till('a');
    const b = till('b', { readUrl: pair.primary.url(db) });
    insertLocal(a, 'p1', 'promoted');
    ok(await a.sync('push'));
    const r = await b.sync('pull');
    ok(r);
    expect(r.pullServer?.server).toBe('primary');
    expect(r.pullServer?.reason).toMatch(/ \(postgres\.readUrl\) is not a standby \(not in recovery\)$/);
    expect(rows(b)).toEqual(await cloud());
  });

  it('a standby that is down: the primary serves the pull, exit 0, and one note line says so', async () => {
    const a = till('a');
    const b = till('b');
    insertLocal(a, 'i1', 'one');
    ok(await a.sync('push'));
    await pair.standby.stop();
    const run = await b.cli('pull');
    expect(run.code).toBe(0);
    expect(run.result?.pullServer?.server).toBe('primary');
    const note = run.result!.warnings.find((w) => w.startsWith('pull served by the primary'));
    expect(note).toMatch(new RegExp(`^pull served by the primary: the standby at postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${pair.standby.port}/${db} is unreachable: .*ECONNREFUSED`));
    expect(note).not.toContain('\n');
    expect(rows(b)).toEqual(await cloud());
    // `status` names the server that served the last pull.
    const status = await runCli(['status', '--config', b.configPath], { cwd: tmp.dir, env: { NO_COLOR: '1' } });
    expect(status.code).toBe(0);
    expect(status.stdout.split('\n')).toContain(`last ${note}`);
  }, 180_000);

  it('a pull the standby cancels on a recovery conflict is redone on the primary', async () => {
    const a = till('a');
    const b = till('b', { readMaxLagSeconds: 600 });
    for (let i = 0; i < 3000; i++) insertLocal(a, `k${String(i).padStart(5, '0')}`, `row ${i}`);
    ok(await a.sync('push'));
    await pair.standby.catchUp();
    ok(await b.sync('pull'));
    // 3000 changed keys, read in windows of 50: long enough for the conflict to land mid-pull.
    await primary((c) => c.query(`UPDATE items SET name = name || ' changed', updated_at = now()`));
    await pair.standby.catchUp();
    // Conflicts are resolved at once (no grace period) for this test only.
    await pair.standby.query(`ALTER SYSTEM SET max_standby_streaming_delay = 0`);
    await pair.standby.query(`SELECT pg_reload_conf()`);
    try {
      let fired: Promise<unknown> | undefined;
      // Once the pull is under way on the standby, an ACCESS EXCLUSIVE lock on the primary replays
      // on the standby and conflicts with the pull's lock on the table.
      const r = await b.sync('pull', {
        onProgress: () => {
          // Committed with synchronous_commit on, so its WAL is flushed and streamed at once.
          fired ??= primary((c) => c.query(`BEGIN; SET LOCAL synchronous_commit = on; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; COMMIT`));
          // Each later batch is slowed down a little, so the pull is still open when the lock lands.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        },
      });
      await fired;
      ok(r);
      expect(fired).toBeDefined();
      expect(r.pullServer?.server).toBe('primary');
      expect(r.pullServer?.reason).toMatch(/^the standby at \S+ (cancelled it on a recovery conflict|ended its session \(a recovery conflict, or the standby stopped\))/);
      expect(rows(b)).toEqual(await cloud());
      expect(rows(b)).toHaveLength(3000);
      expect(rows(b).every((x) => x.name.endsWith(' changed'))).toBe(true);
      const [conflicts] = await pair.standby.query<{ n: string }>(`SELECT confl_lock::text AS n FROM pg_stat_database_conflicts WHERE datname = $1`, [db]);
      expect(Number(conflicts!.n)).toBeGreaterThan(0);
    } finally {
      await pair.standby.query(`ALTER SYSTEM RESET max_standby_streaming_delay`);
      await pair.standby.query(`SELECT pg_reload_conf()`);
    }
  }, 180_000);
  it('a standby whose link goes silent mid-pull: the pull is cut after readTimeoutSeconds and redone on the primary', async () => {
    const a = till('a');
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: pair.standby.port });
    try {
      const b = till('b', { readUrl: proxy.via(pair.standby.url(db)), readMaxLagSeconds: 600, readTimeoutSeconds: 3, lockTimeoutSeconds: 2 });
      for (let i = 0; i < 3000; i++) insertLocal(a, `s${String(i).padStart(5, '0')}`, `row ${i}`);
      ok(await a.sync('push'));
      await pair.standby.catchUp();
      const first = await b.sync('pull');
      ok(first);
      expect(first.pullServer?.server).toBe('standby');
      await primary((c) => c.query(`UPDATE items SET name = name || ' changed', updated_at = now()`));
      await pair.standby.catchUp();
      // Packets to and from the standby stop while the pull reads it; the primary's link is fine.
      const r = await b.sync('pull', { onProgress: () => proxy.silent() });
      ok(r);
      expect(proxy.mode).toBe('silent');
      expect(r.pullServer?.server).toBe('primary');
      expect(r.pullServer?.reason).toMatch(/sent nothing for 3 s/);
      expect(rows(b)).toEqual(await cloud());
      expect(rows(b).every((x) => x.name.endsWith(' changed'))).toBe(true);
    } finally {
      await proxy.close();
    }
  }, 180_000);
});
