// Tills of the many-terminals benchmark, several per process (200 Node processes would not fit two
// cores): each till has its own config, SQLite file and Postgres connections, as a real till has,
// and runSync opens and closes its gateways per run, as the daemon and `possync trigger` do. It
// waits for the parent's messages: write this cycle's local changes, run one sync on every till
// (or the ones named) at once, compare both sides.
import Database from 'better-sqlite3';
import { resolveConfig } from '../../src/config/load.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { compareSides, inSync } from '../../src/engine/compare.ts';
import { applied, type RunResult } from '../../src/engine/result.ts';
import { openAndPlan, runSync } from '../../src/engine/run.ts';
import { noRetries, type RetryCounts } from '../../src/engine/retries.ts';
import type { TillWork } from './terminals-workload.ts';

export type ToWorker =
  | { type: 'init'; tills: Array<{ raw: Record<string, unknown>; file: string }> }
  | { type: 'work'; work: TillWork[] }
  /** `only`: indexes of this process's tills to run (all when absent), all at the same moment. */
  | { type: 'sync'; direction: 'push' | 'pull' | 'both'; only?: number[] }
  | { type: 'verify' }
  | { type: 'exit' };

/** What the parent needs of one run. */
export interface RunSummary {
  terminalId: string;
  ok: boolean;
  status: string;
  /** RunResult.durationMs: the engine's own measure, gateways opened and closed included. */
  engineMs: number;
  /** From the message arriving to the result being ready (includes the terminal lock). */
  wallMs: number;
  pushed: number;
  pulled: number;
  conflicts: number;
  /** Batches and pulls Postgres rolled back (deadlock, serialization failure) that possync redid. */
  retries: RetryCounts;
  problems: string[];
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'worked' }
  | { type: 'synced'; summaries: RunSummary[] }
  | { type: 'verified'; results: Array<{ terminalId: string; outOfSync: string[] }> }
  | { type: 'failed'; message: string };

let configs: ResolvedConfig[] = [];

function summarize(result: RunResult, wallMs: number): RunSummary {
  const problems: string[] = [];
  if (result.error) problems.push(result.error);
  for (const t of result.tables) {
    if (t.status !== 'success') problems.push(`${t.step} ${t.table}: ${t.status} ${t.error ?? ''}`);
    if (t.deferred > 0 || t.rejected > 0) problems.push(`${t.step} ${t.table}: ${t.deferred} deferred, ${t.rejected} rejected: ${t.reasons.join('; ')}`);
  }
  const sum = (step: string) => result.tables.filter((t) => t.step === step).reduce((a, t) => a + applied(t), 0);
  return {
    terminalId: result.terminalId,
    ok: result.status === 'success' && problems.length === 0,
    status: result.status,
    engineMs: result.durationMs,
    wallMs,
    pushed: sum('push'),
    pulled: sum('pull'),
    conflicts: result.tables.reduce((a, t) => a + t.conflicts, 0),
    retries: result.retries,
    problems,
  };
}

function writeWork(config: ResolvedConfig, work: TillWork): void {
  const db = new Database(config.sqlitePath);
  db.pragma('busy_timeout = 5000');
  try {
    const sale = db.prepare(`INSERT INTO sales (id, terminal_id, product_id, qty, total, updated_at) VALUES (?, ?, ?, ?, ?, ?)`);
    const edit = db.prepare(`UPDATE products SET price = ?, stock = ?, updated_at = ? WHERE id = ?`);
    db.transaction(() => {
      for (const s of work.sales) sale.run(s.id, config.terminalId, s.product_id, s.qty, s.total, s.updated_at);
      for (const e of work.edits) edit.run(e.price, e.stock, e.updated_at, e.id);
    })();
  } finally {
    db.close();
  }
}

async function verify(config: ResolvedConfig): Promise<string[]> {
  const { pg, sqlite, plan, close } = await openAndPlan(config);
  try {
    const diffs = await compareSides(pg, sqlite, plan);
    return diffs.filter((d) => !inSync(d)).map((d) => `${d.table}: sqlite ${d.sqliteRows}, pg ${d.pgRows}, only local ${d.onlyLocal.length}, only cloud ${d.onlyCloud.length}, different ${d.different.length}`);
  } finally {
    await close();
  }
}

const send = (m: FromWorker) => process.send!(m);

async function syncOne(config: ResolvedConfig, direction: 'push' | 'pull' | 'both'): Promise<RunSummary> {
  const started = performance.now();
  try {
    const result = await runSync(config, { direction });
    return summarize(result, performance.now() - started);
  } catch (err) {
    const wallMs = performance.now() - started;
    const message = err instanceof Error ? err.message : String(err);
    return { terminalId: config.terminalId, ok: false, status: 'threw', engineMs: wallMs, wallMs, pushed: 0, pulled: 0, conflicts: 0, retries: noRetries(), problems: [`threw: ${message}`] };
  }
}

process.on('message', (m: ToWorker) => {
  void (async () => {
    try {
      if (m.type === 'init') {
        configs = m.tills.map((t) => resolveConfig(t.raw, t.file, {}));
        send({ type: 'ready' });
      } else if (m.type === 'work') {
        m.work.forEach((w, i) => writeWork(configs[i]!, w));
        send({ type: 'worked' });
      } else if (m.type === 'sync') {
        const which = m.only ?? configs.map((_, i) => i);
        send({ type: 'synced', summaries: await Promise.all(which.map((i) => syncOne(configs[i]!, m.direction))) });
      } else if (m.type === 'verify') {
        // One till at a time: each comparison reads every synced row of both sides.
        const results: Array<{ terminalId: string; outOfSync: string[] }> = [];
        for (const c of configs) results.push({ terminalId: c.terminalId, outOfSync: await verify(c) });
        send({ type: 'verified', results });
      } else if (m.type === 'exit') {
        process.exit(0);
      }
    } catch (err) {
      send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
