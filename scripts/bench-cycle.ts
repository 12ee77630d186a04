// npm run bench:cycle -- [--rows 50000] [--runs 3]
//
// A first push of a schema real teams build: a NOT NULL foreign-key cycle (a branch's manager is
// an employee, an employee's branch is a branch, neither deferrable) with a chain of tables after
// it (sales by employees, items of sales), ~50,000 rows in all, into an empty cloud. Timed beside
// pgloader's load of the same SQLite file, in the same run, each as a whole process (possync's
// installed command; `pgloader sqlite://… postgresql://…`), best of --runs, and printed as a ratio.
// pgloader creates its tables itself and adds the foreign keys after the data, so it never meets
// the cycle; possync loads into the cloud's schema as it stands, cycle included. Needs `pgloader`
// on the PATH (Debian: apt-get install pgloader). Starts an embedded Postgres unless
// BENCH_DATABASE_URL is set.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/postgres/embedded.ts';
import { pgIdent } from '../src/db/quote.ts';
import { CYCLE_PG, CYCLE_SQLITE, cycleCounts, fillCycleTill } from './bench/cycle-dataset.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
// The bundle the installed command runs, built fresh: bin/possync.js would run the sources through
// tsx's loader whenever a source file is newer than the bundle, which costs seconds per process.
const BUNDLE = path.join(here, '..', 'dist', 'possync.mjs');

const TABLES = ['branch', 'employee', 'sale', 'sale_item'];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number`);
  return n;
}

/** The till, in WAL mode as possync leaves it, with about `rows` rows. */
function createTill(file: string, rows: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(CYCLE_SQLITE);
  fillCycleTill(db, cycleCounts(rows));
  db.close();
}

async function main(): Promise<void> {
  const rows = arg('rows', 50_000);
  const runs = arg('runs', 3);
  execFileSync(process.execPath, [path.join(here, 'build.mjs')], { stdio: 'inherit' });
  try {
    execFileSync('pgloader', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('pgloader is not on the PATH (Debian: apt-get install pgloader): the ratio needs it');
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-bench-cycle-'));
  let server: EmbeddedServer | undefined;
  const adminUrl = process.env.BENCH_DATABASE_URL ?? (server = await startEmbeddedPostgres()).url();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const dbUrl = async (name: string, schema: boolean) => {
    await admin.query(`DROP DATABASE IF EXISTS ${pgIdent(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pgIdent(name)}`);
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    if (schema) {
      const c = new pg.Client({ connectionString: u.toString() });
      await c.connect();
      await c.query(CYCLE_PG);
      await c.end();
    }
    return u.toString();
  };
  const count = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows: r } = await c.query<{ n: string }>(`SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t})`).join(' + ')} AS n`);
      return Number(r[0]!.n);
    } finally {
      await c.end();
    }
  };
  try {
    const till = path.join(work, 'till.sqlite');
    createTill(till, rows);
    const possyncMs: number[] = [];
    const pgloaderMs: number[] = [];
    for (let run = 1; run <= runs; run++) {
      // possync: a fresh till copy (its bookkeeping is written into the file) into the cloud's schema.
      const copy = path.join(work, `till-${run}.sqlite`);
      fs.copyFileSync(till, copy);
      const url = await dbUrl('bench_cycle_possync', true);
      const config = path.join(work, `possync-${run}.json`);
      fs.writeFileSync(config, JSON.stringify({ sqlite: { path: copy }, postgres: { url }, terminalId: 'bench', tables: TABLES.map((name) => ({ name, pk: 'id', updatedCol: 'updated_at' })) }));
      let t0 = performance.now();
      const p = spawnSync(process.execPath, [BUNDLE, 'trigger', '--direction', 'push', '--json', '--config', config], { encoding: 'utf8' });
      if (process.env.BENCH_VERBOSE) {
        const r = JSON.parse(p.stdout) as { durationMs: number; tables: Array<{ table: string; durationMs: number; inserted: number }> };
        process.stderr.write(`  possync run ${r.durationMs} ms: ${r.tables.map((t) => `${t.table} ${Math.round(t.durationMs)} ms (${t.inserted})`).join(', ')}\n`);
      }
      possyncMs.push(performance.now() - t0);
      if (p.status !== 0) throw new Error(`possync exited ${p.status}: ${p.stderr}${p.stdout}`);
      const pushed = await count(url);
      if (pushed !== rows) throw new Error(`possync pushed ${pushed} of ${rows} rows in one run`);

      const target = await dbUrl('bench_cycle_pgloader', false);
      t0 = performance.now();
      execFileSync('pgloader', ['--quiet', `sqlite://${till}`, target], { stdio: ['ignore', 'ignore', 'inherit'] });
      pgloaderMs.push(performance.now() - t0);
      const loaded = await count(target);
      if (loaded !== rows) throw new Error(`pgloader loaded ${loaded} of ${rows} rows`);
      process.stderr.write(`run ${run}: possync ${possyncMs.at(-1)!.toFixed(0)} ms, pgloader ${pgloaderMs.at(-1)!.toFixed(0)} ms\n`);
    }
    const best = (xs: number[]) => Math.min(...xs);
    const ratio = best(pgloaderMs) / best(possyncMs);
    const rate = (ms: number) => Math.round(rows / (ms / 1000)).toLocaleString('en-US');
    process.stdout.write(
      `first push of ${rows.toLocaleString('en-US')} rows through a NOT NULL FK cycle and a chain (best of ${runs}, whole processes):\n` +
        `  possync  ${best(possyncMs).toFixed(0)} ms  ${rate(best(possyncMs))} rows/s  (one run, every row present)\n` +
        `  pgloader ${best(pgloaderMs).toFixed(0)} ms  ${rate(best(pgloaderMs))} rows/s\n` +
        `  possync / pgloader speed: ${ratio.toFixed(2)}x\n`,
    );
  } finally {
    await admin.end();
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
