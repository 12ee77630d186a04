import { randomUUID } from 'node:crypto';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { selectByKeys, type RawRow, type RawValue } from '../../db/sqlite/rows.ts';
import { localRowsToWire, describeRow, keyOf } from '../convert.ts';
import { readBases } from '../merge/base.ts';
import type { WireRow } from '../decide.ts';
import type { HeldRow } from '../held.ts';
import { displayKey, keyString, parseKey, type Key } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { fromSqlite, same, ValueError } from '../values/codec.ts';

/** A local change as read from _possync_changes (already coalesced per local key). */
export interface LocalChange {
  lkey: string;
  op: 'U' | 'D';
  /** Shared key of a deleted row (JSON). */
  skey: string | null;
  at: string | null;
}

/** A local row (or delete) ready to go to Postgres. */
export interface PushItem {
  lkey: string;
  key: Key;
  keyStr: string;
  display: string;
  row: WireRow | undefined;
  /** For deletes: when the row was deleted locally (timestamptz wire). */
  deletedAt: string | undefined;
  /** For deletes: the change as logged, kept with the row if it has to be held. */
  detail: string | undefined;
  /**
   * A row found by a full scan after this terminal has pulled the table, with no local change
   * logged: it is what the terminal last agreed with Postgres, not an edit. If Postgres has moved
   * on since, Postgres' version wins, whatever the conflict policy.
   */
  agreed?: boolean;
  /**
   * Held because a parent was missing, after insert-then-link wrote it to Postgres without that
   * link: this push completes the row's insert (counted as an insert, not an update).
   */
  linkPending?: boolean;
  /** Column merge: the values the till and the cloud last agreed on (engine/merge/base.ts), when the till kept them. */
  base?: WireRow | undefined;
}

/** Values possync assigns locally before pushing (a new row's shared id, `fill` columns). */
export interface WriteBack {
  lkey: string;
  set: Record<string, RawValue>;
}

export interface Prepared {
  items: PushItem[];
  held: HeldRow[];
  writeBack: WriteBack[];
  /** Local keys with nothing to push any more (row gone before it ever had a shared id). */
  gone: string[];
}

const AT_CODEC = { family: 'timestamptz', affinity: 'TEXT' } as const;

/**
 * Reads the current local version of each changed row (many updates of one row coalesce into one)
 * and turns it into wire values. New rows of localPk tables get their shared id here, and `fill`
 * columns their value; both are written back before the Postgres commit, so a retry reuses them.
 */
export function preparePush(db: SqliteDb, plan: SyncPlan, t: TablePlan, changes: readonly LocalChange[]): Prepared {
  const upserts = changes.filter((c) => c.op === 'U');
  const raws = selectByKeys(db, t.sqliteName, t.localKey, localColumns(t), upserts.map((c) => parseKey(c.lkey)));
  const byLkey = new Map(raws.map((r) => [localKeyString(t, r), r]));
  const present: Array<{ lkey: string; raw: RawRow }> = [];
  const gone: string[] = [];
  for (const c of upserts) {
    const raw = byLkey.get(c.lkey);
    // Gone since it was captured: its delete is (or will be) in the change log too.
    if (!raw) gone.push(c.lkey);
    else present.push({ lkey: c.lkey, raw });
  }
  const out = prepareRows(db, plan, t, present);
  const bases = readBases(db, plan, t, out.items.map((i) => i.lkey));
  for (const item of out.items) item.base = bases.get(item.lkey);
  out.gone.push(...gone);
  prepareDeletes(t, changes.filter((ch) => ch.op === 'D'), out);
  return out;
}

/** The SQLite columns a push reads: the local key plus every synced column. */
export function localColumns(t: TablePlan): string[] {
  return [...new Set([...t.localKey, ...t.columns.map((c) => c.sqlite)])];
}

/**
 * The till's rows of these local keys as they are now, raw and converted as the push converts
 * them, by local key (a row gone, or one that does not convert, is left out). Read 1,000 keys a
 * statement.
 */
export function readLocalVersions(db: SqliteDb, plan: SyncPlan, t: TablePlan, lkeys: readonly string[]): Map<string, { row: WireRow; raw: RawRow }> {
  const out = new Map<string, { row: WireRow; raw: RawRow }>();
  for (let i = 0; i < lkeys.length; i += 1000) {
    const raws = selectByKeys(db, t.sqliteName, t.localKey, localColumns(t), lkeys.slice(i, i + 1000).map(parseKey));
    localRowsToWire(db, plan, t, raws).forEach((conv, j) => {
      if (conv.ok) out.set(localKeyString(t, raws[j]!), { row: conv.row, raw: raws[j]! });
    });
  }
  return out;
}

/**
 * Turns local rows into wire rows ready for Postgres. New rows of localPk tables get their shared
 * id here, and `fill` columns their value; both are written back before the Postgres commit, so a
 * retry reuses them.
 */
export function prepareRows(db: SqliteDb, plan: SyncPlan, t: TablePlan, rows: ReadonlyArray<{ lkey: string; raw: RawRow; agreed?: boolean; skip?: boolean }>): Prepared {
  const out: Prepared = { items: [], held: [], writeBack: [], gone: [] };
  const present = rows.filter((p) => !p.skip).map((p) => ({ lkey: p.lkey, agreed: p.agreed, raw: assignLocalValues(t, p.lkey, p.raw, out.writeBack) }));
  const converted = localRowsToWire(db, plan, t, present.map((p) => p.raw));
  converted.forEach((conv, i) => {
    const { lkey, agreed } = present[i]!;
    if (!conv.ok) {
      // The row did not convert, so it is named by its local key. A refusal reads like one from
      // Postgres: the row, then the reason (a deferral's reason already starts with the row).
      const display = `${t.name}:${displayKey(parseKey(lkey))}`;
      out.held.push({ side: 'push', table: t.name, key: lkey, kind: conv.kind, reason: conv.kind === 'rejected' ? `${display}: ${conv.reason}` : conv.reason, display });
      return;
    }
    const outside = t.scope.find((s) => s.column && !same(s.column.family, conv.row[s.pg] ?? null, s.value));
    const key = keyOf(t, conv.row);
    const display = describeRow(t, conv.row);
    if (outside) {
      out.held.push({ side: 'push', table: t.name, key: lkey, kind: 'rejected', reason: `${display} is outside this terminal's scope (${outside.pg} must be ${outside.value})`, display });
      return;
    }
    out.items.push({ lkey, key, keyStr: keyString(key), display, row: conv.row, deletedAt: undefined, detail: undefined, ...(agreed ? { agreed } : {}) });
  });
  if (t.immutable) dropRefusedByPull(db, t, out);
  return out;
}

/**
 * An immutable table's agreed row (a full scan's: no local change since the till and the cloud
 * last agreed) whose cloud change the pull refused and holds: the till keeps its copy as it was
 * and the cloud's change stays listed. Pushing the copy would undo that change behind the
 * refusal's back (a sale the cloud deleted inserted again), so it is not pushed.
 */
function dropRefusedByPull(db: SqliteDb, t: TablePlan, out: Prepared): void {
  const agreed = out.items.filter((i) => i.agreed);
  if (agreed.length === 0) return;
  const held = db
    .prepare(`SELECT key FROM _possync_held WHERE side = 'pull' AND tbl = ? AND key IN (SELECT value FROM json_each(?))`)
    .all(t.name, JSON.stringify(agreed.map((i) => i.keyStr))) as Array<{ key: string }>;
  if (held.length === 0) return;
  const refused = new Set(held.map((h) => h.key));
  out.items = out.items.filter((i) => !(i.agreed && refused.has(i.keyStr)));
}

function prepareDeletes(t: TablePlan, deletes: readonly LocalChange[], out: Prepared): void {
  for (const c of deletes) {
    const skey = c.skey ? parseKey(c.skey) : [];
    if (skey.length !== t.key.length || skey.some((v) => v === '')) {
      out.gone.push(c.lkey); // never had a shared id: nothing to delete in Postgres
      continue;
    }
    try {
      const key = t.key.map((k, i) => fromSqlite(k.codec, skey[i]!) ?? '');
      const deletedAt = c.at ? (fromSqlite(AT_CODEC, c.at) ?? undefined) : undefined;
      out.items.push({ lkey: c.lkey, key, keyStr: keyString(key), display: `${t.name}:${displayKey(key)}`, row: undefined, deletedAt, detail: JSON.stringify({ op: 'D', skey: c.skey, at: c.at }) });
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      out.gone.push(c.lkey);
    }
  }
}

export function localKeyString(t: TablePlan, raw: RawRow): string {
  return keyString(t.localKey.map((k) => rawText(raw[k] ?? null)));
}

/** Of these local keys, those whose row the till has (one query for the lot). */
export function presentLocally(db: SqliteDb, t: TablePlan, lkeys: readonly string[]): Set<string> {
  const rows = selectByKeys(db, t.sqliteName, t.localKey, t.localKey, lkeys.map(parseKey));
  return new Set(rows.map((r) => localKeyString(t, r)));
}

/** The text SQLite's CAST(x AS TEXT) gives, which is how capture triggers record local keys. */
function rawText(v: RawValue): string {
  if (v === null) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

function assignLocalValues(t: TablePlan, lkey: string, raw: RawRow, writeBack: WriteBack[]): RawRow {
  const set: Record<string, RawValue> = {};
  if (t.serverIdCol && (raw[t.serverIdCol.sqlite] === null || raw[t.serverIdCol.sqlite] === undefined)) set[t.serverIdCol.sqlite] = randomUUID();
  for (const f of t.localFills) if (raw[f.column.sqlite] === null || raw[f.column.sqlite] === undefined) set[f.column.sqlite] = f.value;
  if (Object.keys(set).length === 0) return raw;
  writeBack.push({ lkey, set });
  return { ...raw, ...set };
}
