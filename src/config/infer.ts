import { componentOrder } from '../util/graph.ts';
import type { PgColumn, PgTableInfo } from '../db/postgres/introspect.ts';
import { missingColumnOutcome, type BeforeInsertTrigger } from '../db/postgres/triggers.ts';
import { outsideFkFix, outsideFkMessage, outsideForeignKeys } from './fk-outside.ts';
import type { SqliteColumn, SqliteTableInfo } from '../db/sqlite/introspect.ts';
import { toSnake } from './naming.ts';
import type { RawTable } from './schema.ts';

/**
 * `possync init`: guesses a starter config from what both databases contain. Pure: it gets the
 * introspected tables and returns the tables section plus notes for the admin to review.
 * Nothing here is clever on purpose: exact names first, then the snake_case convention, and
 * every guess that could be wrong is said out loud in a note.
 */
export interface Inferred {
  naming: 'exact' | 'snake';
  tables: RawTable[];
  notes: string[];
}

const UPDATED = ['updated_at', 'updatedAt', 'modified_at', 'modifiedAt', 'last_modified', 'last_modified_at', 'lastModified'];
const CREATED = ['created_at', 'createdAt'];
const DELETED = ['deleted_at', 'deletedAt'];
const SERVER_ID = ['server_id', 'serverId', 'ServerId'];
/** Tables that are never synced: possync's own, SQLite's, Prisma's, and the checkpoint store. */
const RESERVED = /^(_possync_|sqlite_|_prisma_migrations$|system_settings$)/;

interface Match<T> {
  value: T;
  snake: boolean;
}

function find<T extends { name: string }>(pgName: string, candidates: readonly T[]): Match<T> | undefined {
  const exact = candidates.find((c) => c.name === pgName);
  if (exact) return { value: exact, snake: false };
  const snake = candidates.find((c) => toSnake(c.name) === pgName);
  return snake ? { value: snake, snake: true } : undefined;
}

export function inferConfig(
  pgTables: ReadonlyMap<string, PgTableInfo>,
  sqliteTables: readonly SqliteTableInfo[],
  triggers: ReadonlyMap<string, readonly BeforeInsertTrigger[]> = new Map(),
): Inferred {
  const notes: string[] = [];
  let snake = false;
  const sqliteUsable = sqliteTables.filter((t) => !RESERVED.test(t.name));
  const pgUsable = [...pgTables.values()].filter((t) => !RESERVED.test(t.name));
  if (sqliteTables.some((t) => t.name === 'system_settings')) notes.push('system_settings is not synced: possync keeps its pull checkpoints in the terminal\'s system_settings');

  const pairs: Array<{ pg: PgTableInfo; sqlite: SqliteTableInfo }> = [];
  for (const pg of pgUsable) {
    const m = find(pg.name, sqliteUsable);
    if (!m) continue;
    snake ||= m.snake;
    pairs.push({ pg, sqlite: m.value });
  }
  const pgOnly = pgUsable.filter((t) => !pairs.some((p) => p.pg === t)).map((t) => t.name);
  const sqliteOnly = sqliteUsable.filter((t) => !pairs.some((p) => p.sqlite === t)).map((t) => t.name);
  if (pgOnly.length > 0) notes.push(`only in Postgres, not synced: ${pgOnly.join(', ')}`);
  if (sqliteOnly.length > 0) notes.push(`only in SQLite, not synced: ${sqliteOnly.join(', ')}`);

  const tables: RawTable[] = [];
  const synced: Array<{ pg: PgTableInfo; columns: ReadonlySet<string> }> = [];
  for (const { pg, sqlite } of fkOrder(pairs, notes)) {
    const t = inferTable(pg, sqlite, notes, triggers.get(pg.name) ?? []);
    if (!t) continue;
    snake ||= t.snake;
    tables.push(t.table);
    synced.push({ pg, columns: t.columns });
  }
  // Links to tables this config leaves out (only in Postgres, or skipped above).
  const names = new Set(tables.map((t) => t.name));
  const sqliteNames = new Set(sqliteUsable.map((t) => t.name));
  for (const { pg, columns } of synced) {
    for (const fk of outsideForeignKeys(pg, names, (c) => columns.has(c))) {
      const onTill = [...sqliteNames].some((n) => n === fk.refTable || toSnake(n) === fk.refTable);
      notes.push(`${outsideFkMessage(pg.name, fk)}. Fix: ${outsideFkFix(pg.name, fk, onTill)}`);
    }
  }
  if (tables.length > 0) {
    notes.push('every table syncs both ways: set "direction": "pull" on reference data the terminal must not change, "push" on terminal-only logs');
  }
  return { naming: snake ? 'snake' : 'exact', tables, notes };
}

function inferTable(pg: PgTableInfo, sqlite: SqliteTableInfo, notes: string[], triggers: readonly BeforeInsertTrigger[]): { table: RawTable; snake: boolean; columns: ReadonlySet<string> } | undefined {
  const columns = new Map<string, SqliteColumn>();
  let snake = false;
  for (const c of pg.columns) {
    const m = find(c.name, sqlite.columns.filter((s) => ![...columns.values()].includes(s)));
    if (!m) continue;
    columns.set(c.name, m.value);
    snake ||= m.snake;
  }
  const label = sqlite.name === pg.name ? pg.name : `${sqlite.name} → ${pg.name}`;
  const pk = pg.primaryKey.length > 0 ? pg.primaryKey : pg.uniqueKeys[0];
  if (!pk) {
    notes.push(`skipped ${label}: the Postgres table has no primary key or unique key`);
    return undefined;
  }
  // With naming "snake", `OrderItem` finds `order_item` by itself; any other spelling is named.
  const sqliteName = sqlite.name !== pg.name && toSnake(sqlite.name) !== pg.name ? { sqliteName: sqlite.name } : {};
  const table: RawTable = { name: pg.name, ...sqliteName, pk: pk.length === 1 ? pk[0]! : pk };

  const reserved = new Set<string>();
  if (!pk.every((k) => columns.has(k))) {
    const serverId = sqlite.columns.find((c) => SERVER_ID.includes(c.name));
    if (pk.length !== 1 || sqlite.primaryKey.length !== 1 || !serverId) {
      notes.push(`skipped ${label}: the key (${pk.join(', ')}) has no SQLite counterpart; map it with columnMap or set localPk/serverIdCol`);
      return undefined;
    }
    table.localPk = sqlite.primaryKey[0]!;
    if (serverId.name !== 'server_id') table.serverIdCol = serverId.name;
    reserved.add(table.localPk).add(serverId.name);
    notes.push(`${label}: the terminal keeps its own key "${table.localPk}"; the shared id ${pk[0]} is stored in "${serverId.name}" (check this)`);
  }
  const cloudKey = cloudAssignedKey(pg, pk, columns, table.localPk);
  if (cloudKey) {
    table.assignKey = 'cloud';
    notes.push(`${label}: "${cloudKey}" is serial or identity in Postgres and an integer on the till: rows the till creates take their key from the cloud's sequence when pushed ("assignKey": "cloud"), so tills and the back office never pick the same number`);
  }

  const pick = (names: string[]) => pg.columns.find((c) => names.includes(c.name) && columns.has(c.name))?.name;
  const updated = pick(UPDATED);
  const created = pick(CREATED);
  const deleted = pick(DELETED);
  if (updated) table.updatedCol = updated;
  if (created) table.createdCol = created;
  if (deleted) table.deletedCol = deleted;
  if (!updated) {
    table.conflict = 'server-wins';
    notes.push(`${label}: no updated-at column found, so conflicts are settled "server-wins" (set updatedCol for last-writer-wins)`);
  }

  const matched = new Set(columns.values());
  const localOnly = sqlite.columns.filter((c) => !matched.has(c) && !reserved.has(c.name) && !c.generated).map((c) => c.name);
  if (localOnly.length > 0) table.localOnly = localOnly;
  for (const c of pg.columns.filter((c) => !columns.has(c.name) && mustBeSent(c) && !(table.localPk && c.name === pk[0]))) {
    const outcome = missingColumnOutcome(c.name, triggers);
    const fix = outcome.certain === 'filled' ? '' : ' (add it to SQLite or give it a default)';
    notes.push(`${label}: Postgres column "${c.name}" is NOT NULL without a default and SQLite has no such column: ${outcome.says}${fix}`);
  }
  return { table, snake, columns: new Set(columns.keys()) };
}

/**
 * A single integer key drawn from a sequence in Postgres (serial, identity by default) and stored
 * as an integer on the till: every writer would pick numbers on its own, so the cloud assigns them.
 */
function cloudAssignedKey(pg: PgTableInfo, pk: readonly string[], columns: ReadonlyMap<string, SqliteColumn>, localPk: string | undefined): string | undefined {
  if (pk.length !== 1 || localPk !== undefined) return undefined;
  const col = pg.columns.find((c) => c.name === pk[0]);
  const local = columns.get(pk[0]!);
  if (!col?.sequence || col.identity === 'always' || !['int2', 'int4', 'int8'].includes(col.udtName) || !local) return undefined;
  return /INT/i.test(local.declaredType) ? col.name : undefined;
}

function mustBeSent(c: PgColumn): boolean {
  return c.notNull && !c.hasDefault && !c.generated && c.identity === undefined;
}

/**
 * Parents first (Postgres FKs between the matched tables), names as the tie-break. Tables around
 * a cycle stay together, and a table that only depends on a cycle comes after it.
 */
function fkOrder<T extends { pg: PgTableInfo }>(pairs: T[], notes: string[]): T[] {
  const sorted = [...pairs].sort((a, b) => a.pg.name.localeCompare(b.pg.name));
  const components = componentOrder(sorted, (p) => p.pg.name, (p) => p.pg.foreignKeys.map((f) => f.refTable).filter((r) => r !== p.pg.name));
  for (const cycle of components.filter((c) => c.length > 1)) notes.push(cycleNote(cycle.map((p) => p.pg.name)));
  return components.flat();
}

/** How possync applies tables that reference each other around a cycle (init, verify-schemas, the plan). */
export function cycleNote(tables: readonly string[]): string {
  return (
    `foreign keys form a cycle between ${tables.join(', ')}: the first push into empty cloud tables loads them together (COPY into staging tables, one INSERT statement); ` +
    `later, rows that wait on each other are inserted together in one statement, and a pull writes them in the same run`
  );
}
