import { insertTogether, type TogetherPart } from '../../db/postgres/insert-together.ts';
import { missingParents } from '../../db/postgres/rows.ts';
import { withCaptureSuppressed } from '../../db/sqlite/rows.ts';
import { pulledSnapshot } from '../checkpoints.ts';
import type { RunContext } from '../context.ts';
import { heldKeys, releaseHeld } from '../held.ts';
import { keyString } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import { fromPg } from '../values/codec.ts';
import { contestedKeys, pgRef } from './apply.ts';
import { preparePush, type PushItem } from './prepare.ts';
import { writePathOf } from './write-path.ts';

interface Candidate {
  t: TablePlan;
  items: PushItem[];
}

/**
 * Rows of tables that reference each other around a cycle, inserted together.
 *
 * When every link of a cycle is NOT NULL (a branch's manager is an employee, an employee's branch
 * is a branch), no order of separate inserts works: each row waits for the other, forever. After
 * the cycle's tables were pushed, the rows they deferred are inserted in one statement
 * (db/postgres/insert-together.ts): Postgres checks a non-deferrable FK at the end of the
 * statement, so the pair goes in. Only rows that are new to Postgres and nobody else changed
 * there go this way (the others are decided by the usual path); only rows whose every parent is
 * in Postgres already or among the rows going in together (or the statement would fail whole).
 * The rows that went in are released from the held list and counted as inserted; the rest stay
 * deferred and are retried as before. The batch commits with this terminal as its origin, so
 * the pull does not bring the rows back.
 */
export async function insertCycleTogether(ctx: RunContext, cycle: readonly TablePlan[], results: ReadonlyMap<TablePlan, TableResult>): Promise<void> {
  if (ctx.dryRun) return;
  const db = ctx.sqlite.db;
  const candidates: Candidate[] = [];
  for (const t of cycle) {
    // Tables that only pull, failed this run, or cannot take ON CONFLICT (rules) are left out.
    if (t.direction === 'pull' || results.get(t)?.status !== 'success' || writePathOf(t).kind !== 'upsert') continue;
    const held = heldKeys(db, 'push', t.name).filter((h) => h.kind === 'deferred' && h.detail === null);
    if (held.length === 0) continue;
    const prepared = ctx.sqlite.read(() => preparePush(db, ctx.plan, t, held.map((h) => ({ lkey: h.key, op: 'U' as const, skey: null, at: null }))));
    const items = prepared.items.filter((i) => i.row !== undefined);
    if (items.length > 0) candidates.push({ t, items });
  }
  if (candidates.length < 2) return;

  const inserted = await ctx.pg.tx(
    async (client) => {
      // A row another writer deleted in Postgres since this till last agreed with it must not
      // come back through here: the usual path decides it under the table's policy. (A row absent
      // from Postgres that is merely "contested" because its history predates possync has
      // nothing to lose: the usual path would insert it too.)
      for (const c of candidates) {
        const contested = await contestedKeys(client, ctx.plan, c.t, c.items, pulledSnapshot(db, ctx.plan.terminalId, c.t.name));
        c.items = c.items.filter((i) => contested.get(i.keyStr)?.deletedAt === undefined);
      }
      await dropRowsWithoutParents(client, ctx, candidates);
      const going = candidates.filter((c) => c.items.length > 0);
      if (going.length < 2) return [];
      const parts: TogetherPart[] = going.map((c) => ({
        ref: pgRef(ctx.plan, c.t),
        columns: c.t.columns.map((col) => ({ name: col.pg, castType: col.castType })),
        constants: c.t.constants.map((k) => ({ name: k.pg, castType: k.castType, value: k.value })),
        rows: c.items.map((i) => c.t.columns.map((col) => i.row![col.pg] ?? null)),
      }));
      const keys = await insertTogether(client, parts);
      return going.map((c, n) => {
        const codecs = c.t.key.map((k) => k.codec);
        const done = new Set(keys[n]!.map((key) => keyString(key.map((text, i) => fromPg(codecs[i]!, text) ?? ''))));
        return { c, lkeys: c.items.filter((i) => done.has(i.keyStr)).map((i) => i.lkey) };
      });
    },
    { origin: ctx.plan.terminalId },
  );
  if (inserted.length === 0) return;
  ctx.sqlite.immediate(() =>
    withCaptureSuppressed(db, () => {
      for (const { c, lkeys } of inserted) releaseHeld(db, 'push', c.t.name, lkeys);
    }),
  );
  for (const { c, lkeys } of inserted) {
    const r = results.get(c.t)!;
    r.inserted += lkeys.length;
    ctx.onProgress?.({ step: 'push', table: c.t.name, rows: r.inserted + r.updated + r.deleted + r.unchanged });
  }
}

/**
 * Leaves out rows with a parent that is neither in Postgres nor among the rows going in, until
 * none is left out: the statement would fail whole on one such row.
 */
async function dropRowsWithoutParents(client: Parameters<typeof missingParents>[0], ctx: RunContext, candidates: Candidate[]): Promise<void> {
  const byTable = new Map(candidates.map((c) => [c.t.name, c]));
  // Parent values Postgres lacks, per table and column: looked up once.
  const missingInPg = new Map<string, Set<string>>();
  for (const c of candidates) {
    for (const fk of c.t.fks) {
      const values = [...new Set(c.items.map((i) => i.row![fk.column.pg]).filter((v): v is string => v !== null && v !== undefined))];
      const id = `${fk.refTable}\u0000${fk.refPg}`;
      const missing = await missingParents(client, ctx.plan.schema, ctx.plan.byName.get(fk.refTable)!.name, { name: fk.refPg, castType: fk.column.castType }, values);
      const known = missingInPg.get(id) ?? new Set<string>();
      for (const v of missing) known.add(v);
      missingInPg.set(id, known);
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    // What the rows still going in offer as parents, per table and column.
    const offered = new Map<string, Set<string | null | undefined>>();
    const offers = (table: string, column: string) => {
      const id = `${table}\u0000${column}`;
      let set = offered.get(id);
      if (!set) offered.set(id, (set = new Set(byTable.get(table)?.items.map((p) => p.row![column]))));
      return set;
    };
    for (const c of candidates) {
      const kept = c.items.filter((i) =>
        c.t.fks.every((fk) => {
          const v = i.row![fk.column.pg];
          if (v === null || v === undefined || !missingInPg.get(`${fk.refTable}\u0000${fk.refPg}`)?.has(v)) return true;
          return offers(fk.refTable, fk.refPg).has(v);
        }),
      );
      if (kept.length !== c.items.length) {
        c.items = kept;
        changed = true;
      }
    }
  }
}
