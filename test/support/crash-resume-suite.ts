import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAndKill } from './crash.ts';
import { createSqliteFile, createTestPg } from './db.ts';
import {
  appliedRows,
  at,
  expectInSync,
  expectNoTableErrors,
  LEDGER_TABLES,
  ledgerOn,
  PG_DDL,
  SQLITE_DDL,
  TABLE_NAMES,
  uid,
  type Ledger,
  type Terminal,
} from './ledger.ts';
import { rng, type Rng } from './prng.ts';
import { runProblems } from './tills.ts';

// Guarantee 2: SIGKILL the possync process at random moments of a large run, many times; the
// rerun ends in exactly the state of an uninterrupted run on an identical copy of the workload.
const SEED = Number(process.env.CRASH_SEED ?? 20261124);
const KILLS = [8, 7]; // per round: the initial sync, then a round of edits on both sides
const BATCH = 20;
const N = 900;

/** The initial data of both sides, as SQL for Postgres and SQLite (explicit values only: both copies are identical). */
function initialData(): { pg: string; sqlite: string } {
  const pg: string[] = [];
  const sq: string[] = [];
  for (let i = 1; i <= N; i++) {
    pg.push(`INSERT INTO accounts VALUES ('${uid(i, 1)}', 'pg ${i}', ${(i * 37) % 10000}.${i % 100}, '${at(i)}', NULL);`);
    pg.push(`INSERT INTO entries VALUES ('${uid(i, 2)}', '${uid(i, 1)}', ${i}.25, 'pg', '${at(i)}', NULL);`);
    sq.push(`INSERT INTO accounts VALUES ('${uid(i, 3)}', 'local ${i}', '${(i * 53) % 10000}.50', '${at(i)}', NULL);`);
    sq.push(`INSERT INTO entries VALUES ('${uid(i, 4)}', '${uid(i, 3)}', '-${i}.75', 'local', '${at(i)}', NULL);`);
    if (i <= 300) sq.push(`INSERT INTO tags VALUES ('${uid(i, 5)}', 'tag ${i}', '${at(i)}');`);
    if (i <= 200) {
      sq.push(`INSERT INTO notes VALUES ('${uid(i, 6)}', 'note ${i}', '${at(i)}');`);
      pg.push(`INSERT INTO prices VALUES ('${uid(i, 7)}', ${i}.99, '${at(i)}');`);
      // The same account on both sides with different versions: LWW decides, half each way.
      sq.push(`INSERT INTO accounts VALUES ('${uid(i, 1)}', 'local twin ${i}', '1.00', '${at(i % 2 ? i + 5000 : i - 1)}', NULL);`);
    }
  }
  return { pg: pg.join('\n'), sqlite: sq.join('\n') };
}

/** Edits on both sides after the first sync: updates (some contested), inserts, hard and soft deletes. */
function edits(r: Rng): { pg: Array<[string, unknown[]]>; sqlite: Array<[string, unknown[]]> } {
  const pg: Array<[string, unknown[]]> = [];
  const sq: Array<[string, unknown[]]> = [];
  const account = () => uid(1 + r.int(N), r.pick([1, 3]));
  for (let k = 0; k < 250; k++) {
    // Even timestamps for Postgres, odd for the terminal: contested rows never tie.
    pg.push([`UPDATE accounts SET name = $1, balance = balance + 1, updated_at = $2 WHERE id = $3`, [`pg2 ${k}`, at(20_000 + 2 * k), account()]]);
    sq.push([`UPDATE accounts SET name = ?, balance = CAST(balance AS REAL) + 2, updated_at = ? WHERE id = ?`, [`local2 ${k}`, at(20_000 + 2 * k + 1), account()]]);
    pg.push([`INSERT INTO entries VALUES ($1, $2, $3, 'pg2', $4, NULL)`, [uid(k, 8), account(), `${k}.10`, at(30_000 + k)]]);
    sq.push([`INSERT INTO entries VALUES (?, ?, ?, 'local2', ?, NULL)`, [uid(k, 9), account(), `${k}.20`, at(30_000 + k)]]);
  }
  for (let k = 1; k <= 40; k++) {
    pg.push([`DELETE FROM tags WHERE id = $1`, [uid(k * 7, 5)]]);
    sq.push([`DELETE FROM tags WHERE id = ?`, [uid(k * 5, 5)]]);
    pg.push([`UPDATE entries SET deleted_at = $1, updated_at = $1 WHERE id = $2`, [at(40_000 + k), uid(k * 11, 2)]]);
    sq.push([`DELETE FROM entries WHERE id = ?`, [uid(k * 13, 4)]]);
  }
  return { pg, sqlite: sq };
}

/** One copy of the workload: its own Postgres database and terminal file. */
async function makeCopy(name: string, sqliteSource: string | undefined, data: { pg: string; sqlite: string }, tillUrl?: (url: string) => string): Promise<{ ledger: Ledger; till: Terminal }> {
  const db = await createTestPg(name);
  await db.query(PG_DDL);
  await db.query(data.pg);
  const ledger = ledgerOn(db, { batchSize: BATCH, ...(tillUrl ? { tillUrl } : {}) });
  const file = path.join(ledger.dir, 'till-crash.sqlite');
  if (sqliteSource) fs.copyFileSync(sqliteSource, file);
  else createSqliteFile(file, SQLITE_DDL + data.sqlite);
  return { ledger, till: ledger.terminal('till-crash') };
}

async function applyEdits(copy: { ledger: Ledger; till: Terminal }, e: ReturnType<typeof edits>): Promise<void> {
  for (const [sql, params] of e.pg) await copy.ledger.db.query(sql, params);
  copy.till.local.transaction(() => {
    for (const [sql, params] of e.sqlite) copy.till.local.prepare(sql).run(...params);
  })();
}

/** Both sides' rows, as each database prints them; a tombstone is only "deleted" (its time is the wall clock's). */
async function state(copy: { ledger: Ledger; till: Terminal }): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of TABLE_NAMES) {
    const soft = t === 'accounts' || t === 'entries';
    const pgRows = await copy.ledger.db.query(`SELECT to_jsonb(x) AS r, ${soft ? 'deleted_at IS NOT NULL' : 'false'} AS gone, id::text AS id FROM ${t} x ORDER BY id`);
    out[`pg.${t}`] = pgRows.map((r) => (r.gone ? `${String(r.id)} deleted` : r.r));
    const local = copy.till.local.prepare(`SELECT * FROM ${t} ORDER BY id`).all() as Array<Record<string, unknown>>;
    out[`sqlite.${t}`] = local.map((r) => (soft && r.deleted_at !== null ? `${String(r.id)} deleted` : r));
  }
  const [money] = await copy.ledger.db.query(
    `SELECT (SELECT count(*) FROM accounts)::int AS accounts, (SELECT sum(balance) FROM accounts WHERE deleted_at IS NULL)::text AS balance,
            (SELECT count(*) FROM entries)::int AS entries, (SELECT sum(amount) FROM entries WHERE deleted_at IS NULL)::text AS amount`,
  );
  out.pgMoney = money;
  out.sqliteMoney = copy.till.local
    .prepare(`SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT round(sum(CAST(balance AS REAL)), 2) FROM accounts WHERE deleted_at IS NULL) AS balance,
              (SELECT count(*) FROM entries) AS entries, (SELECT round(sum(CAST(amount AS REAL)), 2) FROM entries WHERE deleted_at IS NULL) AS amount`)
    .get();
  return out;
}

/** The rows that differ between two states, named by list and id, so a failure says which (vitest truncates deep diffs). */
function stateDiff(got: Record<string, unknown>, want: Record<string, unknown>): string {
  const out: string[] = [];
  const id = (r: unknown): string => (typeof r === 'string' ? r.split(' ')[0]! : String((r as { id?: unknown }).id));
  for (const name of Object.keys(want)) {
    const [g, w] = [got[name], want[name]];
    if (!Array.isArray(g) || !Array.isArray(w)) {
      if (JSON.stringify(g) !== JSON.stringify(w)) out.push(`${name}: ${JSON.stringify(g)} instead of ${JSON.stringify(w)}`);
      continue;
    }
    const byId = new Map(w.map((r) => [id(r), JSON.stringify(r)]));
    const seen = new Set<string>();
    for (const r of g) {
      seen.add(id(r));
      const expected = byId.get(id(r));
      if (expected !== JSON.stringify(r)) out.push(`${name} ${id(r)}: ${JSON.stringify(r)} instead of ${expected ?? 'nothing'}`);
    }
    for (const k of byId.keys()) if (!seen.has(k)) out.push(`${name} ${k}: missing (expected ${byId.get(k)})`);
  }
  return out.length === 0 ? 'no row differs' : `${out.length} differences: ${out.slice(0, 20).join('; ')}`;
}

/**
 * Where the till reaches Postgres, and other tills sharing it. Direct and alone by default;
 * test/integration/pgbouncer-crash.test.ts runs the same kills through PgBouncer in transaction
 * mode while `bystanders` pull-only tills pull in a loop through the same small pool.
 */
export interface CrashRoute {
  label: string;
  tillUrl(directUrl: string): string;
  bystanders: number;
  /** The test's time limit (ms): pulling tills share the machine's two cores with the kills. */
  timeoutMs: number;
}

/** Pulls on every till, over and over, until stopped: how many runs, and every problem seen. */
function keepPulling(tills: Terminal[]): { stop(): Promise<{ runs: number; problems: string[] }> } {
  let stopped = false;
  let runs = 0;
  const problems: string[] = [];
  const loops = tills.map(async (t) => {
    while (!stopped) {
      try {
        problems.push(...runProblems(t.id, await t.sync('pull')));
      } catch (err) {
        problems.push(`${t.id}: threw ${(err as Error).message}`);
      }
      runs++;
      // A till's daemon pulls on a schedule, not back to back; this keeps the pool contended
      // without starving the killed till's runs of CPU.
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return { runs, problems };
    },
  };
}

/** Guarantee 2: SIGKILL at random moments, many times; through `route` when given. */
export function describeCrashResume(route?: CrashRoute): void {
  const via = route ? ` (${route.label})` : '';
  describe(`crash-anywhere resume (guarantee 2)${via}`, () => {
    const copies: Array<{ ledger: Ledger }> = [];
    // Pulling tills still running when the test fails (a timeout) are stopped before cleanup.
    let stopPulling: (() => Promise<unknown>) | undefined;
    afterAll(async () => {
      await stopPulling?.();
      for (const c of copies) await c.ledger.cleanup();
    });

    it(`SIGKILLed ${KILLS.join('+')} times at random points, possync ends where an uninterrupted run ends (seed ${SEED})`, async () => {
      const r = rng(SEED);
      const data = initialData();
      const calm = await makeCopy('crash_calm', undefined, data, route?.tillUrl);
      copies.push(calm);
      const crashy = await makeCopy('crash_killed', calm.till.sqlitePath, data, route?.tillUrl);
      copies.push(crashy);
      const kills: string[] = [];
      // Pull-only tills on the killed till's database: they change nothing in Postgres's app
      // tables, so the killed copy must still end exactly where the calm one does.
      const pullOnly = LEDGER_TABLES.map((t) => ({ ...t, direction: 'pull' }));
      const bystanders = Array.from({ length: route?.bystanders ?? 0 }, (_, i) => crashy.ledger.terminal(`puller-${i}`, { tables: pullOnly }));

      for (const [round, killCount] of KILLS.entries()) {
        if (round > 0) {
          const e = edits(r);
          await applyEdits(calm, e);
          await applyEdits(crashy, e);
        }
        const started = performance.now();
        const calmRun = await calm.till.sync('both');
        const calmMs = performance.now() - started;
        expectNoTableErrors(calmRun);
        expect(calmRun.status).toBe('success');

        // The app keeps its connection open, as a till would; possync is killed around it. Each
        // rerun has less left to do: once one finishes before its kill, later kills aim within
        // the time that run took, so they still land mid-run.
        let horizon = calmMs * 0.4;
        const pulling = keepPulling(bystanders);
        stopPulling = pulling.stop;
        for (let k = 0; k < killCount; k++) {
          const after = Math.floor(r.next() * horizon);
          const run = await runAndKill(crashy.till.configPath, crashy.till.sqlitePath, after);
          kills.push(`round ${round} kill ${k} at +${after}ms: ${run.killed ? 'killed' : `finished (exit ${run.code}) after ${Math.round(run.ranMs)}ms`}`);
          if (!run.killed) {
            expect(run.code, run.stderr).toBe(0);
            horizon = Math.min(horizon, run.ranMs * 0.8);
          }
        }
        const finish = await runAndKill(crashy.till.configPath, crashy.till.sqlitePath, 600_000);
        expect(finish.killed).toBe(false);
        expect(finish.code, finish.stderr + finish.stdout.slice(0, 2000)).toBe(0);
        const pulled = await pulling.stop();
        expect(pulled.problems, `round ${round}: the other tills' pulls while this one was killed`).toEqual([]);
        if (bystanders.length > 0) expect(pulled.runs, 'the other tills pulled while this one was killed').toBeGreaterThanOrEqual(bystanders.length);

        const [got, want] = [await state(crashy), await state(calm)];
        expect(got, `round ${round}; ${kills.join('; ')}; ${stateDiff(got, want)}`).toEqual(want);
        await expectInSync(crashy.till.config);
        expect(crashy.till.local.prepare(`SELECT (SELECT count(*) FROM _possync_changes) + (SELECT count(*) FROM _possync_held) + (SELECT count(*) FROM _possync_inflight) AS n`).get()).toEqual({ n: 0 });
        expect(appliedRows(await crashy.till.sync('both'))).toBe(0);
        for (const b of bystanders) {
          expectNoTableErrors(await b.sync('pull'));
          await expectInSync(b.config);
        }
      }
      // Most kills must have hit a running sync, or this test proves little.
      const real = kills.filter((k) => k.endsWith('killed')).length;
      console.log(`crash-resume seed ${SEED}: ${real}/${kills.length} kills landed mid-run`);
      expect(real, kills.join('\n')).toBeGreaterThanOrEqual(Math.ceil(kills.length * 0.6));
    }, route?.timeoutMs ?? 180_000); // ~30 s alone; a loaded two-core machine (other test files in parallel) needs more
  });
}
