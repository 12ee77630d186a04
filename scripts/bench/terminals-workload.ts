// The many-terminals benchmark's data: a shared catalogue every till edits, and sales each till
// creates. The parent process plans every change (so it knows what must win and what must
// arrive); the workers only write them into their till's SQLite database.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

export const PG_SCHEMA = `
CREATE TABLE products (
  id uuid PRIMARY KEY,
  sku text NOT NULL,
  name text NOT NULL,
  price numeric(10,2) NOT NULL,
  stock integer NOT NULL,
  updated_at timestamptz(3) NOT NULL
);
CREATE TABLE sales (
  id uuid PRIMARY KEY,
  terminal_id text NOT NULL,
  product_id uuid NOT NULL REFERENCES products(id),
  qty integer NOT NULL,
  total numeric(12,2) NOT NULL,
  updated_at timestamptz(3) NOT NULL
);
CREATE INDEX sales_terminal ON sales (terminal_id);`;

export const SQLITE_SCHEMA = `
CREATE TABLE products (id TEXT PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, price TEXT NOT NULL, stock INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE sales (id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, product_id TEXT NOT NULL, qty INTEGER NOT NULL, total TEXT NOT NULL, updated_at TEXT NOT NULL);`;

/** An empty till database (WAL, like a POS app's). */
export function createTillDatabase(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SQLITE_SCHEMA);
  db.close();
}

export const TABLES = [
  { name: 'products', pk: 'id', updatedCol: 'updated_at' },
  { name: 'sales', pk: 'id', updatedCol: 'updated_at' },
];

/** Catalogue rows in Postgres, made in one statement (ids are deterministic uuids). */
export function seedCatalogue(rows: number): string {
  return `INSERT INTO products (id, sku, name, price, stock, updated_at)
    SELECT md5('product ' || g)::uuid, 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || g, 1 + (g % 500) / 10.0, 100,
           timestamptz '2026-01-01' + g * interval '1 second'
      FROM generate_series(1, ${rows}) g`;
}

export interface Sale {
  id: string;
  product_id: string;
  qty: number;
  total: string;
  updated_at: string;
}

export interface ProductEdit {
  id: string;
  price: string;
  stock: number;
  /** Distinct across every edit of the run, so exactly one edit of a row is the newest. */
  updated_at: string;
}

/** One till's local work for one cycle. */
export interface TillWork {
  sales: Sale[];
  edits: ProductEdit[];
}

/** Small deterministic PRNG (mulberry32), so a run's choice of rows can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `changes` per till: a quarter are edits of hot catalogue rows (the same few hundred rows on
 * every till, so tills collide on them), the rest are new sales of any product.
 */
export function planCycle(options: { cycle: number; tills: number; changes: number; productIds: string[]; hot: number; base: number; random: () => number }): TillWork[] {
  const { cycle, tills, changes, productIds, hot, base, random } = options;
  const editsPerTill = Math.max(1, Math.round(changes / 4));
  const salesPerTill = Math.max(0, changes - editsPerTill);
  const hotIds = productIds.slice(0, Math.min(hot, productIds.length));
  // Cycles are an hour apart in updated_at, tills and edits interleave within a cycle: unique stamps.
  const cycleBase = base + cycle * 3_600_000;
  const work: TillWork[] = [];
  for (let i = 0; i < tills; i++) {
    const picked = new Set<string>();
    while (picked.size < Math.min(editsPerTill, hotIds.length)) picked.add(hotIds[Math.floor(random() * hotIds.length)]!);
    const edits = [...picked].map((id, k) => ({
      id,
      price: (1 + Math.floor(random() * 99_900) / 100).toFixed(2),
      stock: Math.floor(random() * 1000),
      updated_at: new Date(cycleBase + (k * tills + i) * 3).toISOString(),
    }));
    const sales = Array.from({ length: salesPerTill }, () => {
      const qty = 1 + Math.floor(random() * 5);
      return { id: randomUUID(), product_id: productIds[Math.floor(random() * productIds.length)]!, qty, total: (qty * 2.5).toFixed(2), updated_at: new Date().toISOString() };
    });
    work.push({ sales, edits });
  }
  return work;
}
