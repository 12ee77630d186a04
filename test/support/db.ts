import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inject } from 'vitest';
import { pgIdent } from '../../src/db/quote.ts';

/** A fresh Postgres database for one test file (or test), dropped by `drop()`. */
export interface TestPg {
  url: string;
  name: string;
  pool: pg.Pool;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

function urlFor(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** `adminUrl` defaults to the suite's server; tests that hold transactions open pass their own (see ledger.ts). */
export async function createTestPg(label = 'test', adminUrl: string = inject('pgAdminUrl')): Promise<TestPg> {
  const name = `possync_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pgIdent(name)}`);
  } finally {
    await admin.end();
  }
  const url = urlFor(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return {
    url,
    name,
    pool,
    async query(sql, params = []) {
      return (await pool.query(sql, params)).rows;
    },
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pgIdent(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix = 'possync-test-'): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Creates a SQLite file from SQL text and closes it (possync opens it itself). */
export function createSqliteFile(file: string, sql: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(sql);
  db.close();
}

/** Opens a SQLite file for a test to read or write like the POS app would. */
export function openSqlite(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  return db;
}
