import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { Direction, ResolvedConfig } from '../../src/config/types.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { runSync, type RunOptions } from '../../src/engine/run.ts';
import { runCli } from './cli.ts';
import { makeConfig } from './config.ts';
import { createSqliteFile, openSqlite } from './db.ts';

/**
 * Several terminals ("tills") of one store chain, each with its own SQLite file and config, for
 * the multi-terminal tests (test/integration/terminals-*.test.ts). Unlike ledger.ts, every till
 * gets its own config object, so tills can differ in scope or tables.
 */
export interface Till {
  id: string;
  sqlitePath: string;
  configPath: string;
  config: ResolvedConfig;
  /** The POS app's own connection to the till database (opened on first use). */
  readonly local: Database.Database;
  /** One run in-process (runSync opens and closes its own gateways unless given). */
  sync(direction: Direction, options?: Omit<RunOptions, 'direction'>): Promise<RunResult>;
  /** One run as a real `possync trigger --json` subprocess. */
  cli(direction: Direction): Promise<CliRun>;
  close(): void;
}

export interface CliRun {
  code: number | null;
  result: RunResult | undefined;
  stdout: string;
  stderr: string;
}

/**
 * Creates (or reopens) a till: `sqliteSql` creates its database the first time, `raw` is the
 * config file's content without sqlite.path / terminalId (added here).
 */
export function makeTill(dir: string, id: string, sqliteSql: string, raw: Record<string, unknown>): Till {
  const sqlitePath = path.join(dir, `${id}.sqlite`);
  if (!fs.existsSync(sqlitePath)) createSqliteFile(sqlitePath, sqliteSql);
  const full = { ...raw, sqlite: { path: sqlitePath }, terminalId: id };
  const configPath = path.join(dir, `${id}.config.json`);
  fs.writeFileSync(configPath, JSON.stringify(full, null, 1));
  const config = makeConfig(full, dir);
  let local: Database.Database | undefined;
  return {
    id,
    sqlitePath,
    configPath,
    config,
    get local() {
      local ??= openSqlite(sqlitePath);
      return local;
    },
    sync: (direction, options = {}) => runSync(config, { ...options, direction }),
    cli: (direction) => cliTrigger(configPath, direction, dir),
    close() {
      local?.close();
      local = undefined;
    },
  };
}

/** `possync trigger --direction <d> --json --config <file>` as a subprocess, with its parsed result. */
export async function cliTrigger(configPath: string, direction: Direction, cwd: string): Promise<CliRun> {
  const r = await runCli(['trigger', '--direction', direction, '--json', '--config', configPath], { cwd, timeoutMs: 180_000 });
  let result: RunResult | undefined;
  try {
    result = JSON.parse(r.stdout) as RunResult;
  } catch {
    result = undefined;
  }
  return { code: r.code, result, stdout: r.stdout, stderr: r.stderr };
}

/** Problems of one run, as readable lines: a failed run, a table error, rows waiting or refused. */
export function runProblems(who: string, r: RunResult | undefined, opts: { allowHeld?: boolean } = {}): string[] {
  if (!r) return [`${who}: no run result`];
  if (!Array.isArray(r.tables)) return [`${who}: not a run result: ${JSON.stringify(r).slice(0, 1000)}`];
  const out: string[] = [];
  if (r.error) out.push(`${who}: run error ${r.error}`);
  for (const t of r.tables) {
    if (t.status !== 'success') out.push(`${who}: ${t.step} ${t.table} ${t.status}: ${t.error ?? ''}`);
    if (!opts.allowHeld && (t.deferred > 0 || t.rejected > 0)) out.push(`${who}: ${t.step} ${t.table} deferred ${t.deferred} rejected ${t.rejected}: ${t.reasons.join('; ')}`);
  }
  return out;
}

/** Fails with every problem of the CLI run listed (exit code, stderr, table errors). */
export function expectCliOk(who: string, run: CliRun): void {
  const problems = run.code === 0 ? runProblems(who, run.result) : [`${who}: exit ${run.code}: ${run.stderr.slice(-2000)} ${runProblems(who, run.result).join(' | ')}`];
  expect(problems).toEqual([]);
}

/** A timestamp `ms` before now, as POS apps store them in SQLite (ISO, milliseconds, UTC). */
export function ago(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

export const DAY = 86_400_000;
