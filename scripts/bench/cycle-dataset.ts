import type Database from 'better-sqlite3';

/**
 * A schema as real teams build it: a NOT NULL foreign-key cycle (a branch's manager is an employee,
 * an employee's branch is a branch, neither deferrable) with a chain of tables after it (sales by
 * employees, items of sales). Shared by scripts/bench-cycle.ts and the cycle's integration test.
 */
export const CYCLE_PG = `
CREATE TABLE branch (id int PRIMARY KEY, name text NOT NULL, manager_id int NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE employee (id int PRIMARY KEY, name text NOT NULL, branch_id int NOT NULL REFERENCES branch, updated_at timestamptz(3) NOT NULL);
ALTER TABLE branch ADD FOREIGN KEY (manager_id) REFERENCES employee;
CREATE TABLE sale (id int PRIMARY KEY, employee_id int NOT NULL REFERENCES employee, amount numeric(10,2) NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE sale_item (id int PRIMARY KEY, sale_id int NOT NULL REFERENCES sale, sku text NOT NULL, qty int NOT NULL, updated_at timestamptz(3) NOT NULL);`;

export const CYCLE_SQLITE = `
CREATE TABLE branch (id INTEGER PRIMARY KEY, name TEXT NOT NULL, manager_id INTEGER NOT NULL REFERENCES employee(id), updated_at TEXT NOT NULL);
CREATE TABLE employee (id INTEGER PRIMARY KEY, name TEXT NOT NULL, branch_id INTEGER NOT NULL REFERENCES branch(id), updated_at TEXT NOT NULL);
CREATE TABLE sale (id INTEGER PRIMARY KEY, employee_id INTEGER NOT NULL REFERENCES employee(id), amount TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE sale_item (id INTEGER PRIMARY KEY, sale_id INTEGER NOT NULL REFERENCES sale(id), sku TEXT NOT NULL, qty INTEGER NOT NULL, updated_at TEXT NOT NULL);`;

export interface CycleCounts {
  branches: number;
  employees: number;
  sales: number;
  items: number;
}

/** About `rows` rows in all: one branch per 20 rows, two employees a branch, the rest sales and items. */
export function cycleCounts(rows: number): CycleCounts {
  const branches = Math.max(1, Math.round(rows / 20));
  const employees = 2 * branches;
  const sales = Math.round((rows - 3 * branches) * 0.47);
  return { branches, employees, sales, items: rows - branches - employees - sales };
}

/**
 * Fills an open till database that has CYCLE_SQLITE: each branch managed by its first employee.
 * The cycle is checked at COMMIT (defer_foreign_keys), as a till app enforcing its keys does it.
 */
export function fillCycleTill(db: Database.Database, n: CycleCounts, at = '2026-12-01T09:00:00.000Z'): void {
  db.pragma('defer_foreign_keys = ON');
  db.transaction(() => {
    const b = db.prepare('INSERT INTO branch VALUES (?, ?, ?, ?)');
    for (let i = 1; i <= n.branches; i++) b.run(i, `branch ${i}`, 2 * i - 1, at);
    const e = db.prepare('INSERT INTO employee VALUES (?, ?, ?, ?)');
    for (let i = 1; i <= n.employees; i++) e.run(i, `employee ${i}`, Math.ceil(i / 2), at);
    const s = db.prepare('INSERT INTO sale VALUES (?, ?, ?, ?)');
    for (let i = 1; i <= n.sales; i++) s.run(i, ((i - 1) % n.employees) + 1, `${(i % 997) + 0.5}`, at);
    const it = db.prepare('INSERT INTO sale_item VALUES (?, ?, ?, ?, ?)');
    for (let i = 1; i <= n.items; i++) it.run(i, ((i - 1) % n.sales) + 1, `sku-${i % 311}`, (i % 7) + 1, at);
  })();
}
