import Database from 'better-sqlite3';

// Child process of startTillApp (till-app.ts): the POS app writing to its own database while
// possync runs. Its own connection with better-sqlite3's defaults (a 5 s busy timeout, no journal
// mode of its own choosing), autocommit statements like a till recording sales one by one.
// Every write it makes is remembered and reported on 'stop', with every error it met.

interface AppReport {
  /** Sales inserted, by id. */
  sales: string[];
  /** The last value written to each (table, id) it updated: `${table}:${id}` → qty. */
  last: Record<string, number>;
  /** When each write committed (ms since the epoch), to tell which overlapped a sync. */
  times: number[];
  errors: Array<{ code: string; message: string }>;
}

const [file, productCount, catalogCount, holdMs] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 0)];
const db = new Database(file);
const insertSale = db.prepare(`INSERT INTO sales (id, product_id, qty, updated_at) VALUES (?, ?, ?, ?)`);
const updateProduct = db.prepare(`UPDATE products SET qty = ?, updated_at = ? WHERE id = ?`);
const updateCatalog = db.prepare(`UPDATE catalog SET qty = ?, updated_at = ? WHERE id = ?`);
const report: AppReport = { sales: [], last: {}, times: [], errors: [] };
let n = 0;
let stopping = false;
// A small deterministic generator: which rows the app touches does not matter, only that they vary.
let seed = 12345;
const next = (m: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % m;
};

function write(): void {
  n++;
  const now = new Date().toISOString();
  try {
    if (n % 3 === 0) {
      const id = `sale-${String(n).padStart(7, '0')}`;
      insertSale.run(id, `p-${next(productCount)}`, n, now);
      report.sales.push(id);
    } else {
      const [table, stmt, count, prefix] = n % 3 === 1 ? (['products', updateProduct, productCount, 'p'] as const) : (['catalog', updateCatalog, catalogCount, 'c'] as const);
      const id = `${prefix}-${next(count)}`;
      // A catalogue row not pulled yet is not there to update (0 changes): nothing to remember.
      if (stmt.run(n, now, id).changes === 1) report.last[`${table}:${id}`] = n;
    }
    report.times.push(Date.now());
  } catch (err) {
    const e = err as { code?: string; message?: string };
    report.errors.push({ code: e.code ?? 'unknown', message: e.message ?? String(err) });
  }
}

// Writes in a tight loop, handing the event loop a turn every few writes so 'stop' is heard.
function loop(): void {
  if (stopping) return;
  for (let i = 0; i < 5; i++) write();
  setImmediate(loop);
}

process.on('message', (m: string) => {
  if (m !== 'stop') return;
  stopping = true;
  db.close();
  process.send!(report, () => process.exit(0));
});
if (holdMs > 0) {
  // A sale written in one transaction that stays open for a while (a till waiting on its card
  // terminal mid-sale): whoever opens the file meanwhile finds its write lock taken.
  db.exec('BEGIN IMMEDIATE');
  write();
  process.send!('ready');
  setTimeout(() => {
    db.exec('COMMIT');
    loop();
  }, holdMs);
} else {
  process.send!('ready');
  loop();
}
