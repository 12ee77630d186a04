import fs from 'node:fs';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';

/** The benchmark table, as described in the performance issue: one row per product. */
export const PG_TABLE = `
CREATE TABLE products (
  id uuid PRIMARY KEY,
  sku text NOT NULL,
  name text NOT NULL,
  price numeric(12,2) NOT NULL,
  qty integer NOT NULL,
  active boolean NOT NULL,
  updated_at timestamptz(3) NOT NULL,
  deleted_at timestamptz(3)
)`;

export const SQLITE_TABLE = `
CREATE TABLE products (
  id TEXT PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price TEXT NOT NULL,
  qty INTEGER NOT NULL,
  active INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT
)`;

export const COLUMNS = ['id', 'sku', 'name', 'price', 'qty', 'active', 'updated_at', 'deleted_at'];

/** A terminal database with `rows` products (deterministic apart from the uuids). */
export function createTerminal(file: string, rows: number): void {
  fs.rmSync(file, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SQLITE_TABLE);
  const insert = db.prepare(`INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const base = Date.UTC(2026, 0, 1);
  const chunk = 50_000;
  for (let start = 0; start < rows; start += chunk) {
    db.transaction(() => {
      for (let i = start; i < Math.min(rows, start + chunk); i++) {
        insert.run(
          randomUUID(),
          `SKU-${String(i).padStart(8, '0')}`,
          `Product number ${i} — ${i % 7 === 0 ? 'Ünïcødé' : 'plain'}`,
          (((i * 37) % 100000) / 100).toFixed(2),
          i % 1000,
          i % 3 === 0 ? 0 : 1,
          new Date(base + i * 1000).toISOString(),
          i % 50 === 0 ? new Date(base + i * 1000 + 500).toISOString() : null,
        );
      }
    })();
  }
  db.close();
}

/** An empty terminal database (for the initial pull). */
export function createEmptyTerminal(file: string): void {
  fs.rmSync(file, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SQLITE_TABLE);
  db.close();
}

/** The same rows as COPY text (what `psql \\copy` would send), written to a file. */
export function writeCopyFile(sqliteFile: string, out: string): number {
  const db = new Database(sqliteFile, { readonly: true });
  const fd = fs.openSync(out, 'w');
  let n = 0;
  const escape = (v: unknown) => (v === null ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'));
  let buf = '';
  for (const row of db.prepare(`SELECT ${COLUMNS.join(', ')} FROM products`).raw(true).iterate() as Iterable<unknown[]>) {
    buf += `${row.map((v, i) => (i === 5 ? (v === 1 ? 't' : 'f') : escape(v))).join('\t')}\n`;
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
    n++;
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
  db.close();
  return n;
}
