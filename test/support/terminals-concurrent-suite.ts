import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedRows, createLedger, expectInSync, expectNoTableErrors, SQLITE_DDL, uid, type Ledger, type LedgerOptions, type Terminal } from './ledger.ts';
import { cliTrigger, runProblems, type CliRun } from './tills.ts';

// Guarantee 9, many tills at the same moment: N terminals run `trigger --direction both` at once
// against one Postgres, several of them editing the same catalogue rows with distinct updated_at
// values, while inserting sales that reference those rows (their FK checks lock the rows the other
// terminals update). No run may fail (a deadlock or serialization failure is retried inside the
// run), no edit may be lost, and once everyone has synced twice in turn, every terminal equals
// Postgres and the newest edit of each shared row has won everywhere.
//
// Keys (uid(n, prefix)): 1 = catalogue accounts, 10+i = till i's entries, 20+i = till i's tags.
const N = 6;
const CATALOGUE = 8;
const HOT = [1, 2, 3, 4]; // catalogue rows every round's editors all change
const ACCOUNT = (n: number) => uid(n, 1);

/** What Postgres and every terminal must hold at the end. */
interface Model {
  /** catalogue row → newest edit so far */
  hot: Map<string, { stamp: number; name: string; balance: string }>;
  entries: Map<string, { amount: string; deleted: boolean }>;
  tags: Set<string>;
}

/**
 * Where the tills reach Postgres. Direct by default; test/integration/pgbouncer-terminals.test.ts
 * runs the same workloads with every till's postgres.url pointing at a PgBouncer in transaction
 * pooling mode, while the checks still read Postgres directly.
 */
export interface TillRoute {
  /** Shown in the describe names. */
  label: string;
  /** The till's postgres.url for a database whose direct URL is given. */
  tillUrl(directUrl: string): string;
}

/** The many-tills concurrency tests (guarantee 9), through `route` when given. */
export function describeConcurrentTerminals(route?: TillRoute): void {
  const via = route ? ` (${route.label})` : '';
  const ledgerOptions = (o: LedgerOptions): LedgerOptions => (route ? { ...o, tillUrl: (url) => route.tillUrl(url) } : o);
  describe(`${N} terminals syncing at the same moment${via}`, () => {
    let ledger: Ledger;
    let tills: Terminal[];
    const model: Model = { hot: new Map(), entries: new Map(), tags: new Set() };
    const base = Date.now();
    let serial = 0;

    beforeAll(async () => {
      ledger = await createLedger('terminals_concurrent', ledgerOptions({ batchSize: 10 }));
      // Each till starts with the same catalogue (imaged with it before possync) plus a few rows of
      // its own, and possync is not installed in Postgres yet.
      const seed = Array.from({ length: CATALOGUE }, (_, i) => `INSERT INTO accounts (id, name, balance, updated_at) VALUES ('${ACCOUNT(i + 1)}', 'seed', '10.00', '2026-01-01T00:00:00.000Z');`).join('\n');
      tills = Array.from({ length: N }, (_, i) => ledger.terminal(`till-${i}`, { sqliteSql: SQLITE_DDL + seed }));
      for (const [i, t] of tills.entries()) {
        for (let k = 0; k < 3; k++) newEntry(t, i, 1 + (k % CATALOGUE));
        newTag(t, i);
      }
    });
    afterAll(async () => {
      await ledger.cleanup();
    });

    function newEntry(t: Terminal, i: number, account: number): void {
      const id = uid(++serial, 10 + i);
      const amount = `${serial}.25`;
      t.local.prepare(`INSERT INTO entries (id, account_id, amount, note, updated_at) VALUES (?, ?, ?, 'sale', ?)`).run(id, ACCOUNT(account), amount, new Date(base + serial).toISOString());
      model.entries.set(id, { amount, deleted: false });
    }
    function newTag(t: Terminal, i: number): void {
      const id = uid(++serial, 20 + i);
      t.local.prepare(`INSERT INTO tags (id, label, updated_at) VALUES (?, ?, ?)`).run(id, `tag ${serial}`, new Date(base + serial).toISOString());
      model.tags.add(id);
    }
    const own = (i: number, prefix: number, set: Iterable<string>) => [...set].filter((id) => id.startsWith(String(prefix + i).padStart(8, '0')));

    /**
     * One round of local work on every till: editors of this round change every hot row (each with
     * its own updated_at, so there is one newest edit per row), everyone sells (entries pointing at
     * hot rows), corrects and voids earlier sales of its own, and adds and hard-deletes tags.
     */
    function localWork(round: number): void {
      tills.forEach((t, i) => {
        if ((i + round) % 3 !== 0) {
          for (const h of HOT) {
            const stamp = base + round * 600_000 + ((i + h) % N) * 1000 + 500;
            const name = `till-${i} round ${round}`;
            const balance = `${round}${i}.${h}0`;
            t.local.prepare(`UPDATE accounts SET name = ?, balance = ?, updated_at = ? WHERE id = ?`).run(name, balance, new Date(stamp).toISOString(), ACCOUNT(h));
            const prev = model.hot.get(ACCOUNT(h));
            if (!prev || prev.stamp < stamp) model.hot.set(ACCOUNT(h), { stamp, name, balance });
          }
        }
        for (let k = 0; k < 6; k++) newEntry(t, i, HOT[(i + k) % HOT.length]!);
        const mine = own(i, 10, model.entries.keys()).filter((id) => !model.entries.get(id)!.deleted);
        for (const id of mine.slice(0, 2)) {
          const amount = `${round}00.${i}5`;
          t.local.prepare(`UPDATE entries SET amount = ?, updated_at = ? WHERE id = ?`).run(amount, new Date(base + round * 600_000 + 400_000 + i).toISOString(), id);
          model.entries.set(id, { amount, deleted: false });
        }
        const voidId = mine[2];
        if (voidId) {
          const at = new Date(base + round * 600_000 + 450_000 + i).toISOString();
          t.local.prepare(`UPDATE entries SET deleted_at = ?, updated_at = ? WHERE id = ?`).run(at, at, voidId);
          model.entries.set(voidId, { ...model.entries.get(voidId)!, deleted: true });
        }
        const tag = own(i, 20, model.tags)[0];
        if (tag) {
          t.local.prepare(`DELETE FROM tags WHERE id = ?`).run(tag);
          model.tags.delete(tag);
        }
        newTag(t, i);
        newTag(t, i);
      });
    }

    async function everyoneAtOnceCli(): Promise<string[]> {
      const runs: CliRun[] = await Promise.all(tills.map((t) => cliTrigger(t.configPath, 'both', ledger.dir)));
      return runs.flatMap((r, i) => (r.code === 0 ? runProblems(tills[i]!.id, r.result) : [`${tills[i]!.id}: exit ${r.code}: ${r.stderr.slice(-1500)}`, ...runProblems(tills[i]!.id, r.result)]));
    }

    async function everyoneAtOnceInProcess(): Promise<string[]> {
      const settled = await Promise.allSettled(tills.map((t) => t.sync('both')));
      return settled.flatMap((s, i) => (s.status === 'fulfilled' ? runProblems(tills[i]!.id, s.value) : [`${tills[i]!.id}: threw ${String(s.reason)}`]));
    }

    /** Every till syncs `both` twice, one after the other, then everything must agree. */
    async function quiesceAndCheck(): Promise<void> {
      for (let round = 0; round < 2; round++) for (const t of tills) expectNoTableErrors(await t.sync('both'));
      for (const t of tills) await expectInSync(t.config);

      const cloudHot = await ledger.db.query<{ id: string; name: string; balance: string }>(`SELECT id::text AS id, name, balance::text AS balance FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id`, [
        HOT.map(ACCOUNT),
      ]);
      const wantHot = HOT.map((h) => ({ id: ACCOUNT(h), name: model.hot.get(ACCOUNT(h))?.name ?? 'seed', balance: model.hot.get(ACCOUNT(h))?.balance ?? '10.00' }));
      expect(cloudHot, 'the newest edit of each shared row wins in Postgres').toEqual(wantHot);
      for (const t of tills) expect(t.local.prepare(`SELECT id, name, balance FROM accounts WHERE id IN (${HOT.map(() => '?').join(', ')}) ORDER BY id`).all(...HOT.map(ACCOUNT)), t.id).toEqual(wantHot);

      const cloudEntries = await ledger.db.query<{ id: string; amount: string; deleted: boolean }>(`SELECT id::text AS id, amount::text AS amount, deleted_at IS NOT NULL AS deleted FROM entries`);
      const got = new Map(cloudEntries.map((e) => [e.id, { amount: e.amount, deleted: e.deleted }]));
      const lost = [...model.entries].filter(([id, want]) => JSON.stringify(got.get(id)) !== JSON.stringify(want)).map(([id, want]) => `${id}: want ${JSON.stringify(want)}, pg ${JSON.stringify(got.get(id))}`);
      expect(lost, 'every sale, correction and void is in Postgres').toEqual([]);
      expect(got.size).toBe(model.entries.size);
      const cloudTags = (await ledger.db.query<{ id: string }>(`SELECT id::text AS id FROM tags ORDER BY id`)).map((r) => r.id);
      expect(cloudTags).toEqual([...model.tags].sort());

      for (const t of tills) expect(appliedRows(await t.sync('both')), `${t.id} moved rows after convergence`).toBe(0);
    }

    it('first runs at the same moment: possync installs once, identical catalogues merge, nothing fails', async () => {
      expect(await everyoneAtOnceCli()).toEqual([]);
      await quiesceAndCheck();
      const installed = await ledger.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_trigger WHERE tgname = 'possync_capture_ins'`);
      expect(installed[0]!.n).toBe('5');
    }, 300_000);

    it('first runs started in the same instant (in-process, three fresh databases): none fails, all converge', async () => {
      // Subprocesses start a few hundred ms apart; started from one process the runs meet at the
      // install step: each saw possync missing, queues on the install lock, and re-runs the
      // install DDL while the first terminal is already pushing.
      for (let rep = 0; rep < 3; rep++) {
        const fresh = await createLedger(`terminals_first_${rep}`, ledgerOptions({ batchSize: 10 }));
        try {
          const seed = Array.from({ length: CATALOGUE }, (_, i) => `INSERT INTO accounts (id, name, balance, updated_at) VALUES ('${ACCOUNT(i + 1)}', 'seed', '10.00', '2026-01-01T00:00:00.000Z');`).join('\n');
          const ts = Array.from({ length: N }, (_, i) => fresh.terminal(`till-${i}`, { sqliteSql: SQLITE_DDL + seed }));
          ts.forEach((t, i) => {
            const ins = t.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '1.00', '2026-01-01T00:00:00.000Z')`);
            for (let k = 0; k < 30; k++) ins.run(uid(k + 1, 10 + i), ACCOUNT(1 + (k % CATALOGUE)));
          });
          const settled = await Promise.allSettled(ts.map((t) => t.sync('both')));
          const problems = settled.flatMap((x, i) => (x.status === 'fulfilled' ? runProblems(ts[i]!.id, x.value) : [`${ts[i]!.id}: threw ${(x.reason as Error).message} (${(x.reason as { code?: string }).code})`]));
          expect(problems, `fresh database ${rep + 1}`).toEqual([]);
          for (let round = 0; round < 2; round++) for (const t of ts) expectNoTableErrors(await t.sync('both'));
          for (const t of ts) await expectInSync(t.config);
        } finally {
          await fresh.cleanup();
        }
      }
    }, 300_000);

    it('same rows edited on several tills, everyone syncing at once as subprocesses: no run fails, no edit is lost, newest wins', async () => {
      for (let round = 1; round <= 2; round++) {
        localWork(round);
        expect(await everyoneAtOnceCli(), `round ${round}`).toEqual([]);
      }
      await quiesceAndCheck();
    }, 400_000);

    it('the same with concurrent in-process runs (separate gateways per run), more rounds', async () => {
      for (let round = 3; round <= 7; round++) {
        localWork(round);
        expect(await everyoneAtOnceInProcess(), `round ${round}`).toEqual([]);
      }
      await quiesceAndCheck();
      // Every edit that lost a push conflict is on record with both versions.
      const conflicts = await ledger.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM possync.conflicts WHERE local_row IS NOT NULL AND server_row IS NOT NULL AND tbl = 'accounts'`);
      expect(Number(conflicts[0]!.n)).toBeGreaterThan(0);
    }, 300_000);
  });

  describe(`tills creating the same new rows at the same moment, with slow writes${via}`, () => {
    // Rows several tills create under the same natural key (a shelf count per SKU), written in a
    // different order on each till. An app trigger makes every write take a few milliseconds, so
    // the pushes overlap for long: inserts of the same new keys in opposite orders deadlock unless
    // they are ordered, and an insert that waits for another till's insert of the same key must
    // still let the newer updated_at win.
    const EXTRA_PG = `
  CREATE TABLE counts (sku text PRIMARY KEY, qty integer NOT NULL, counted_by text NOT NULL, updated_at timestamptz(3) NOT NULL);
  CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.004); RETURN NEW; END $$;
  CREATE TRIGGER slow_write BEFORE INSERT OR UPDATE ON counts FOR EACH ROW EXECUTE FUNCTION slow_write();`;
    const EXTRA_SQLITE = `CREATE TABLE counts (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL, counted_by TEXT NOT NULL, updated_at TEXT NOT NULL);`;
    const SKUS = Array.from({ length: 40 }, (_, i) => `SKU-${String(i).padStart(3, '0')}`);
    const TILLS = 4;
    let ledger: Ledger;

    beforeAll(async () => {
      ledger = await createLedger('terminals_same_new', ledgerOptions({ batchSize: 40, extraPg: EXTRA_PG, extraSqlite: EXTRA_SQLITE, extraTables: [{ name: 'counts', pk: 'sku', updatedCol: 'updated_at' }] }));
    });
    afterAll(async () => {
      await ledger.cleanup();
    });

    it('no push fails, and for every key the newest count wins everywhere', async () => {
      const tills = Array.from({ length: TILLS }, (_, i) => ledger.terminal(`till-${i}`));
      for (const t of tills) expectNoTableErrors(await t.sync('both')); // installed before the race
      const base = Date.now();
      const newest = new Map<string, { qty: number; counted_by: string; stamp: number }>();
      tills.forEach((t, i) => {
        const order = i % 2 === 0 ? SKUS : [...SKUS].reverse();
        const ins = t.local.prepare(`INSERT INTO counts (sku, qty, counted_by, updated_at) VALUES (?, ?, ?, ?)`);
        t.local.transaction(() => {
          order.forEach((sku, k) => {
            // Distinct stamps; which till is newest differs from key to key.
            const stamp = base + ((k * 7 + i * 13) % (TILLS * 10)) * 10 + i;
            ins.run(sku, 100 * i + k, t.id, new Date(stamp).toISOString());
            const prev = newest.get(sku);
            if (!prev || prev.stamp < stamp) newest.set(sku, { qty: 100 * i + k, counted_by: t.id, stamp });
          });
        })();
      });
      const deadlocks = async () => Number((await ledger.db.query<{ n: string }>(`SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()`))[0]!.n);
      const before = await deadlocks();
      const settled = await Promise.allSettled(tills.map((t) => t.sync('push')));
      const problems = settled.flatMap((x, i) => (x.status === 'fulfilled' ? runProblems(tills[i]!.id, x.value) : [`${tills[i]!.id}: threw ${(x.reason as Error).message}`]));
      expect(problems).toEqual([]);

      for (let round = 0; round < 2; round++) for (const t of tills) expectNoTableErrors(await t.sync('both'));
      for (const t of tills) await expectInSync(t.config);
      const cloud = await ledger.db.query<{ sku: string; qty: number; counted_by: string }>(`SELECT sku, qty, counted_by FROM counts ORDER BY sku`);
      const want = SKUS.map((sku) => ({ sku, qty: newest.get(sku)!.qty, counted_by: newest.get(sku)!.counted_by }));
      const wrong = want.filter((w, k) => JSON.stringify(cloud[k]) !== JSON.stringify(w)).map((w) => `${w.sku}: want ${w.counted_by}, pg ${cloud.find((c) => c.sku === w.sku)?.counted_by}`);
      // Deadlocks Postgres detected (each one a batch the engine retried), for the failure message.
      const seen = (await deadlocks()) - before;
      expect(wrong, `the newest count must win (${seen} deadlocks retried)`).toEqual([]);
    }, 300_000);
  });

  describe(`tills selling against catalogue rows that other tills are editing, with slow writes${via}`, () => {
    // A sale's FK check takes FOR KEY SHARE on its product row, in the order of the sale batch; a
    // catalogue push locks the rows it edits in key order. If that lock conflicts with FOR KEY SHARE
    // (FOR UPDATE does, FOR NO KEY UPDATE does not), a sale batch holding a late key and waiting for
    // an early one deadlocks with an edit batch holding the early key and waiting for the late one.
    // An app trigger that slows catalogue writes keeps edit batches holding their locks for long,
    // as a busy server would: the deadlocks must be retried away, or better, not happen.
    const EXTRA_PG = `
  CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN NEW; END $$;
  CREATE TRIGGER slow_write BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION slow_write();
  -- Fires after each row's FK check (AFTER ROW triggers run in name order, RI_… first): the sale
  -- batch takes its FOR KEY SHARE locks one by one, slowly.
  CREATE TRIGGER zz_slow_after AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION slow_write();`;
    const HOT_ROWS = 20;
    let ledger: Ledger;

    beforeAll(async () => {
      ledger = await createLedger('terminals_fk_locks', ledgerOptions({ batchSize: 50, extraPg: EXTRA_PG }));
    });
    afterAll(async () => {
      await ledger.cleanup();
    });

    it('no push fails on a deadlock, no sale is lost, the newest edit wins', async () => {
      for (let n = 1; n <= HOT_ROWS; n++) await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'seed', 0, '2026-01-01T00:00:00Z')`, [ACCOUNT(n)]);
      const editors = [0, 1, 2, 3].map((i) => ledger.terminal(`editor-${i}`));
      const sellers = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ledger.terminal(`seller-${i}`));
      for (const t of [...editors, ...sellers]) expectNoTableErrors(await t.sync('both'));
      const base = Date.now();
      const newest = new Map<string, { name: string; stamp: number }>();
      const sold: string[] = [];
      let serial = 0;
      const problems: string[] = [];
      for (let round = 1; round <= 4; round++) {
        editors.forEach((t, i) => {
          for (let n = 1; n <= HOT_ROWS; n++) {
            const stamp = base + round * 100_000 + ((n * 3 + i * 7) % 9) * 100 + i;
            const name = `${t.id} round ${round}`;
            t.local.prepare(`UPDATE accounts SET name = ?, updated_at = ? WHERE id = ?`).run(name, new Date(stamp).toISOString(), ACCOUNT(n));
            if ((newest.get(ACCOUNT(n))?.stamp ?? 0) < stamp) newest.set(ACCOUNT(n), { name, stamp });
          }
        });
        sellers.forEach((t, i) => {
          const ins = t.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '1.00', ?)`);
          // Sales point at the hot rows from the last to the first (or shuffled): late keys first.
          for (let k = 0; k < 40; k++) {
            const id = uid(++serial, 30 + i);
            ins.run(id, ACCOUNT(i === 0 ? HOT_ROWS - (k % HOT_ROWS) : 1 + ((k * 7 + i) % HOT_ROWS)), new Date(base + serial).toISOString());
            sold.push(id);
          }
        });
        const all = [...editors, ...sellers];
        const settled = await Promise.allSettled(all.map((t) => t.sync('push')));
        problems.push(...settled.flatMap((x, i) => (x.status === 'fulfilled' ? runProblems(`round ${round} ${all[i]!.id}`, x.value) : [`round ${round} ${all[i]!.id}: threw ${(x.reason as Error).message}`])));
      }
      // Deadlocks Postgres detected (each one a batch the engine retried), for the failure message.
      const deadlocks = (await ledger.db.query<{ n: string }>(`SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()`))[0]!.n;
      expect(problems, `${deadlocks} deadlocks detected`).toEqual([]);
      for (let round = 0; round < 2; round++) for (const t of [...editors, ...sellers]) expectNoTableErrors(await t.sync('both'));
      for (const t of [...editors, ...sellers]) await expectInSync(t.config);
      const cloud = await ledger.db.query<{ id: string; name: string }>(`SELECT id::text AS id, name FROM accounts ORDER BY id`);
      expect(cloud).toEqual([...newest].sort(([a], [b]) => a.localeCompare(b)).map(([id, v]) => ({ id, name: v.name })));
      const entries = await ledger.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM entries WHERE id = ANY($1::uuid[])`, [sold]);
      expect(Number(entries[0]!.n)).toBe(sold.length);
    }, 300_000);
  });
}
