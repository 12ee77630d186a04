import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { makeConfig } from './config.ts';
import { createSqliteFile, createTestPg, tempDir, type TestPg } from './db.ts';

/** One terminal of a schema pair: its SQLite file, its config (object, and JSON file for the CLI). */
export interface PairTerminal {
  id: string;
  sqlitePath: string;
  configPath: string;
  config: ResolvedConfig;
}

export interface Pair {
  db: TestPg;
  dir: string;
  /** A new terminal with its own SQLite file created from the pair's SQLite DDL. */
  terminal(id: string, overrides?: Record<string, unknown>): PairTerminal;
  cleanup(): Promise<void>;
}

/**
 * A fresh Postgres database with `pgSql`, and terminals whose SQLite files start from `sqliteSql`,
 * configured with `base` (tables, naming ...). The config file names the Postgres URL directly, so
 * CLI subprocesses need no environment.
 */
export async function createPair(label: string, pgSql: string, sqliteSql: string, base: Record<string, unknown>): Promise<Pair> {
  const db = await createTestPg(label);
  await db.query(pgSql);
  const tmp = tempDir(`possync-${label}-`);
  return {
    db,
    dir: tmp.dir,
    terminal(id, overrides = {}) {
      const dir = path.join(tmp.dir, id);
      fs.mkdirSync(dir);
      const sqlitePath = path.join(dir, 'till.sqlite');
      createSqliteFile(sqlitePath, sqliteSql);
      const raw = { sqlite: { path: 'till.sqlite' }, postgres: { url: db.url }, terminalId: id, ...base, ...overrides };
      const configPath = path.join(dir, 'possync.config.json');
      fs.writeFileSync(configPath, JSON.stringify(raw, null, 2));
      return { id, sqlitePath, configPath, config: makeConfig(raw, dir) };
    },
    async cleanup() {
      await db.drop();
      tmp.cleanup();
    },
  };
}
