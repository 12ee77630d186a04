import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { Direction, ResolvedConfig } from '../../src/config/types.ts';
import { compareSides, inSync, type TableDiff } from '../../src/engine/compare.ts';
import { applied, type RunResult, type TableResult } from '../../src/engine/result.ts';
import { openAndPlan, runSync, type RunOptions } from '../../src/engine/run.ts';
import { startEmbeddedPostgres } from '../../src/db/postgres/embedded.ts';
import { makeConfig } from './config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from './db.ts';

/**
 * The guarantee suite's fixture: a small ledger that is nothing like the POS schema.
 *   accounts  parent, soft deletes (deleted_at), LWW
 *   entries   child of accounts (FK in Postgres only: POS apps often have none locally), soft deletes, LWW
 *   tags      hard deletes only (no deletedCol), LWW
 *   prices    conflict "server-wins"
 *   notes     conflict "client-wins"
 */
export const PG_DDL = `
CREATE TABLE accounts (id uuid PRIMARY KEY, name text NOT NULL, balance numeric(14,2) NOT NULL DEFAULT 0,
  updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
CREATE TABLE entries (id uuid PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts(id), amount numeric(14,2) NOT NULL,
  note text, updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
CREATE TABLE tags (id uuid PRIMARY KEY, label text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE prices (id uuid PRIMARY KEY, amount numeric(14,2) NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE notes (id uuid PRIMARY KEY, body text NOT NULL, updated_at timestamptz(3) NOT NULL);
`;

export const SQLITE_DDL = `
CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, balance TEXT NOT NULL DEFAULT '0', updated_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE entries (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, amount TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE prices (id TEXT PRIMARY KEY, amount TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at TEXT NOT NULL);
`;

export const LEDGER_TABLES = [
  { name: 'accounts', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at' },
  { name: 'entries', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at' },
  { name: 'tags', pk: 'id', updatedCol: 'updated_at' },
  { name: 'prices', pk: 'id', updatedCol: 'updated_at', conflict: 'server-wins' },
  { name: 'notes', pk: 'id', updatedCol: 'updated_at', conflict: 'client-wins' },
];

export type TableName = 'accounts' | 'entries' | 'tags' | 'prices' | 'notes';
export const TABLE_NAMES: TableName[] = ['accounts', 'entries', 'tags', 'prices', 'notes'];

/** One terminal: its SQLite file, config (object and JSON file for the CLI) and a connection like the POS app's. */
export interface Terminal {
  id: string;
  sqlitePath: string;
  configPath: string;
  config: ResolvedConfig;
  /** The app's own connection to the terminal database (opened on first use). */
  readonly local: Database.Database;
  sync(direction: Direction, options?: Omit<RunOptions, 'direction'>): Promise<RunResult>;
  close(): void;
}

export interface Ledger {
  db: TestPg;
  dir: string;
  /** `tables`: the config's table entries, when not all of the fixture's. */
  terminal(id: string, options?: { batchSize?: number; sqliteSql?: string; tables?: Array<Record<string, unknown>> }): Terminal;
  cleanup(): Promise<void>;
}

export interface LedgerOptions {
  batchSize?: number;
  /** Create the database on this server instead of the suite's (see ownPostgres). */
  adminUrl?: string;
  /** Extra tables for both sides (appended to the fixture DDL) and their config entries. */
  extraPg?: string;
  extraSqlite?: string;
  extraTables?: Array<Record<string, unknown>>;
  /**
   * The terminals' postgres.url, given the database's direct URL (e.g. through PgBouncer, see
   * pgbouncer.ts). `db` and the checks keep the direct URL.
   */
  tillUrl?: (directUrl: string) => string;
}

/** A fresh Postgres database with the ledger schema, plus a temp dir for terminals. */
export async function createLedger(label: string, options: LedgerOptions = {}): Promise<Ledger> {
  const db = await createTestPg(label, options.adminUrl);
  await db.query(PG_DDL + (options.extraPg ?? ''));
  return ledgerOn(db, options);
}

/**
 * A Postgres server of the caller's own. Transaction ids are cluster-wide, so a transaction held
 * open holds back the pull fence of every database on its server: tests that hold one open (late
 * commits, random workloads) get their own server, or they would stall other test files' pulls.
 */
export async function ownPostgres(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const server = await startEmbeddedPostgres();
  return { adminUrl: server.url(), stop: () => server.stop() };
}

export function ledgerOn(db: TestPg, options: LedgerOptions = {}): Ledger {
  const tmp = tempDir();
  const terminals: Terminal[] = [];
  return {
    db,
    dir: tmp.dir,
    terminal(id, t = {}) {
      const sqlitePath = path.join(tmp.dir, `${id}.sqlite`);
      if (!fs.existsSync(sqlitePath)) createSqliteFile(sqlitePath, (t.sqliteSql ?? SQLITE_DDL) + (options.extraSqlite ?? ''));
      const raw = {
        sqlite: { path: sqlitePath },
        postgres: { url: options.tillUrl ? options.tillUrl(db.url) : db.url },
        terminalId: id,
        batchSize: t.batchSize ?? options.batchSize ?? 50,
        tables: t.tables ?? [...LEDGER_TABLES, ...(options.extraTables ?? [])],
      };
      const configPath = path.join(tmp.dir, `${id}.config.json`);
      fs.writeFileSync(configPath, JSON.stringify(raw, null, 1));
      const term = terminalFor(id, sqlitePath, configPath, makeConfig(raw, tmp.dir));
      terminals.push(term);
      return term;
    },
    async cleanup() {
      for (const t of terminals) t.close();
      await db.drop();
      tmp.cleanup();
    },
  };
}

function terminalFor(id: string, sqlitePath: string, configPath: string, config: ResolvedConfig): Terminal {
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
    close() {
      local?.close();
      local = undefined;
    },
  };
}

export type Totals = Pick<TableResult, 'inserted' | 'updated' | 'deleted' | 'unchanged' | 'conflicts' | 'deferred' | 'rejected'>;

/** Counts of a run summed over tables, optionally for one step and/or one table. */
export function totals(result: RunResult, filter: { step?: 'push' | 'pull'; table?: string } = {}): Totals {
  const sum: Totals = { inserted: 0, updated: 0, deleted: 0, unchanged: 0, conflicts: 0, deferred: 0, rejected: 0 };
  for (const t of result.tables) {
    if (filter.step && t.step !== filter.step) continue;
    if (filter.table && t.table !== filter.table) continue;
    for (const k of Object.keys(sum) as Array<keyof Totals>) sum[k] += t[k];
  }
  return sum;
}

export function appliedRows(result: RunResult): number {
  return result.tables.map(applied).reduce((a, b) => a + b, 0);
}

/** Fails with the run result printed when a table errored (so a failing guarantee shows why). */
export function expectNoTableErrors(result: RunResult): void {
  const errors = result.tables.filter((t) => t.status === 'error' || t.status === 'not-run').map((t) => `${t.step} ${t.table}: ${t.error}`);
  expect(errors, JSON.stringify(result, null, 1)).toEqual([]);
  expect(result.error).toBeUndefined();
}

/** compareSides for a terminal: every table must be in sync (value by value, both sides). */
export async function sidesDiff(config: ResolvedConfig): Promise<TableDiff[]> {
  const { pg, sqlite, plan, close } = await openAndPlan(config);
  try {
    return await compareSides(pg, sqlite, plan);
  } finally {
    await close();
  }
}

export async function expectInSync(config: ResolvedConfig): Promise<void> {
  const diffs = await sidesDiff(config);
  const bad = diffs.filter((d) => !inSync(d)).map((d) => describeDiff(d));
  expect(bad, `out of sync for ${config.terminalId}`).toEqual([]);
}

/** A diff short enough to read in a failure message: counts and the first few keys. */
export function describeDiff(d: TableDiff): string {
  const few = (keys: string[]) => `${keys.length}${keys.length > 0 ? ` e.g. ${keys.slice(0, 3).join(' ')}` : ''}`;
  const unreadable = d.unreadable.length > 0 ? `; unreadable locally ${d.unreadable.length} e.g. ${d.unreadable[0]!.key} (${d.unreadable[0]!.reason})` : '';
  return `${d.table}: sqlite ${d.sqliteRows} rows, pg ${d.pgRows} rows; onlyLocal ${few(d.onlyLocal)}; onlyCloud ${few(d.onlyCloud)}; different ${few(d.different)}${unreadable}`;
}

/** Rows of a Postgres table as text, by id. */
export async function pgRows(db: TestPg, table: string, columns = '*'): Promise<Array<Record<string, string | null>>> {
  const cols = columns === '*' ? await pgColumns(db, table) : columns.split(',').map((c) => c.trim());
  return db.query(`SELECT ${cols.map((c) => `${c}::text AS ${c}`).join(', ')} FROM ${table} ORDER BY id`);
}

async function pgColumns(db: TestPg, table: string): Promise<string[]> {
  const rows = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => r.column_name);
}

/** xmin of every row: unchanged xmin means Postgres did not rewrite the row. */
export async function xmins(db: TestPg, table: string): Promise<Map<string, string>> {
  const rows = await db.query<{ id: string; x: string }>(`SELECT id::text AS id, xmin::text AS x FROM ${table}`);
  return new Map(rows.map((r) => [r.id, r.x]));
}

export function localRows(local: Database.Database, table: string): Array<Record<string, unknown>> {
  return local.prepare(`SELECT * FROM ${table} ORDER BY id`).all() as Array<Record<string, unknown>>;
}

/** A UUID that reads as a number in test output: 00000000-0000-4000-8000-<n>. */
export function uid(n: number, prefix = 0): string {
  return `${String(prefix).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** An ISO millisecond timestamp `ms` after a fixed base, as POS apps store them in SQLite. */
export function at(ms: number): string {
  return new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
}
