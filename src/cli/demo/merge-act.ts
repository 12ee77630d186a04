import Database from 'better-sqlite3';
import pg from 'pg';
import type { ResolvedConfig } from '../../config/types.ts';
import { runSync } from '../../engine/run.ts';
import type { RunResult } from '../../engine/result.ts';
import type { colors } from '../output.ts';
import { table } from '../output.ts';

/** The product both sides edit: Ketepa Pride Tea 100 g, 245.00, 40 in stock, agreed after the first sync. */
const PRODUCT = '00000000-0000-4000-8000-000000000102';
const SOLD = 2;
const DELIVERED = 24;

interface ProductRow {
  name: string;
  price: string;
  stock: number;
}

export interface MergeAct {
  ok: boolean;
  before: ProductRow;
  till: ProductRow;
  cloud: ProductRow;
  after: { till: ProductRow; cloud: ProductRow };
  result: RunResult;
}

/**
 * The demo's second act: after the first sync, the till renames a product and sells two, while
 * the back office raises its price and books a delivery of 24. With the example config's
 * `merge: "column"` and `counters` on products, the next sync keeps both edits and adds up the
 * stock: name from the till, price from the cloud, 40 − 2 + 24 = 62 on both sides.
 */
export async function mergeAct(config: ResolvedConfig, sqlitePath: string, url: string): Promise<MergeAct> {
  const local = new Database(sqlitePath);
  const cloud = new pg.Client({ connectionString: url });
  await cloud.connect();
  try {
    const readTill = (): ProductRow =>
      local.prepare(`SELECT name, price, stock_quantity AS stock FROM products WHERE id = ?`).get(PRODUCT) as ProductRow;
    const readCloud = async (): Promise<ProductRow> =>
      (await cloud.query<ProductRow>(`SELECT name, price::text AS price, master_stock_quantity AS stock FROM products WHERE id = $1`, [PRODUCT])).rows[0]!;
    const before = readTill();
    const now = Date.now();
    // The POS app sets updated_at on its edits, as the back office does on its own.
    local
      .prepare(`UPDATE products SET name = name || ' (loose)', stock_quantity = stock_quantity - ?, updated_at = ? WHERE id = ?`)
      .run(SOLD, new Date(now).toISOString(), PRODUCT);
    await cloud.query(`UPDATE products SET price = 255.00, master_stock_quantity = master_stock_quantity + $1, updated_at = $2 WHERE id = $3`, [
      DELIVERED,
      new Date(now + 1_000).toISOString(),
      PRODUCT,
    ]);
    const till = readTill();
    const cloudEdit = await readCloud();
    const result = await runSync(config, { direction: 'both' });
    const after = { till: readTill(), cloud: await readCloud() };
    const expected: ProductRow = { name: till.name, price: cloudEdit.price, stock: before.stock - SOLD + DELIVERED };
    const same = (r: ProductRow) => r.name === expected.name && r.price === expected.price && Number(r.stock) === expected.stock;
    return { ok: result.status === 'success' && same(after.till) && same(after.cloud), before, till, cloud: cloudEdit, after, result };
  } finally {
    local.close();
    await cloud.end();
  }
}

/** The act as a small table: each column before, as each side edited it, and after the sync. */
export function renderMergeAct(act: MergeAct, c: ReturnType<typeof colors>): string[] {
  // After the sync: one value when both sides hold it, else the till's and the cloud's.
  const after = (col: keyof ProductRow) => {
    const [t, k] = [String(act.after.till[col]), String(act.after.cloud[col])];
    return t === k ? t : `till ${t} / cloud ${k}`;
  };
  const rows = [
    ['  name', act.before.name, act.till.name, act.cloud.name, after('name')],
    ['  price', act.before.price, act.till.price, act.cloud.price, after('price')],
    ['  stock', String(act.before.stock), `${act.till.stock} (sold ${SOLD})`, `${act.cloud.stock} (+${DELIVERED} delivered)`, after('stock')],
  ];
  return [
    ...table([['  column', 'agreed', 'till edits', 'cloud edits', 'after the sync, both sides'].map((h) => c.dim(h)), ...rows], ['l', 'l', 'l', 'l', 'l']),
    '',
    act.ok
      ? c.green(`✓ both edits kept: the till's name, the cloud's price, and stock ${act.before.stock} − ${SOLD} + ${DELIVERED} = ${act.before.stock - SOLD + DELIVERED} on both sides`)
      : c.red('✗ the merge did not come out as expected (see the table above)'),
  ];
}
