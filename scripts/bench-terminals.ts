// npm run bench:terminals -- [--terminals 20] [--changes 200] [--cycles 5] [--out file.json]
//                            [--no-change-rows 1000000] [--no-change-small-rows 10000] [--no-fence-lag]
//
// Many tills, one cloud (issue 7). Creates N till SQLite databases against one Postgres (embedded,
// or BENCH_DATABASE_URL: a user allowed to create databases), seeds a shared catalogue, and runs K
// cycles: every till makes M local changes (new sales of its own, edits of hot catalogue rows that
// the other tills edit too), then all N tills run `both` at the same moment, each in its own
// process. Then a quiescent round (every till runs `both` twice, one after the other) and checks:
// every till equals Postgres (compareSides + inSync), no sale is lost, the newest edit of every
// catalogue row won. Then, in quiet, a pull with nothing new against a 1M-row table vs a 10k-row
// one, and what pulls do while a long transaction holds the fence back. Prints per-cycle p50/p95/
// max run time, rows moved, conflicts, retries (possync's own count of batches and pulls redone
// after a deadlock or serialization failure, and Postgres's deadlock counter), errors; writes JSON.
// Exit code 1 when a run failed or the final checks did not hold.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/postgres/embedded.ts';
import { pgIdent } from '../src/db/quote.ts';
import { resolveConfig } from '../src/config/load.ts';
import type { FromWorker, RunSummary, ToWorker } from './bench/terminal-worker.ts';
import { PG_SCHEMA, TABLES, createTillDatabase, planCycle, prng, seedCatalogue, type ProductEdit } from './bench/terminals-workload.ts';
import { measureFenceLag, measureNoChange, type FenceLagResult, type NoChangeResult } from './bench/nochange.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Options {
  terminals: number;
  changes: number;
  cycles: number;
  catalogue: number;
  hot: number;
  out: string;
  noChangeRows: number;
  noChangeSmallRows: number;
  noChangeRepeat: number;
  fenceLag: boolean;
  seed: number;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number, min = 1) => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
    return n;
  };
  const noChangeRows = num('no-change-rows', 1_000_000, 0);
  return {
    terminals: num('terminals', 20),
    changes: num('changes', 200),
    cycles: num('cycles', 5),
    catalogue: num('catalogue', 2_000),
    hot: num('hot', 200),
    out: get('out') ?? path.join('bench-results', `bench-terminals-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    noChangeRows,
    noChangeSmallRows: Math.min(num('no-change-small-rows', 10_000), Math.max(1, noChangeRows)),
    noChangeRepeat: num('no-change-repeat', 15),
    fenceLag: !argv.includes('--no-fence-lag'),
    seed: num('seed', 7),
  };
}

/** A till process: one message at a time, answered in order. */
class Till {
  readonly child: ChildProcess;
  private waiting: Array<(m: FromWorker) => void> = [];
  constructor(readonly id: string) {
    this.child = fork(path.join(here, 'bench', 'terminal-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromWorker) => this.waiting.shift()?.(m));
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ type: 'failed', message: `till process ${id} exited with ${code}` });
    });
  }
  ask(m: ToWorker): Promise<FromWorker> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.send(m);
    });
  }
  async expect<T extends FromWorker['type']>(m: ToWorker, type: T): Promise<Extract<FromWorker, { type: T }>> {
    const answer = await this.ask(m);
    if (answer.type !== type) throw new Error(`${this.id}: expected ${type}, got ${JSON.stringify(answer)}`);
    return answer as Extract<FromWorker, { type: T }>;
  }
}

interface CycleReport {
  cycle: number;
  label: string;
  wallMs: number;
  runMs: { p50: number; p95: number; max: number };
  rowsPushed: number;
  rowsPulled: number;
  conflicts: number;
  /** What possync redid after Postgres rolled it back, summed over the tills' RunResult.retries. */
  retries: { total: number; push: number; pull: number; deadlock: number; serialization: number };
  /** Deadlocks Postgres detected in this database during the cycle (pg_stat_database), as a cross-check. */
  deadlocks: number;
  errors: number;
  problems: string[];
  load1: number;
}

function sumRetries(summaries: RunSummary[]): CycleReport['retries'] {
  const sum = (f: (s: RunSummary) => number) => summaries.reduce((a, s) => a + f(s), 0);
  const push = sum((s) => s.retries.push);
  const pull = sum((s) => s.retries.pull);
  return { total: push + pull, push, pull, deadlock: sum((s) => s.retries.deadlock), serialization: sum((s) => s.retries.serialization) };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const loadAtStart = os.loadavg();
  let server: EmbeddedServer | undefined;
  let adminUrl: string;
  if (process.env.BENCH_DATABASE_URL) adminUrl = process.env.BENCH_DATABASE_URL;
  else {
    log('starting an embedded PostgreSQL');
    server = await startEmbeddedPostgres();
    adminUrl = server.url();
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-bench-terminals-'));
  const run = Math.random().toString(36).slice(2, 8);
  const databases: string[] = [];
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const createDb = async (name: string) => {
    const db = `bench_terminals_${run}_${name}`;
    await admin.query(`CREATE DATABASE ${pgIdent(db)}`);
    databases.push(db);
    const u = new URL(adminUrl);
    u.pathname = `/${db}`;
    return { name: db, url: u.toString() };
  };
  const tills: Till[] = [];
  let failed = false;
  try {
    const main = await createDb('main');
    const cloud = new pg.Pool({ connectionString: main.url, max: 2 });
    await cloud.query(PG_SCHEMA);
    await cloud.query(seedCatalogue(opts.catalogue));
    const productIds = (await cloud.query<{ id: string }>(`SELECT id::text AS id FROM products ORDER BY sku`)).rows.map((r) => r.id);

    log(`starting ${opts.terminals} till processes`);
    const configs: Array<{ raw: Record<string, unknown>; file: string }> = [];
    for (let i = 0; i < opts.terminals; i++) {
      const id = `till-${String(i).padStart(3, '0')}`;
      const file = path.join(work, `${id}.sqlite`);
      createTillDatabase(file);
      const raw = { sqlite: { path: file }, postgres: { url: main.url }, terminalId: id, tables: TABLES };
      const cfgFile = path.join(work, `${id}.config.json`);
      fs.writeFileSync(cfgFile, JSON.stringify(raw, null, 1));
      configs.push({ raw, file: cfgFile });
      tills.push(new Till(id));
    }
    await Promise.all(tills.map((t, i) => t.expect({ type: 'init', ...configs[i]! }, 'ready')));

    const deadlocks = async () => Number((await cloud.query<{ n: string }>(`SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0]!.n);
    /** Backends report their counters when they exit: wait for the tills' connections to close. */
    const settleStats = async () => {
      for (let i = 0; i < 80; i++) {
        const { rows } = await cloud.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'possync'`);
        if (rows[0]!.n === '0') return;
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    const cycles: CycleReport[] = [];
    const everyone = async (cycle: number, label: string): Promise<CycleReport> => {
      await settleStats();
      const before = await deadlocks();
      const t0 = performance.now();
      // All at once: the messages go out back to back, each till starts its run on arrival.
      const answers = await Promise.all(tills.map((t) => t.expect({ type: 'sync', direction: 'both' }, 'synced')));
      const wallMs = performance.now() - t0;
      await settleStats();
      const summaries: RunSummary[] = answers.map((a) => a.summary);
      const problems = summaries.flatMap((s) => s.problems.map((p) => `${s.terminalId}: ${p}`));
      const report: CycleReport = {
        cycle,
        label,
        wallMs: Math.round(wallMs),
        runMs: { p50: Math.round(pct(summaries.map((s) => s.engineMs), 50)), p95: Math.round(pct(summaries.map((s) => s.engineMs), 95)), max: Math.round(Math.max(...summaries.map((s) => s.engineMs))) },
        rowsPushed: summaries.reduce((a, s) => a + s.pushed, 0),
        rowsPulled: summaries.reduce((a, s) => a + s.pulled, 0),
        conflicts: summaries.reduce((a, s) => a + s.conflicts, 0),
        retries: sumRetries(summaries),
        deadlocks: (await deadlocks()) - before,
        errors: summaries.filter((s) => !s.ok).length,
        problems: problems.slice(0, 10),
        load1: Math.round(os.loadavg()[0]! * 10) / 10,
      };
      log(`${label}: p50 ${report.runMs.p50} ms, p95 ${report.runMs.p95} ms, max ${report.runMs.max} ms; pushed ${report.rowsPushed}, pulled ${report.rowsPulled}, conflicts ${report.conflicts}, retries ${report.retries.total} (${report.retries.deadlock} deadlock, ${report.retries.serialization} serialization), Postgres deadlocks ${report.deadlocks}, errors ${report.errors}`);
      for (const p of report.problems) log(`  ${p}`);
      return report;
    };

    // Cycle 0: possync is installed by one till (as an admin would, with `possync trigger` once),
    // then every till's first run (the catalogue's initial pull) at the same moment.
    log('cycle 0: first till installs possync, then every till pulls the catalogue at once');
    const first = await tills[0]!.expect({ type: 'sync', direction: 'both' }, 'synced');
    if (!first.summary.ok) throw new Error(`the first run failed: ${first.summary.problems.join('; ')}`);
    cycles.push(await everyone(0, 'cycle 0 (initial pull)'));

    const random = prng(opts.seed);
    const base = Date.now();
    const created = new Map<string, number>();
    const newest = new Map<string, ProductEdit>();
    for (let c = 1; c <= opts.cycles; c++) {
      const plan = planCycle({ cycle: c, tills: opts.terminals, changes: opts.changes, productIds, hot: opts.hot, base, random });
      await Promise.all(tills.map((t, i) => t.expect({ type: 'work', work: plan[i]! }, 'worked')));
      plan.forEach((w, i) => {
        created.set(tills[i]!.id, (created.get(tills[i]!.id) ?? 0) + w.sales.length);
        for (const e of w.edits) if (!newest.has(e.id) || newest.get(e.id)!.updated_at < e.updated_at) newest.set(e.id, e);
      });
      cycles.push(await everyone(c, `cycle ${c}`));
    }

    log('quiescent round: every till runs both twice, one after the other');
    const quiet: RunSummary[] = [];
    for (let round = 0; round < 2; round++) for (const t of tills) quiet.push((await t.expect({ type: 'sync', direction: 'both' }, 'synced')).summary);
    const secondRound = quiet.slice(-tills.length);

    log('checking every till against Postgres');
    const verified = await Promise.all(tills.map((t) => t.expect({ type: 'verify' }, 'verified')));
    const outOfSync = verified.filter((v) => v.outOfSync.length > 0).map((v) => `${v.terminalId}: ${v.outOfSync.join('; ')}`);
    const counts = new Map((await cloud.query<{ terminal_id: string; n: string }>(`SELECT terminal_id, count(*)::text AS n FROM sales GROUP BY terminal_id`)).rows.map((r) => [r.terminal_id, Number(r.n)]));
    const lostRows = [...created].reduce((a, [id, n]) => a + Math.max(0, n - (counts.get(id) ?? 0)), 0);
    const extraRows = [...created].reduce((a, [id, n]) => a + Math.max(0, (counts.get(id) ?? 0) - n), 0);
    const cloudProducts = new Map(
      (await cloud.query<{ id: string; price: string; stock: number; at: string }>(
        `SELECT id::text AS id, price::text AS price, stock, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM products WHERE id = ANY($1::uuid[])`,
        [[...newest.keys()]],
      )).rows.map((r) => [r.id, r]),
    );
    const lostEdits = [...newest.values()].filter((e) => {
      const c = cloudProducts.get(e.id);
      return !c || c.at !== e.updated_at || Number(c.price) !== Number(e.price) || c.stock !== e.stock;
    }).length;
    const final = {
      tillsInSync: tills.length - outOfSync.length,
      tills: tills.length,
      outOfSync: outOfSync.slice(0, 10),
      salesCreated: [...created.values()].reduce((a, b) => a + b, 0),
      salesInPostgres: [...counts.values()].reduce((a, b) => a + b, 0),
      lostRows,
      extraRows,
      catalogueRowsEdited: newest.size,
      lostEdits,
      quiescentErrors: quiet.filter((s) => !s.ok).length,
      /** Rows the second quiet round still moved: what tills later in the first round pushed. */
      secondRoundRowsMoved: secondRound.reduce((a, s) => a + s.pushed + s.pulled, 0),
      /** One more round once everything agrees must move nothing (no echo, guarantee 1). */
      idleRoundRowsMoved: 0,
    };
    log('idle round: every till runs both once more; nothing may move');
    for (const t of tills) {
      const s = (await t.expect({ type: 'sync', direction: 'both' }, 'synced')).summary;
      final.idleRoundRowsMoved += s.pushed + s.pulled;
      if (!s.ok) final.quiescentErrors++;
    }
    const conflictsRecorded = Number((await cloud.query<{ n: string }>(`SELECT count(*)::text AS n FROM possync.conflicts`)).rows[0]!.n);
    const changeLog = (await cloud.query<{ n: string; size: string }>(`SELECT count(*)::text AS n, pg_size_pretty(pg_total_relation_size('possync.changes')) AS size FROM possync.changes`)).rows[0]!;

    let fenceLag: FenceLagResult | undefined;
    if (opts.fenceLag) {
      log('fence lag: pulls while a long write transaction is open');
      fenceLag = await measureFenceLag(resolveConfig(configs[0]!.raw, configs[0]!.file, {}), productIds, Math.min(300, Math.floor(productIds.length / 4)));
    }
    await cloud.end();
    await Promise.all(tills.map((t) => new Promise<void>((resolve) => {
      t.child.once('exit', () => resolve());
      t.child.send({ type: 'exit' } satisfies ToWorker);
    })));
    tills.length = 0;

    let noChange: NoChangeResult | undefined;
    if (opts.noChangeRows > 0) {
      const nc = await createDb('nochange');
      noChange = await measureNoChange(nc.url, work, { bigRows: opts.noChangeRows, smallRows: opts.noChangeSmallRows, repeat: opts.noChangeRepeat, log });
    }

    const measured = cycles.filter((c) => c.cycle > 0);
    const errors = cycles.reduce((a, c) => a + c.errors, 0) + final.quiescentErrors;
    failed = errors > 0 || lostRows > 0 || lostEdits > 0 || outOfSync.length > 0 || final.idleRoundRowsMoved > 0;
    const result = {
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
      load: { atStart: loadAtStart.map((l) => Math.round(l * 10) / 10), atEnd: os.loadavg().map((l) => Math.round(l * 10) / 10) },
      postgres: server ? 'embedded' : 'BENCH_DATABASE_URL',
      options: { ...opts, out: path.basename(opts.out) },
      cycles,
      summary: {
        runMsP50: pct(measured.map((c) => c.runMs.p50), 50),
        runMsP95Worst: Math.max(0, ...measured.map((c) => c.runMs.p95)),
        runMsMax: Math.max(0, ...measured.map((c) => c.runMs.max)),
        cycleWallMsMedian: pct(measured.map((c) => c.wallMs), 50),
        rowsPushed: measured.reduce((a, c) => a + c.rowsPushed, 0),
        rowsPulled: measured.reduce((a, c) => a + c.rowsPulled, 0),
        conflicts: measured.reduce((a, c) => a + c.conflicts, 0),
        conflictsRecorded,
        retries: cycles.reduce((a, c) => a + c.retries.total, 0),
        retriesDeadlock: cycles.reduce((a, c) => a + c.retries.deadlock, 0),
        retriesSerialization: cycles.reduce((a, c) => a + c.retries.serialization, 0),
        deadlocksDetected: cycles.reduce((a, c) => a + c.deadlocks, 0),
        errors,
      },
      final,
      changeLog: { entries: Number(changeLog.n), size: changeLog.size },
      noChange,
      fenceLag,
      ok: !failed,
      totalSeconds: Math.round((performance.now() - started) / 1000),
    };
    fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    fs.writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    printSummary(result);
    process.stdout.write(`\nresult written to ${opts.out}\n`);
  } finally {
    for (const t of tills) t.child.kill('SIGKILL');
    for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${pgIdent(db)} WITH (FORCE)`).catch(() => {});
    await admin.end();
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

function printSummary(r: {
  options: Options;
  load: { atStart: number[]; atEnd: number[] };
  cycles: CycleReport[];
  summary: Record<string, number>;
  final: Record<string, unknown>;
  changeLog: { entries: number; size: string };
  noChange: NoChangeResult | undefined;
  fenceLag: FenceLagResult | undefined;
  ok: boolean;
  totalSeconds: number;
}): void {
  const o = r.options;
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [
    `possync many-terminals benchmark: ${o.terminals} tills × ${o.changes} changes × ${o.cycles} cycles, all tills syncing at once`,
    `load average at start ${r.load.atStart.join(' ')}, at end ${r.load.atEnd.join(' ')} (${os.cpus().length} CPUs)`,
    '',
    `  cycle                     p50 ms   p95 ms   max ms   wall ms   pushed   pulled  conflicts  retries  40P01  40001  errors`,
    ...r.cycles.map((c) => `  ${c.label.padEnd(24)}${pad(c.runMs.p50, 8)}${pad(c.runMs.p95, 9)}${pad(c.runMs.max, 9)}${pad(c.wallMs, 10)}${pad(c.rowsPushed, 9)}${pad(c.rowsPulled, 9)}${pad(c.conflicts, 11)}${pad(c.retries.total, 9)}${pad(c.retries.deadlock, 7)}${pad(c.retries.serialization, 7)}${pad(c.errors, 8)}`),
    '',
    `  retries: ${r.summary.retries} batches or pulls redone by possync (${r.summary.retriesDeadlock} after a deadlock, 40P01; ${r.summary.retriesSerialization} after a serialization failure, 40001); Postgres counted ${r.summary.deadlocksDetected} deadlocks`,
    `  final: ${r.final.tillsInSync}/${r.final.tills} tills equal Postgres; sales ${r.final.salesCreated} created, ${r.final.salesInPostgres} in Postgres (lost ${r.final.lostRows});` +
      ` ${r.final.catalogueRowsEdited} catalogue rows edited, newest edit lost on ${r.final.lostEdits}; an idle round after that moved ${r.final.idleRoundRowsMoved} rows`,
    `  conflicts recorded in possync.conflicts: ${r.summary.conflictsRecorded}; change log now ${r.changeLog.entries} entries (${r.changeLog.size})`,
  ];
  if (r.noChange) {
    const n = r.noChange;
    lines.push(
      '',
      `  no-change pull, open gateway   ${n.big.rows.toLocaleString('en-US')} rows: ${n.big.engineMedianMs} ms (p95 ${n.big.engineP95Ms})   ${n.small.rows.toLocaleString('en-US')} rows: ${n.small.engineMedianMs} ms (p95 ${n.small.engineP95Ms})   ratio ${n.ratio}×   target ≤ 20 ms and ≤ 1.5×: ${n.target.met ? 'met' : 'NOT met'}`,
      `  no-change pull, new connection ${n.big.withConnectMedianMs} ms vs ${n.small.withConnectMedianMs} ms; statements per pull ${JSON.stringify(n.big.statements)} vs ${JSON.stringify(n.small.statements)}; initial pull of ${n.big.rows.toLocaleString('en-US')} rows ${n.big.initialPullMs} ms`,
    );
  }
  if (r.fenceLag) {
    const f = r.fenceLag;
    lines.push(
      '',
      `  fence lag (${f.changesPerBatch} cloud edits per batch, a write transaction held open): first pull applied ${f.firstPull.applied} (${f.firstPull.ms} ms, warned ${f.firstPull.warned}),` +
        ` second pull applied ${f.secondPull.applied} (${f.secondPull.ms} ms, warned ${f.secondPull.warned}), after it ended applied ${f.afterCommit.applied} and re-read ${f.afterCommit.unchanged} (${f.afterCommit.ms} ms)`,
    );
  }
  lines.push('', `  ${r.ok ? 'OK' : 'FAILED'} in ${r.totalSeconds} s`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
