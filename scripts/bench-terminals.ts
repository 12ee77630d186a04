// npm run bench:terminals -- [--tills 200] [--changes 40] [--cycles 3] [--processes 8]
//                            [--pgbouncer both|on|off] [--pool 10] [--read-timeout-seconds 30] [--quick] [--out file.json]
//                            [--no-change-rows 1000000] [--no-change-small-rows 10000] [--no-fence-lag]
//
// Many tills, one cloud (issues 7, 22). Creates N till SQLite databases against one Postgres
// (embedded, or BENCH_DATABASE_URL: a user allowed to create databases), seeds a shared catalogue,
// and runs K cycles: every till makes M local changes (new sales of its own, edits of hot
// catalogue rows that the other tills edit too), then all N tills run `both` at the same moment,
// several tills per process (--processes; each till with its own connections and SQLite file).
// Then two quiet rounds and an idle one (all tills at once) and the checks: every till equals
// Postgres (compareSides), no sale is lost, the newest edit of every catalogue row won, the idle
// round moved nothing.
// The whole scenario runs twice on fresh databases: the tills connected to Postgres directly, and
// through a PgBouncer in transaction pooling mode with --pool server connections, which the bench
// starts itself when the pgbouncer binary is installed (--pgbouncer both, the default; on; off).
// For each: p50/p95 run time over every run of the measured cycles, rows per second fleet-wide,
// Postgres CPU seconds per 1,000 runs (from /proc: the postmaster, its backends and the ones it
// reaped; PgBouncer's own CPU too), and the most Postgres backends seen at once. Then a quiescent round (every till runs `both` twice, one after the other) and checks:
// every till equals Postgres (compareSides + inSync), no sale is lost, the newest edit of every
// catalogue row won. Then, in quiet, a pull with nothing new against a 1M-row table vs a 10k-row
// one, and what pulls do while a long transaction holds the fence back. Prints per-cycle p50/p95/
// max run time, rows moved, conflicts, retries (possync's own count of batches and pulls redone
// after a deadlock, a serialization failure or a lock wait past lockTimeoutSeconds, and Postgres's
// deadlock counter), errors; writes JSON.
// Exit code 1 when a run failed or the final checks did not hold (every till equal to Postgres).
// --quick: 10 tills, 20 changes, 2 cycles, a 10,000-row no-change table, no fence-lag step.
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
import { localPostmasterPid, treeCpuSeconds } from './bench/proc-cpu.ts';
import { pgbouncerBinary, startPgBouncer, type Bouncer } from '../test/support/pgbouncer.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

type Mode = 'direct' | 'pgbouncer';

interface Options {
  terminals: number;
  changes: number;
  cycles: number;
  catalogue: number;
  hot: number;
  processes: number;
  pgbouncer: 'both' | 'on' | 'off';
  pool: number;
  /** The tills' postgres.readTimeoutSeconds (undefined: possync's default, 30). */
  readTimeoutSeconds: number | undefined;
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
  const quick = argv.includes('--quick');
  const num = (name: string, fallback: number, min = 1) => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
    return n;
  };
  const noChangeRows = num('no-change-rows', quick ? 10_000 : 1_000_000, 0);
  // --terminals is the flag's older name.
  const terminals = get('tills') !== undefined ? num('tills', 200) : num('terminals', quick ? 10 : 200);
  const bouncer = get('pgbouncer') ?? 'both';
  if (!['both', 'on', 'off'].includes(bouncer)) throw new Error('--pgbouncer must be both, on or off');
  return {
    terminals,
    changes: num('changes', quick ? 20 : 40),
    cycles: num('cycles', quick ? 2 : 3),
    catalogue: num('catalogue', 2_000),
    hot: num('hot', 200),
    // Several tills per process: two cores cannot start 200 Node processes, and a till's run is
    // mostly waiting on Postgres and SQLite.
    processes: Math.min(terminals, num('processes', Math.max(2, os.cpus().length * 4))),
    pgbouncer: bouncer as Options['pgbouncer'],
    pool: num('pool', 10),
    readTimeoutSeconds: get('read-timeout-seconds') === undefined ? undefined : num('read-timeout-seconds', 30),
    out: get('out') ?? path.join('bench-results', `bench-terminals-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    noChangeRows,
    noChangeSmallRows: Math.min(num('no-change-small-rows', 10_000), Math.max(1, noChangeRows)),
    noChangeRepeat: num('no-change-repeat', 15),
    fenceLag: !argv.includes('--no-fence-lag') && !quick,
    seed: num('seed', 7),
  };
}

/** A process running several tills: one message at a time, answered in order. */
class TillGroup {
  readonly child: ChildProcess;
  readonly ids: string[] = [];
  private waiting: Array<(m: FromWorker) => void> = [];
  constructor(readonly name: string) {
    this.child = fork(path.join(here, 'bench', 'terminal-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromWorker) => this.waiting.shift()?.(m));
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ type: 'failed', message: `till process ${name} exited with ${code}` });
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
    if (answer.type !== type) throw new Error(`${this.name}: expected ${type}, got ${JSON.stringify(answer)}`);
    return answer as Extract<FromWorker, { type: T }>;
  }
  exit(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'exit' } satisfies ToWorker);
    });
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
  retries: { total: number; push: number; pull: number; deadlock: number; serialization: number; lockTimeout: number };
  /** Deadlocks Postgres detected in this database during the cycle (pg_stat_database), as a cross-check. */
  deadlocks: number;
  errors: number;
  problems: string[];
  load1: number;
  /** Postgres CPU seconds during the cycle (postmaster, backends, reaped backends); undefined for a remote server. */
  pgCpuSeconds: number | undefined;
  /** PgBouncer's CPU seconds during the cycle (pgbouncer mode). */
  bouncerCpuSeconds: number | undefined;
  /** The most client backends of this database seen at once (sampled every 100 ms). */
  maxBackends: number;
  /** Every run's engine time, for percentiles over the whole mode. */
  runs: number[];
}

function sumRetries(summaries: RunSummary[]): CycleReport['retries'] {
  const sum = (f: (s: RunSummary) => number) => summaries.reduce((a, s) => a + f(s), 0);
  const push = sum((s) => s.retries.push);
  const pull = sum((s) => s.retries.pull);
  return { total: push + pull, push, pull, deadlock: sum((s) => s.retries.deadlock), serialization: sum((s) => s.retries.serialization), lockTimeout: sum((s) => s.retries.lockTimeout) };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

interface ModeResult {
  mode: Mode;
  pool: number | undefined;
  cycles: CycleReport[];
  summary: {
    runs: number;
    runMsP50: number;
    runMsP95: number;
    runMsMax: number;
    /** The worst per-cycle p95 (the older summary figure). */
    runMsP95Worst: number;
    cycleWallMsMedian: number;
    rowsPushed: number;
    rowsPulled: number;
    rowsPerSecond: number;
    pgCpuSeconds: number | undefined;
    pgCpuSecondsPer1000Runs: number | undefined;
    bouncerCpuSecondsPer1000Runs: number | undefined;
    maxBackends: number;
    conflicts: number;
    conflictsRecorded: number;
    retries: number;
    retriesDeadlock: number;
    retriesSerialization: number;
    retriesLockTimeout: number;
    deadlocksDetected: number;
    errors: number;
  };
  final: {
    tillsInSync: number;
    tills: number;
    outOfSync: string[];
    salesCreated: number;
    salesInPostgres: number;
    lostRows: number;
    extraRows: number;
    catalogueRowsEdited: number;
    lostEdits: number;
    quiescentErrors: number;
    secondRoundRowsMoved: number;
    idleRoundRowsMoved: number;
  };
  changeLog: { entries: number; size: string };
  ok: boolean;
}

interface Ctx {
  opts: Options;
  adminUrl: string;
  createDb(name: string): Promise<{ name: string; url: string }>;
  work: string;
  log(line: string): void;
  postmaster: number | undefined;
}

/** One whole scenario (install, initial pull, cycles, quiet rounds, checks) on a fresh database. */
async function scenario(ctx: Ctx, mode: Mode, onFirstConfig: (raw: Record<string, unknown>, file: string, productIds: string[]) => Promise<void>): Promise<ModeResult> {
  const { opts, log } = ctx;
  const main = await ctx.createDb(`main_${mode}`);
  const cloud = new pg.Pool({ connectionString: main.url, max: 2 });
  let bouncer: Bouncer | undefined;
  const groups: TillGroup[] = [];
  try {
    await cloud.query(PG_SCHEMA);
    await cloud.query(seedCatalogue(opts.catalogue));
    const productIds = (await cloud.query<{ id: string }>(`SELECT id::text AS id FROM products ORDER BY sku`)).rows.map((r) => r.id);
    if (mode === 'pgbouncer') {
      bouncer = await startPgBouncer(ctx.adminUrl, { poolSize: opts.pool, maxClients: opts.terminals * 4 + 50 });
      log(`PgBouncer on port ${bouncer.port}: pool_mode = transaction, ${opts.pool} server connections for ${opts.terminals} tills`);
    }
    const tillUrl = bouncer ? bouncer.url(main.url) : main.url;

    log(`${mode}: ${opts.terminals} tills in ${opts.processes} processes`);
    const dir = path.join(ctx.work, mode);
    fs.mkdirSync(dir, { recursive: true });
    const tills: Array<{ id: string; group: TillGroup; index: number; raw: Record<string, unknown>; file: string }> = [];
    for (let p = 0; p < opts.processes; p++) groups.push(new TillGroup(`${mode}-p${p}`));
    const perGroup = new Map<TillGroup, Array<{ raw: Record<string, unknown>; file: string }>>();
    for (let i = 0; i < opts.terminals; i++) {
      const id = `till-${String(i).padStart(3, '0')}`;
      const file = path.join(dir, `${id}.sqlite`);
      createTillDatabase(file);
      // A real till has its machine to itself; here 25 share a process and 200 share the cores, so a
      // login can wait for CPU past the 10 s default connect timeout (seen at 200 tills on two
      // loaded cores, with and without PgBouncer): give it a till's patience, not a till's CPU.
      // Behind a pooler the read timeout also covers the wait for a server connection (--read-timeout-seconds).
      const postgres = { url: tillUrl, connectTimeoutSeconds: 120, ...(opts.readTimeoutSeconds === undefined ? {} : { readTimeoutSeconds: opts.readTimeoutSeconds }) };
      const raw = { sqlite: { path: file }, postgres, terminalId: id, tables: TABLES };
      const cfgFile = path.join(dir, `${id}.config.json`);
      fs.writeFileSync(cfgFile, JSON.stringify(raw, null, 1));
      const group = groups[i % groups.length]!;
      const list = perGroup.get(group) ?? [];
      tills.push({ id, group, index: list.length, raw, file: cfgFile });
      list.push({ raw, file: cfgFile });
      perGroup.set(group, list);
      group.ids.push(id);
    }
    await Promise.all(groups.map((g) => g.expect({ type: 'init', tills: perGroup.get(g)! }, 'ready')));
    const syncOne = async (t: (typeof tills)[number]) => (await t.group.expect({ type: 'sync', direction: 'both', only: [t.index] }, 'synced')).summaries[0]!;

    const deadlocks = async () => Number((await cloud.query<{ n: string }>(`SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0]!.n);
    const backends = async () => Number((await cloud.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`)).rows[0]!.n);
    /** Backends report their counters when they exit: wait for the tills' connections to close. */
    const settleStats = async () => {
      for (let i = 0; i < 80; i++) {
        const { rows } = await cloud.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'possync'`);
        if (rows[0]!.n === '0') return;
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const cpu = () => (ctx.postmaster === undefined ? undefined : treeCpuSeconds(ctx.postmaster));
    const bouncerPid = bouncer?.pid();
    const bouncerCpu = () => (bouncerPid === undefined ? undefined : treeCpuSeconds(bouncerPid));
    const delta = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : round1(b - a));

    const cycles: CycleReport[] = [];
    const everyone = async (cycle: number, label: string): Promise<CycleReport> => {
      await settleStats();
      const before = await deadlocks();
      const [cpu0, bcpu0] = [cpu(), bouncerCpu()];
      let maxBackends = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxBackends = Math.max(maxBackends, await backends().catch(() => 0));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const t0 = performance.now();
      // All at once: the messages go out back to back, each process starts its tills' runs on arrival.
      const answers = await Promise.all(groups.map((g) => g.expect({ type: 'sync', direction: 'both' }, 'synced')));
      const wallMs = performance.now() - t0;
      sampling = false;
      await sampler;
      const [cpu1, bcpu1] = [cpu(), bouncerCpu()];
      await settleStats();
      const summaries: RunSummary[] = answers.flatMap((a) => a.summaries);
      const problems = summaries.flatMap((s) => s.problems.map((p) => `${s.terminalId}: ${p}`));
      const runs = summaries.map((s) => s.engineMs);
      const report: CycleReport = {
        cycle,
        label,
        wallMs: Math.round(wallMs),
        runMs: { p50: Math.round(pct(runs, 50)), p95: Math.round(pct(runs, 95)), max: Math.round(Math.max(...runs)) },
        rowsPushed: summaries.reduce((a, s) => a + s.pushed, 0),
        rowsPulled: summaries.reduce((a, s) => a + s.pulled, 0),
        conflicts: summaries.reduce((a, s) => a + s.conflicts, 0),
        retries: sumRetries(summaries),
        deadlocks: (await deadlocks()) - before,
        errors: summaries.filter((s) => !s.ok).length,
        problems: problems.slice(0, 10),
        load1: round1(os.loadavg()[0]!),
        pgCpuSeconds: delta(cpu0, cpu1),
        bouncerCpuSeconds: delta(bcpu0, bcpu1),
        maxBackends,
        runs,
      };
      log(
        `${mode} ${label}: p50 ${report.runMs.p50} ms, p95 ${report.runMs.p95} ms, max ${report.runMs.max} ms, wall ${report.wallMs} ms; pushed ${report.rowsPushed}, pulled ${report.rowsPulled}, conflicts ${report.conflicts}, ` +
          `retries ${report.retries.total} (${report.retries.deadlock} deadlock, ${report.retries.serialization} serialization, ${report.retries.lockTimeout} lock timeout), Postgres deadlocks ${report.deadlocks}, errors ${report.errors}; ` +
          `Postgres CPU ${report.pgCpuSeconds ?? '?'} s${bouncer ? `, PgBouncer CPU ${report.bouncerCpuSeconds ?? '?'} s` : ''}, backends at most ${maxBackends}, load ${report.load1}`,
      );
      for (const p of report.problems) log(`  ${p}`);
      return report;
    };

    // Cycle 0: possync is installed by one till (as an admin would, with `possync trigger` once),
    // then every till's first run (the catalogue's initial pull) at the same moment.
    log(`${mode} cycle 0: first till installs possync, then every till pulls the catalogue at once`);
    const first = await syncOne(tills[0]!);
    if (!first.ok) throw new Error(`the first run failed: ${first.problems.join('; ')}`);
    cycles.push(await everyone(0, 'cycle 0 (initial pull)'));

    const random = prng(opts.seed);
    const base = Date.now();
    const created = new Map<string, number>();
    const newest = new Map<string, ProductEdit>();
    for (let c = 1; c <= opts.cycles; c++) {
      const plan = planCycle({ cycle: c, tills: opts.terminals, changes: opts.changes, productIds, hot: opts.hot, base, random });
      await Promise.all(groups.map((g) => g.expect({ type: 'work', work: tills.filter((t) => t.group === g).map((t) => plan[tills.indexOf(t)]!) }, 'worked')));
      plan.forEach((w, i) => {
        created.set(tills[i]!.id, (created.get(tills[i]!.id) ?? 0) + w.sales.length);
        for (const e of w.edits) if (!newest.has(e.id) || newest.get(e.id)!.updated_at < e.updated_at) newest.set(e.id, e);
      });
      cycles.push(await everyone(c, `cycle ${c}`));
    }

    // Two rounds of everyone at once: the first pushes what is left and pulls what the last cycle
    // pushed; every push of it has committed before the second starts, so the second brings every
    // till everything. (One after the other, 200 tills × 3 rounds would take longer than the cycles.)
    const allAtOnce = async () => (await Promise.all(groups.map((g) => g.expect({ type: 'sync', direction: 'both' }, 'synced')))).flatMap((a) => a.summaries);
    log(`${mode} quiescent rounds: every till runs both, all at once, twice`);
    const quiet: RunSummary[] = [];
    for (let round = 0; round < 2; round++) quiet.push(...(await allAtOnce()));
    const secondRound = quiet.slice(-tills.length);

    log(`${mode}: checking every till against Postgres`);
    const verified = (await Promise.all(groups.map((g) => g.expect({ type: 'verify' }, 'verified')))).flatMap((v) => v.results);
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
    const final: ModeResult['final'] = {
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
    log(`${mode} idle round: every till runs both once more, all at once; nothing may move`);
    for (const s of await allAtOnce()) {
      final.idleRoundRowsMoved += s.pushed + s.pulled;
      if (!s.ok) final.quiescentErrors++;
    }
    const conflictsRecorded = Number((await cloud.query<{ n: string }>(`SELECT count(*)::text AS n FROM possync.conflicts`)).rows[0]!.n);
    const changeLog = (await cloud.query<{ n: string; size: string }>(`SELECT count(*)::text AS n, pg_size_pretty(pg_total_relation_size('possync.changes')) AS size FROM possync.changes`)).rows[0]!;

    await onFirstConfig(tills[0]!.raw, tills[0]!.file, productIds);

    const measured = cycles.filter((c) => c.cycle > 0);
    const allRuns = measured.flatMap((c) => c.runs);
    const wallSeconds = measured.reduce((a, c) => a + c.wallMs, 0) / 1000;
    const rowsMoved = measured.reduce((a, c) => a + c.rowsPushed + c.rowsPulled, 0);
    const sumOrUndef = (xs: Array<number | undefined>) => (xs.some((x) => x === undefined) ? undefined : round1(xs.reduce((a: number, x) => a + x!, 0)));
    const pgCpu = sumOrUndef(measured.map((c) => c.pgCpuSeconds));
    const bCpu = bouncer ? sumOrUndef(measured.map((c) => c.bouncerCpuSeconds)) : undefined;
    const errors = cycles.reduce((a, c) => a + c.errors, 0) + final.quiescentErrors;
    const ok = errors === 0 && lostRows === 0 && extraRows === 0 && lostEdits === 0 && outOfSync.length === 0 && final.idleRoundRowsMoved === 0;
    return {
      mode,
      pool: bouncer ? opts.pool : undefined,
      cycles,
      summary: {
        runs: allRuns.length,
        runMsP50: Math.round(pct(allRuns, 50)),
        runMsP95: Math.round(pct(allRuns, 95)),
        runMsMax: Math.round(Math.max(0, ...allRuns)),
        runMsP95Worst: Math.max(0, ...measured.map((c) => c.runMs.p95)),
        cycleWallMsMedian: pct(measured.map((c) => c.wallMs), 50),
        rowsPushed: measured.reduce((a, c) => a + c.rowsPushed, 0),
        rowsPulled: measured.reduce((a, c) => a + c.rowsPulled, 0),
        rowsPerSecond: wallSeconds > 0 ? Math.round(rowsMoved / wallSeconds) : 0,
        pgCpuSeconds: pgCpu,
        pgCpuSecondsPer1000Runs: pgCpu === undefined || allRuns.length === 0 ? undefined : round1((pgCpu / allRuns.length) * 1000),
        bouncerCpuSecondsPer1000Runs: bCpu === undefined || allRuns.length === 0 ? undefined : round1((bCpu / allRuns.length) * 1000),
        maxBackends: Math.max(0, ...measured.map((c) => c.maxBackends)),
        conflicts: measured.reduce((a, c) => a + c.conflicts, 0),
        conflictsRecorded,
        retries: cycles.reduce((a, c) => a + c.retries.total, 0),
        retriesDeadlock: cycles.reduce((a, c) => a + c.retries.deadlock, 0),
        retriesSerialization: cycles.reduce((a, c) => a + c.retries.serialization, 0),
        retriesLockTimeout: cycles.reduce((a, c) => a + c.retries.lockTimeout, 0),
        deadlocksDetected: cycles.reduce((a, c) => a + c.deadlocks, 0),
        errors,
      },
      final,
      changeLog: { entries: Number(changeLog.n), size: changeLog.size },
      ok,
    };
  } finally {
    await Promise.all(groups.map((g) => g.exit().catch(() => {})));
    for (const g of groups) g.child.kill('SIGKILL');
    await cloud.end();
    await bouncer?.stop();
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const loadAtStart = os.loadavg();
  const bouncerBin = pgbouncerBinary();
  const modes: Mode[] = opts.pgbouncer === 'off' ? ['direct'] : opts.pgbouncer === 'on' ? ['pgbouncer'] : bouncerBin ? ['direct', 'pgbouncer'] : ['direct'];
  if (modes.includes('pgbouncer') && !bouncerBin) throw new Error('--pgbouncer on: the pgbouncer binary is not installed (apt-get install -y pgbouncer)');
  if (opts.pgbouncer === 'both' && !bouncerBin) log('pgbouncer is not installed: measuring direct connections only (apt-get install -y pgbouncer)');
  let server: EmbeddedServer | undefined;
  let adminUrl: string;
  if (process.env.BENCH_DATABASE_URL) adminUrl = process.env.BENCH_DATABASE_URL;
  else {
    log('starting an embedded PostgreSQL');
    // Direct, every till's run may hold up to 4 connections (its pool) at the same moment.
    server = await startEmbeddedPostgres({ postgresFlags: ['-c', `max_connections=${Math.max(200, opts.terminals * 4 + 50)}`] });
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
  let failed = true;
  try {
    const postmaster = await localPostmasterPid(admin);
    if (postmaster === undefined) log('Postgres is not on this machine: no CPU figures');
    const ctx: Ctx = { opts, adminUrl, createDb, work, log, postmaster };
    const results: ModeResult[] = [];
    let fenceLag: FenceLagResult | undefined;
    for (const mode of modes) {
      results.push(
        await scenario(ctx, mode, async (raw, file, productIds) => {
          if (!opts.fenceLag || fenceLag) return;
          log('fence lag: pulls while a long write transaction is open');
          fenceLag = await measureFenceLag(resolveConfig(raw, file, {}), productIds, Math.min(300, Math.floor(productIds.length / 4)));
        }),
      );
    }

    let noChange: NoChangeResult | undefined;
    if (opts.noChangeRows > 0) {
      const nc = await createDb('nochange');
      noChange = await measureNoChange(nc.url, work, { bigRows: opts.noChangeRows, smallRows: opts.noChangeSmallRows, repeat: opts.noChangeRepeat, log });
    }

    failed = results.some((r) => !r.ok);
    const [firstMode] = results;
    const result = {
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
      load: { atStart: loadAtStart.map(round1), atEnd: os.loadavg().map(round1) },
      postgres: server ? 'embedded' : 'BENCH_DATABASE_URL',
      options: { ...opts, out: path.basename(opts.out) },
      // The first mode's figures at the top level (what older readers of this file expect), every mode under `modes`.
      cycles: firstMode!.cycles.map(({ runs: _runs, ...c }) => c),
      summary: firstMode!.summary,
      final: firstMode!.final,
      changeLog: firstMode!.changeLog,
      modes: results.map((r) => ({ ...r, cycles: r.cycles.map(({ runs: _runs, ...c }) => c) })),
      noChange,
      fenceLag,
      ok: !failed,
      totalSeconds: Math.round((performance.now() - started) / 1000),
    };
    fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    fs.writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    printSummary({ ...result, results });
    process.stdout.write(`\nresult written to ${opts.out}\n`);
  } finally {
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
  results: ModeResult[];
  noChange: NoChangeResult | undefined;
  fenceLag: FenceLagResult | undefined;
  ok: boolean;
  totalSeconds: number;
}): void {
  const o = r.options;
  const pad = (s: string | number | undefined, n: number) => String(s ?? '?').padStart(n);
  const lines = [
    `possync many-terminals benchmark: ${o.terminals} tills (${o.processes} processes) × ${o.changes} changes × ${o.cycles} cycles, all tills syncing at once`,
    `load average at start ${r.load.atStart.join(' ')}, at end ${r.load.atEnd.join(' ')} (${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM)`,
  ];
  for (const m of r.results) {
    const s = m.summary;
    lines.push(
      '',
      `${m.mode === 'direct' ? 'tills connected to Postgres directly' : `tills through PgBouncer (pool_mode = transaction, ${m.pool} server connections)`}`,
      `  cycle                     p50 ms   p95 ms   max ms   wall ms   pushed   pulled  conflicts  retries  40P01  40001  55P03  errors  pg CPU s  backends`,
      ...m.cycles.map(
        (c) =>
          `  ${c.label.padEnd(24)}${pad(c.runMs.p50, 8)}${pad(c.runMs.p95, 9)}${pad(c.runMs.max, 9)}${pad(c.wallMs, 10)}${pad(c.rowsPushed, 9)}${pad(c.rowsPulled, 9)}${pad(c.conflicts, 11)}${pad(c.retries.total, 9)}${pad(c.retries.deadlock, 7)}${pad(c.retries.serialization, 7)}${pad(c.retries.lockTimeout, 7)}${pad(c.errors, 8)}${pad(c.pgCpuSeconds, 10)}${pad(c.maxBackends, 10)}`,
      ),
      '',
      `  ${m.mode}: ${s.runs} runs in cycles 1–${o.cycles}: run time p50 ${s.runMsP50} ms, p95 ${s.runMsP95} ms, max ${s.runMsMax} ms; ${(s.rowsPushed + s.rowsPulled).toLocaleString('en-US')} rows moved, ${s.rowsPerSecond.toLocaleString('en-US')} rows/s fleet-wide;` +
        ` Postgres CPU ${s.pgCpuSecondsPer1000Runs ?? '?'} s per 1,000 runs${m.mode === 'pgbouncer' ? ` (PgBouncer ${s.bouncerCpuSecondsPer1000Runs ?? '?'} s)` : ''}; at most ${s.maxBackends} Postgres backends; errors ${s.errors}`,
      `  retries: ${s.retries} batches or pulls redone by possync (${s.retriesDeadlock} after a deadlock, 40P01; ${s.retriesSerialization} after a serialization failure, 40001; ${s.retriesLockTimeout} after a lock wait past lockTimeoutSeconds, 55P03); Postgres counted ${s.deadlocksDetected} deadlocks`,
      `  final: ${m.final.tillsInSync}/${m.final.tills} tills equal Postgres; sales ${m.final.salesCreated} created, ${m.final.salesInPostgres} in Postgres (lost ${m.final.lostRows});` +
        ` ${m.final.catalogueRowsEdited} catalogue rows edited, newest edit lost on ${m.final.lostEdits}; an idle round after that moved ${m.final.idleRoundRowsMoved} rows`,
      `  conflicts recorded in possync.conflicts: ${s.conflictsRecorded}; change log now ${m.changeLog.entries} entries (${m.changeLog.size})`,
    );
  }
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
