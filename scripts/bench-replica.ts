// npm run bench:replica -- [--rows 100000] [--cycles 15]
//
// Pulls served by a hot standby (postgres.readUrl) beside the same pulls served by the primary, in
// one run on one machine: a first pull of --rows rows, pull cycles with nothing new, and pull
// cycles after 100 changed rows (medians). It also counts what one pull cycle costs the primary
// (transactions and rows read, from pg_stat_database), which is what a standby is for. Starts an
// embedded primary and a streaming standby of it (test/support/replica.ts) and stops both.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { resolveConfig } from '../src/config/load.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { runSync } from '../src/engine/run.ts';
import type { RunResult } from '../src/engine/result.ts';
import { createSqliteFile } from '../test/support/db.ts';
import { startStreamingPair } from '../test/support/replica.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number`);
  return n;
}

const PG = `CREATE TABLE products (id bigint PRIMARY KEY, sku text NOT NULL, name text NOT NULL, price numeric(12,2) NOT NULL, updated_at timestamptz(3) NOT NULL DEFAULT now())`;
const SQLITE = `CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, price TEXT NOT NULL, updated_at TEXT NOT NULL)`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rows = arg('rows', 100_000);
  const cycles = arg('cycles', 15);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-bench-replica-'));
  const pair = await startStreamingPair();
  try {
    await pair.primary.createDatabase('bench');
    const primary = new pg.Client({ connectionString: pair.primary.url('bench') });
    await primary.connect();
    await primary.query(PG);
    await primary.query(`INSERT INTO products SELECT i, 'SKU-' || i, 'product ' || i, (i % 1000) + 0.99, now() FROM generate_series(1, $1) i`, [rows]);
    await primary.query('ANALYZE products');
    await pair.standby.catchUp();

    const till = (id: string, readUrl: boolean): ResolvedConfig => {
      const sqlitePath = path.join(work, `${id}.sqlite`);
      createSqliteFile(sqlitePath, SQLITE);
      const postgres = { url: pair.primary.url('bench'), ...(readUrl ? { readUrl: pair.standby.url('bench') } : {}) };
      return resolveConfig({ sqlite: { path: sqlitePath }, postgres, terminalId: id, tables: [{ name: 'products', pk: 'id', updatedCol: 'updated_at' }] }, path.join(work, 'possync.config.json'), {});
    };
    const tills = { primary: till('via_primary', false), standby: till('via_standby', true) };
    const pull = async (config: ResolvedConfig): Promise<{ ms: number; result: RunResult }> => {
      const started = performance.now();
      const result = await runSync(config, { direction: 'pull' });
      if (result.status !== 'success') throw new Error(`pull failed: ${JSON.stringify(result)}`);
      return { ms: performance.now() - started, result };
    };
    const servedBy = (r: RunResult) => r.pullServer?.server ?? 'primary';

    // pg_stat_database is flushed by each backend when it exits (runSync closes its pool) or at
    // most once a second: a pause before reading it again.
    const stats = async () => {
      await new Promise((r) => setTimeout(r, 1_200));
      return (await primary.query<{ x: string; r: string }>(`SELECT xact_commit::text AS x, (tup_returned + tup_fetched)::text AS r FROM pg_stat_database WHERE datname = 'bench'`)).rows[0]!;
    };
    const cost: Record<string, { xacts: number; rows: number }> = {};
    const first: Record<string, number> = {};
    for (const [name, config] of Object.entries(tills)) {
      const before = await stats();
      const { ms, result } = await pull(config);
      if (servedBy(result) !== name) throw new Error(`${name}: served by ${servedBy(result)} (${result.warnings.join('; ')})`);
      first[name] = ms;
      const after = await stats();
      cost[`first pull served by the ${name}`] = { xacts: Number(after.x) - Number(before.x), rows: Number(after.r) - Number(before.r) };
    }
    console.log(`first pull of ${rows.toLocaleString('en')} rows: primary ${(first.primary! / 1000).toFixed(2)} s, standby ${(first.standby! / 1000).toFixed(2)} s (standby/primary ${(first.standby! / first.primary!).toFixed(2)}×)`);

    for (const kind of ['nothing new', '100 changed rows'] as const) {
      const times: Record<string, number[]> = { primary: [], standby: [] };
      for (let i = 0; i < cycles; i++) {
        if (kind !== 'nothing new') {
          await primary.query(`UPDATE products SET price = price + 1, updated_at = now() WHERE id BETWEEN $1 AND $1 + 99`, [1 + ((i * 100) % rows)]);
          await pair.standby.catchUp();
        }
        for (const [name, config] of Object.entries(tills)) {
          const measure = i === cycles - 1;
          const before = measure ? await stats() : undefined;
          const { ms, result } = await pull(config);
          if (servedBy(result) !== name) throw new Error(`${name}: served by ${servedBy(result)} (${result.warnings.join('; ')})`);
          times[name]!.push(ms);
          if (before) {
            const after = await stats();
            cost[`pull cycle (${kind}) served by the ${name}`] = { xacts: Number(after.x) - Number(before.x), rows: Number(after.r) - Number(before.r) };
          }
        }
      }
      const p = median(times.primary!);
      const s = median(times.standby!);
      console.log(`pull cycle, ${kind} (median of ${cycles}): primary ${p.toFixed(1)} ms, standby ${s.toFixed(1)} ms (standby/primary ${(s / p).toFixed(2)}×)`);
    }
    // A till that pushes and then pulls: the standby serves only once it has replayed the push.
    const bothTimes: Record<string, number[]> = { primary: [], standby: [] };
    let nextId = rows + 1;
    for (let i = 0; i < cycles; i++) {
      for (const [name, config] of Object.entries(tills)) {
        const db = new Database(config.sqlitePath);
        const insert = db.prepare(`INSERT INTO products VALUES (?, ?, ?, '1.00', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`);
        for (let k = 0; k < 10; k++, nextId++) insert.run(nextId, `SKU-${nextId}`, `new ${nextId}`);
        db.close();
        const started = performance.now();
        const result = await runSync(config, { direction: 'both' });
        if (result.status !== 'success' || servedBy(result) !== name) throw new Error(`${name}: ${result.status}, served by ${servedBy(result)} (${result.warnings.join('; ')})`);
        bothTimes[name]!.push(performance.now() - started);
      }
    }
    const bp = median(bothTimes.primary!);
    const bs = median(bothTimes.standby!);
    console.log(`push 10 rows then pull (median of ${cycles}): primary ${bp.toFixed(1)} ms, standby ${bs.toFixed(1)} ms (standby/primary ${(bs / bp).toFixed(2)}×)`);
    for (const [name, c] of Object.entries(cost)) {
      console.log(`${name} costs the primary: ${c.xacts} transactions, ${c.rows.toLocaleString('en')} rows read (incl. one stats query)`);
    }
    await primary.end();
  } finally {
    await pair.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
