import pg from 'pg';
import type { Direction } from '../../src/config/types.ts';
import { inSync } from '../../src/engine/compare.ts';
import { runAndKill } from './crash.ts';
import { appliedRows, createLedger, describeDiff, sidesDiff, TABLE_NAMES, uid, type Ledger, type TableName, type Terminal } from './ledger.ts';
import { COLUMNS, diffLive, livePg, liveSqlite, Model, SOFT, type Values } from './model.ts';
import { rng, type Rng } from './prng.ts';
import { STOCK_PG, STOCK_SQLITE, STOCK_TABLE, StockModel, milli, weightText } from './stock-model.ts';
import { ManualMemos, MEMO_PG, MEMO_SQLITE, MEMO_TABLE } from './manual-memos.ts';
import { DOCS_PG, DOCS_SQLITE, docsTable, VersionModel } from './version-model.ts';
import { IMMUTABLE_REASON, ImmutableModel, SALES_PG, SALES_SQLITE, SALES_TABLE, type Tamper } from './immutable-model.ts';

/**
 * A seeded random workload on both sides of several terminals, interleaved with sync runs, then a
 * quiescent end: both sides must equal each other and the model (model.ts).
 *
 * Rules that keep the model exact (they restrict the workload, not the engine):
 * - every edit writes all columns, stamped with a wall-clock time strictly after every earlier
 *   edit (deletes are stamped by the databases' own clocks, so edits wait for the clock to move);
 * - an account is hard-deleted only if no entry ever referenced it, and never referenced after
 *   (a child of a vanished parent would wait forever: that is the app's integrity, not sync's);
 * - long-open Postgres transactions only insert new rows, so nothing else waits on their locks;
 * - prices (server-wins) and notes (client-wins) rows have one writer between quiescent points,
 *   except in "policy rounds", where both sides edit a row and the policy's winner is expected.
 *
 * The tables of issue 20's later scopes (docs: conflict "version"; sales: immutable; a third till,
 * t3, that mostly stays offline and changes stock counters) are driven by a second random stream
 * (`x`), one extra step after each step of the first, and t3 syncs only in that stream. So the
 * first stream draws exactly what it drew before they existed: the ledger tables and the first
 * two tills' stock edits of a seed are the same workload as before (kill moments and timings aside).
 */
type Actor = 'pg' | string;

export interface WorkloadOptions {
  seed: number;
  /** The server to create the seed's database on: its own (ownPostgres), since the workload holds transactions open. */
  adminUrl: string;
  steps: number;
  terminals?: number;
  batchSize?: number;
  /** Probability that a sync step is a SIGKILLed `possync trigger` subprocess instead of an in-process run. */
  killRate?: number;
}

export interface WorkloadReport {
  seed: number;
  problems: string[];
  trace: string[];
  syncs: number;
  kills: number;
  /** What the runs met, to see that the seeds exercise the hard cases. */
  seen: Seen;
}

interface Meta {
  pending?: boolean;
  /** Policy tables: who may edit the row until the next quiescent point. */
  owner?: Actor;
  refs: number;
  hardDeleted?: boolean;
}

interface Held {
  client: pg.Client;
  rows: Array<[TableName, string]>;
}

const LWW: TableName[] = ['accounts', 'entries', 'tags'];

function newSeen() {
  return {
    pushConflicts: 0,
    pullConflicts: 0,
    deferred: 0,
    heldTransactions: 0,
    /** Merges recorded on stocks (both sides changed the row since they agreed), either side's log. */
    stockMerges: 0,
    /** Stock rows whose counters took deltas from at least three writers between two quiet points. */
    stock3Writers: 0,
    /** Conflicts recorded on docs (decided by version, or a tie by the fallback). */
    versionConflicts: 0,
    /** docs rows whose highest version was written twice or more: true ties. */
    versionTies: 0,
    /** Immutable tampers seen refused and listed. */
    immutableRefusals: 0,
    /** Manual conflicts (memos) the simulated admin decided. */
    manualDecisions: 0,
  };
}
export type Seen = ReturnType<typeof newSeen>;
const POLICY: TableName[] = ['prices', 'notes'];

export async function runWorkload(options: WorkloadOptions): Promise<WorkloadReport> {
  const ledger = await createLedger(`w${options.seed}`, {
    adminUrl: options.adminUrl,
    batchSize: options.batchSize ?? 1 + (options.seed % 4) * 3,
    extraPg: STOCK_PG + MEMO_PG + DOCS_PG + SALES_PG,
    extraSqlite: STOCK_SQLITE + MEMO_SQLITE + DOCS_SQLITE + SALES_SQLITE,
    extraTables: [STOCK_TABLE, MEMO_TABLE, docsTable(options.seed % 2 === 0 ? 'lww' : 'server-wins'), SALES_TABLE],
  });
  const w = new Workload(ledger, options);
  try {
    for (let i = 0; i < options.steps && w.problems.length === 0; i++) await w.step(i);
    if (w.problems.length === 0) await w.finish();
  } catch (err) {
    w.problems.push(`threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await w.close();
    await ledger.cleanup();
  }
  return { seed: options.seed, problems: w.problems, trace: w.trace, syncs: w.syncs, kills: w.kills, seen: w.seen };
}

/** A failing seed: its problems, the command that replays it, and its last steps (all of them with CONVERGENCE_TRACE=1). */
export function explain(report: WorkloadReport, replay: string): string {
  return [
    `seed ${report.seed} failed (${report.syncs} syncs, ${report.kills} kills). Replay: ${replay}`,
    ...report.problems.slice(0, 15).map((p) => `  ${p}`),
    '  last steps:',
    ...report.trace.slice(process.env.CONVERGENCE_TRACE ? 0 : -40).map((t) => `    ${t}`),
  ].join('\n');
}

class Workload {
  readonly problems: string[] = [];
  readonly trace: string[] = [];
  syncs = 0;
  /** How long a subprocess run took here, after taking the lock: kills are aimed inside it. */
  lastRunMs = 400;
  kills = 0;
  readonly seen = newSeen();
  private readonly r: Rng;
  /** The second stream: docs, sales and t3 (see the top of this file). */
  private readonly x: Rng;
  /** The first stream's tills (t1, t2). */
  private readonly terms: Terminal[];
  /** Every till: terms and t3, the till only the second stream uses. */
  private readonly tills: Terminal[];
  private readonly t3: Terminal;
  private readonly docs: VersionModel;
  private readonly sales = new ImmutableModel();
  /** Per stock row, who changed a counter since the last quiet point. */
  private readonly stockWriters = new Map<string, Set<Actor>>();
  /** The second stream's counter for ids and values. */
  private xn = 0;
  private readonly model = new Model();
  private readonly stocks = new StockModel();
  private readonly meta = new Map<string, Meta>();
  private readonly held: Held[] = [];
  private last = 0;
  private n = 0;
  private installed = false;
  private readonly memos: ManualMemos;

  constructor(
    private readonly ledger: Ledger,
    private readonly options: WorkloadOptions,
  ) {
    this.r = rng(options.seed);
    this.terms = Array.from({ length: options.terminals ?? 2 }, (_, i) => ledger.terminal(`t${i + 1}`));
    this.memos = new ManualMemos(this.r, { db: ledger.db, terms: this.terms, log: (l) => this.log(l), tick: () => this.tick(), sync: (t, d, why) => this.sync(t, d, why) });
    this.x = rng((options.seed ^ 0x5eed5eed) >>> 0);
    this.t3 = ledger.terminal(`t${this.terms.length + 1}`);
    this.tills = [...this.terms, this.t3];
    this.docs = new VersionModel(options.seed % 2 === 0 ? 'lww' : 'server-wins');
  }

  async step(i: number): Promise<void> {
    const roll = this.r.next();
    if (roll < 0.28) await this.sync(this.r.pick(this.terms), this.r.pick(['push', 'pull', 'both'] as const), `step ${i}`, true);
    else if (roll < 0.34) await this.openHeld();
    else if (roll < 0.4) await this.commitHeld(this.r.int(Math.max(1, this.held.length)));
    else if (roll < 0.43) await this.policyRound();
    else if (roll < 0.6) await this.conflict();
    else if (roll < 0.65) await this.childFirst();
    else if (roll < 0.75) await this.stock(this.r.pick(this.actors()));
    else if (roll < 0.82) await this.memos.step();
    else await this.edit(this.r.pick(this.actors()), this.r.pick(TABLE_NAMES), this.r.pick(['insert', 'insert', 'update', 'update', 'soft', 'hard'] as const));
    await this.extraStep(i);
  }

  /** One step of the second stream (drawn from `x` only). */
  private async extraStep(i: number): Promise<void> {
    const roll = this.x.next();
    const all = [...this.actors(), this.t3.id];
    if (roll < 0.1) await this.docEdit(this.x.pick(all));
    else if (roll < 0.15) await this.docRace();
    else if (roll < 0.22) await this.saleInsert(this.x.pick(all));
    else if (roll < 0.26) await this.saleTamper(this.x.pick(all));
    else if (roll < 0.29) await this.saleUndo();
    else if (roll < 0.37) await this.stock(this.t3.id, this.x);
    else if (roll < 0.42) await this.stock('pg', this.x);
    else if (roll < 0.47) await this.sync(this.t3, this.x.pick(['push', 'pull', 'both'] as const), `x step ${i}`, true, this.x);
  }

  /** Commit everything, sync until quiet, check that a further run moves nothing, compare with the model. */
  async finish(): Promise<void> {
    while (this.held.length > 0) await this.commitHeld(0);
    this.problems.push(...(await this.memos.settle()));
    this.seen.manualDecisions = this.memos.decisions;
    while (this.sales.outstanding().length > 0) await this.saleUndo();
    await this.quiesce();
    for (const t of this.tills) {
      const r = await this.sync(t, 'both', 'final check');
      if (r !== undefined && r > 0) this.problems.push(`${t.id}: a second quiescent 'both' applied ${r} rows`);
    }
    for (const t of this.tills) {
      for (const d of await sidesDiff(t.config)) if (!inSync(d)) this.problems.push(`${t.id} compareSides: ${describeDiff(d)}`);
      const held = t.local.prepare(`SELECT side, tbl, key, kind, reason FROM _possync_held`).all();
      if (held.length > 0) this.problems.push(`${t.id} still holds rows: ${JSON.stringify(held.slice(0, 5))}`);
    }
    this.problems.push(...this.stocks.diff(await this.stocks.pg(this.ledger.db), 'postgres').slice(0, 5));
    for (const t of this.tills) this.problems.push(...this.stocks.diff(this.stocks.sqlite(t.local), t.id).slice(0, 5));
    this.problems.push(...this.docs.diff(await this.docs.pg(this.ledger.db), 'postgres').slice(0, 5));
    for (const t of this.tills) this.problems.push(...this.docs.diff(this.docs.sqlite(t.local), t.id).slice(0, 5));
    this.problems.push(...this.sales.diff(await this.sales.pg(this.ledger.db), 'postgres').slice(0, 5));
    for (const t of this.tills) this.problems.push(...this.sales.diff(this.sales.sqlite(t.local), t.id).slice(0, 5));
    for (const table of TABLE_NAMES) {
      const want = this.model.live(table);
      this.problems.push(...diffLive(table, want, await livePg(this.ledger.db, table), 'postgres').slice(0, 5));
      for (const t of this.tills) this.problems.push(...diffLive(table, want, liveSqlite(t.local, table), t.id).slice(0, 5));
    }
    await this.countLogged();
  }

  /** The met-counters read from the conflict logs (both sides) and the models. */
  private async countLogged(): Promise<void> {
    const cloud = await this.ledger.db.query<{ tbl: string; n: string }>(`SELECT tbl, count(*)::text AS n FROM possync.conflicts WHERE tbl IN ('stocks', 'docs') GROUP BY tbl`);
    const add = (tbl: string, n: number) => {
      if (tbl === 'stocks') this.seen.stockMerges += n;
      if (tbl === 'docs') this.seen.versionConflicts += n;
    };
    for (const r of cloud) add(r.tbl, Number(r.n));
    for (const t of this.tills) {
      for (const r of t.local.prepare(`SELECT tbl, count(*) AS n FROM _possync_conflicts WHERE tbl IN ('stocks', 'docs') GROUP BY tbl`).all() as Array<{ tbl: string; n: number }>) add(r.tbl, r.n);
    }
    this.seen.versionTies = this.docs.ties();
    this.seen.immutableRefusals = this.sales.refusals();
  }

  async close(): Promise<void> {
    for (const h of this.held.splice(0)) await h.client.end().catch(() => {});
  }

  private actors(): Actor[] {
    return ['pg', ...this.terms.map((t) => t.id)];
  }

  private log(line: string): void {
    this.trace.push(line);
  }

  /** A wall-clock ms strictly after every earlier edit (and delete) of this workload. */
  private tick(): number {
    for (;;) {
      const now = Date.now();
      if (now > this.last) return (this.last = now);
    }
  }

  private metaOf(table: TableName, id: string): Meta {
    const k = `${table}:${id}`;
    let m = this.meta.get(k);
    if (!m) this.meta.set(k, (m = { refs: 0 }));
    return m;
  }

  private term(actor: Actor): Terminal {
    return this.tills.find((t) => t.id === actor)!;
  }

  private async exec(actor: Actor, sql: string, params: unknown[]): Promise<void> {
    if (actor === 'pg') {
      let n = 0;
      await this.ledger.db.query(sql.replace(/\?/g, () => `$${++n}`), params);
    } else {
      this.term(actor).local.prepare(sql).run(...params);
    }
  }

  private async ids(actor: Actor, table: TableName, liveOnly = true): Promise<string[]> {
    const sql = `SELECT id FROM ${table} ${liveOnly && SOFT.has(table) ? 'WHERE deleted_at IS NULL' : ''} ORDER BY id`;
    if (actor === 'pg') return (await this.ledger.db.query<{ id: string }>(sql.replace('SELECT id', 'SELECT id::text AS id'))).map((r) => r.id);
    return (this.term(actor).local.prepare(sql).all() as Array<{ id: string }>).map((r) => r.id);
  }

  /** Rows `actor` may edit now: live on its side, not in an open transaction, and (policy tables) its own. */
  private async editable(actor: Actor, table: TableName): Promise<string[]> {
    return (await this.ids(actor, table)).filter((id) => {
      const m = this.metaOf(table, id);
      return !m.pending && (!POLICY.includes(table) || m.owner === undefined || m.owner === actor);
    });
  }

  /** An account a new or moved entry may reference (on Postgres it must exist there: the FK is enforced). */
  private async accountRef(actor: Actor): Promise<string | undefined> {
    const inPg = actor === 'pg' ? new Set(await this.ids('pg', 'accounts', false)) : undefined;
    const ok = [...(this.model.rows.get('accounts')?.keys() ?? [])].filter((id) => {
      const m = this.metaOf('accounts', id);
      return !m.pending && !m.hardDeleted && (!inPg || inPg.has(id));
    });
    if (ok.length === 0) return undefined;
    // Often one of the newest: it may not have reached this side or Postgres yet (deferred children).
    const id = this.r.chance(0.5) ? this.r.pick(ok.slice(-3)) : this.r.pick(ok);
    this.metaOf('accounts', id).refs++;
    return id;
  }

  private money(): string {
    return ((this.r.int(2_000_000) - 500_000) / 100).toFixed(2);
  }

  /** New values for every column of a row, stamped now. */
  private async values(actor: Actor, table: TableName, current?: string): Promise<Values | undefined> {
    const k = ++this.n;
    const v: Values = {};
    if (table === 'accounts') Object.assign(v, { name: `acc ${k} by ${actor}`, balance: this.money() });
    if (table === 'entries') {
      const keep = current !== undefined && this.r.chance(0.5);
      const account = keep ? await this.currentAccount(actor, current) : await this.accountRef(actor);
      if (account === undefined) return undefined;
      Object.assign(v, { account_id: account, amount: this.money(), note: this.r.chance(0.3) ? null : `note ${k} ✓` });
    }
    if (table === 'tags') v.label = `tag ${k}`;
    if (table === 'prices') v.amount = this.money();
    if (table === 'notes') v.body = `note ${k} by ${actor} — é`;
    v.updated_at = new Date(this.tick()).toISOString();
    return v;
  }

  private async currentAccount(actor: Actor, entry: string): Promise<string> {
    if (actor === 'pg') return (await this.ledger.db.query<{ a: string }>(`SELECT account_id::text AS a FROM entries WHERE id = $1`, [entry]))[0]!.a;
    return (this.term(actor).local.prepare(`SELECT account_id AS a FROM entries WHERE id = ?`).get(entry) as { a: string }).a;
  }

  async edit(actor: Actor, table: TableName, kind: 'insert' | 'update' | 'soft' | 'hard', forced?: string): Promise<void> {
    if (kind === 'soft' && !SOFT.has(table)) kind = 'hard';
    if (kind === 'insert') {
      const id = uid(++this.n, TABLE_NAMES.indexOf(table) + 1);
      const v = await this.values(actor, table);
      if (!v) return;
      const cols = COLUMNS[table];
      await this.exec(actor, `INSERT INTO ${table} (id, ${cols.join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')})`, [id, ...cols.map((c) => v[c])]);
      this.model.set(table, id, v);
      if (POLICY.includes(table)) this.metaOf(table, id).owner = actor;
      this.log(`${actor} insert ${table}:${id} ${JSON.stringify(v)}`);
      return;
    }
    const candidates = forced ? [forced] : await this.editable(actor, table);
    if (candidates.length === 0) return;
    const id = this.r.pick(candidates);
    const m = this.metaOf(table, id);
    if (kind === 'hard' && table === 'accounts' && m.refs > 0) kind = 'soft';
    if (POLICY.includes(table) && m.owner === undefined) m.owner = actor;
    if (kind === 'update') {
      const v = await this.values(actor, table, id);
      if (!v) return;
      const cols = COLUMNS[table];
      const revive = SOFT.has(table) ? ', deleted_at = NULL' : '';
      await this.exec(actor, `UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(', ')}${revive} WHERE id = ?`, [...cols.map((c) => v[c]), id]);
      this.model.set(table, id, v);
      this.log(`${actor} update ${table}:${id} ${JSON.stringify(v)}`);
    } else if (kind === 'soft') {
      const at = new Date(this.tick()).toISOString();
      await this.exec(actor, `UPDATE ${table} SET deleted_at = ?, updated_at = ? WHERE id = ?`, [at, at, id]);
      this.model.set(table, id, 'deleted');
      this.log(`${actor} soft-delete ${table}:${id} at ${at}`);
    } else {
      // Stamped by the database's clock: make sure it has moved past the last edit, and that
      // the next edit comes after it.
      this.tick();
      await this.exec(actor, `DELETE FROM ${table} WHERE id = ?`, [id]);
      this.last = Math.max(this.last, Date.now());
      this.tick();
      if (table === 'accounts') m.hardDeleted = true;
      this.model.set(table, id, 'deleted');
      this.log(`${actor} hard-delete ${table}:${id}`);
    }
  }

  /**
   * The merged table: a new stock row, a counter change (a sale or a delivery: deltas that must
   * all count, never stamped), or a label edit (stamped: the last one must win).
   */
  private async stock(actor: Actor, r: Rng = this.r): Promise<void> {
    const first = r === this.r;
    const present = (await this.ids(actor, 'stocks' as TableName, false)).filter((id) => this.stocks.rows.has(id));
    // The second stream only changes rows the first made: new rows would change what it picks.
    if (!first && present.length === 0) return;
    const roll = r.next();
    if (first && (present.length === 0 || roll < 0.15)) {
      const id = uid(++this.n, 9);
      const at = this.tick();
      const row = { label: `stock ${this.n} by ${actor}`, qty: BigInt(this.r.int(100)), weight: BigInt(this.r.int(100_000)), updatedAt: at };
      await this.exec(actor, `INSERT INTO stocks (id, label, qty, weight, updated_at) VALUES (?, ?, ?, ?, ?)`, [id, row.label, Number(row.qty), weightText(row.weight), new Date(at).toISOString()]);
      this.stocks.rows.set(id, row);
      this.log(`${actor} insert stocks:${id} ${row.label} qty ${row.qty} weight ${weightText(row.weight)}`);
      return;
    }
    const id = r.pick(present);
    const row = this.stocks.rows.get(id)!;
    if (roll < 0.75) {
      const dq = r.int(11) - 7;
      const dw = BigInt(r.int(20_001) - 12_000);
      const cur = actor === 'pg'
        ? (await this.ledger.db.query<{ w: string }>(`SELECT weight::text AS w FROM stocks WHERE id = $1`, [id]))[0]!.w
        : (this.term(actor).local.prepare(`SELECT weight AS w FROM stocks WHERE id = ?`).get(id) as { w: string }).w;
      await this.exec(actor, `UPDATE stocks SET qty = qty + ?, weight = ? WHERE id = ?`, [dq, weightText(milli(cur) + dw), id]);
      row.qty += BigInt(dq);
      row.weight += dw;
      let writers = this.stockWriters.get(id);
      if (!writers) this.stockWriters.set(id, (writers = new Set()));
      writers.add(actor);
      this.log(`${actor} stocks:${id} qty ${dq >= 0 ? '+' : ''}${dq}, weight ${weightText(dw)}`);
    } else {
      const at = this.tick();
      row.label = `label ${first ? ++this.n : `x${++this.xn}`} by ${actor}`;
      row.updatedAt = at;
      await this.exec(actor, `UPDATE stocks SET label = ?, updated_at = ? WHERE id = ?`, [row.label, new Date(at).toISOString(), id]);
      this.log(`${actor} stocks:${id} label ${row.label}`);
    }
  }

  // --- docs: conflict "version" (second stream; model in version-model.ts) ---

  /** Rows of `table` on `actor`'s side (ids as text, ordered). */
  private async rowsOn(actor: Actor, table: 'docs' | 'sales'): Promise<string[]> {
    return this.ids(actor, table as TableName, false);
  }

  private async versionOn(actor: Actor, id: string): Promise<number> {
    if (actor === 'pg') return Number((await this.ledger.db.query<{ v: number }>(`SELECT version AS v FROM docs WHERE id = $1`, [id]))[0]!.v);
    return Number((this.term(actor).local.prepare(`SELECT version AS v FROM docs WHERE id = ?`).get(id) as { v: number }).v);
  }

  /** A new doc, or an edit of one this side has: the app raises the version it sees (mostly by one, so equal versions meet). */
  private async docEdit(actor: Actor, forced?: string): Promise<void> {
    const present = forced ? [forced] : await this.rowsOn(actor, 'docs');
    const at = this.tick();
    const body = `doc ${++this.xn} by ${actor}`;
    if (present.length === 0 || (!forced && this.x.chance(0.25))) {
      const id = uid(this.xn, 10);
      await this.exec(actor, `INSERT INTO docs (id, body, version, updated_at) VALUES (?, ?, ?, ?)`, [id, body, 1, new Date(at).toISOString()]);
      this.docs.write(id, { actor, body, version: 1, updatedAt: at });
      this.log(`${actor} insert docs:${id} v1 ${body}`);
      return;
    }
    const id = this.x.pick(present);
    const version = (await this.versionOn(actor, id)) + (this.x.chance(0.85) ? 1 : 2 + this.x.int(2));
    await this.exec(actor, `UPDATE docs SET body = ?, version = ?, updated_at = ? WHERE id = ?`, [body, version, new Date(at).toISOString(), id]);
    this.docs.write(id, { actor, body, version, updatedAt: at });
    this.log(`${actor} docs:${id} v${version} ${body}`);
  }

  /** One doc edited on two sides before either syncs: both raise the version they see, often to the same number. */
  private async docRace(): Promise<void> {
    const all = [...this.actors(), this.t3.id];
    const a = this.x.pick(all);
    const b = this.x.pick(all.filter((y) => y !== a));
    const onB = new Set(await this.rowsOn(b, 'docs'));
    const both = (await this.rowsOn(a, 'docs')).filter((id) => onB.has(id));
    if (both.length === 0) return;
    const id = this.x.pick(both);
    this.log(`version race on docs:${id} between ${a} and ${b}`);
    await this.docEdit(a, id);
    await this.docEdit(b, id);
    if ((a === this.t3.id || b === this.t3.id) && this.x.chance(0.6)) await this.sync(this.t3, this.x.pick(['push', 'pull', 'both'] as const), 'after version race', true, this.x);
  }

  // --- sales: immutable (second stream; model in immutable-model.ts) ---

  private async saleInsert(actor: Actor): Promise<void> {
    const id = uid(++this.xn, 11);
    const sale = { total: ((this.x.int(100_000) + 1) / 100).toFixed(2), note: this.x.chance(0.5) ? null : `sale ${this.xn} by ${actor}`, updatedAt: new Date(this.tick()).toISOString() };
    await this.exec(actor, `INSERT INTO sales (id, total, note, updated_at) VALUES (?, ?, ?, ?)`, [id, sale.total, sale.note, sale.updatedAt]);
    this.sales.rows.set(id, sale);
    this.log(`${actor} insert sales:${id} ${JSON.stringify(sale)}`);
  }

  /** An app updates or deletes a sale that every side has (so every side it reaches must refuse it). */
  private async saleTamper(actor: Actor): Promise<void> {
    const everywhere = new Set(await this.rowsOn('pg', 'sales'));
    for (const t of this.tills) {
      const on = new Set(await this.rowsOn(t.id, 'sales'));
      for (const id of everywhere) if (!on.has(id)) everywhere.delete(id);
    }
    const candidates = [...everywhere].filter((id) => this.sales.rows.has(id) && !this.sales.tampers.has(id));
    if (candidates.length === 0) return;
    const id = this.x.pick(candidates);
    const kind = this.x.pick(['update', 'update', 'delete'] as const);
    if (kind === 'update') {
      await this.exec(actor, `UPDATE sales SET total = ?, note = ?, updated_at = ? WHERE id = ?`, ['0.01', `refunded by ${actor}`, new Date(this.tick()).toISOString(), id]);
    } else {
      this.tick();
      await this.exec(actor, `DELETE FROM sales WHERE id = ?`, [id]);
      this.last = Math.max(this.last, Date.now());
      this.tick();
    }
    this.sales.tampers.set(id, { id, actor, kind, undone: false, listed: false });
    this.log(`${actor} tampers with immutable sales:${id} (${kind})`);
  }

  /** The admin undoes a tamper: the original sale is written back on the side that changed it. */
  private async saleUndo(): Promise<void> {
    const open = this.sales.outstanding();
    if (open.length === 0) return;
    const tamper = this.x.pick(open);
    const sale = this.sales.rows.get(tamper.id)!;
    if (tamper.kind === 'update') await this.exec(tamper.actor, `UPDATE sales SET total = ?, note = ?, updated_at = ? WHERE id = ?`, [sale.total, sale.note, sale.updatedAt, tamper.id]);
    else await this.exec(tamper.actor, `INSERT INTO sales (id, total, note, updated_at) VALUES (?, ?, ?, ?)`, [tamper.id, sale.total, sale.note, sale.updatedAt]);
    tamper.undone = true;
    this.log(`${tamper.actor} undoes its ${tamper.kind} of sales:${tamper.id}`);
  }

  /** The same row edited on two sides before they sync: LWW tables only (the later edit must win). */
  private async conflict(): Promise<void> {
    const table = this.r.pick(LWW);
    const x = this.r.pick(this.actors());
    const y = this.r.pick(this.actors().filter((a) => a !== x));
    const onY = new Set(await this.editable(y, table));
    const both = (await this.editable(x, table)).filter((id) => onY.has(id));
    if (both.length === 0) return;
    const id = this.r.pick(both);
    this.log(`conflict on ${table}:${id} between ${x} and ${y}`);
    for (const actor of [x, y]) await this.edit(actor, table, this.r.pick(['update', 'update', 'soft', 'hard'] as const), id);
    // Often let a terminal involved sync at once, so that its push or its pull meets the conflict.
    const t = this.terms.find((term) => term.id === y || term.id === x);
    if (t && this.r.chance(0.6)) await this.sync(t, this.r.pick(['push', 'pull', 'both'] as const), 'after conflict', true);
  }

  /** A parent created on one side and, before it travels, a child of it on another that syncs first. */
  private async childFirst(): Promise<void> {
    const parentSide = this.r.pick(this.actors());
    const childSide = this.r.pick(this.terms.filter((t) => t.id !== parentSide));
    await this.edit(parentSide, 'accounts', 'insert');
    const account = [...this.model.rows.get('accounts')!.keys()].at(-1)!;
    const id = uid(++this.n, TABLE_NAMES.indexOf('entries') + 1);
    const v: Values = { account_id: account, amount: this.money(), note: 'child first', updated_at: new Date(this.tick()).toISOString() };
    this.metaOf('accounts', account).refs++;
    childSide.local.prepare(`INSERT INTO entries (id, account_id, amount, note, updated_at) VALUES (?, ?, ?, ?, ?)`).run(id, account, v.amount, v.note, v.updated_at);
    this.model.set('entries', id, v);
    this.log(`${childSide.id} insert entries:${id} (child of ${parentSide}'s new account) ${JSON.stringify(v)}`);
    await this.sync(childSide, this.r.pick(['push', 'both'] as const), 'child first', true);
  }

  private async openHeld(): Promise<void> {
    if (this.held.length >= 2 || !this.installed) return;
    const client = new pg.Client({ connectionString: this.ledger.db.url });
    await client.connect();
    await client.query('BEGIN');
    const h: Held = { client, rows: [] };
    this.held.push(h);
    this.seen.heldTransactions++;
    const insert = async (table: TableName, v: Values) => {
      const id = uid(++this.n, TABLE_NAMES.indexOf(table) + 1);
      const cols = COLUMNS[table];
      await client.query(`INSERT INTO ${table} (id, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')})`, [id, ...cols.map((c) => v[c])]);
      this.model.set(table, id, v);
      this.metaOf(table, id).pending = true;
      h.rows.push([table, id]);
      return id;
    };
    const ts = () => new Date(this.tick()).toISOString();
    const account = await insert('accounts', { name: `held ${this.n}`, balance: this.money(), updated_at: ts() });
    if (this.r.chance(0.7)) {
      this.metaOf('accounts', account).refs++;
      await insert('entries', { account_id: account, amount: this.money(), note: 'held', updated_at: ts() });
    }
    if (this.r.chance(0.5)) await insert('tags', { label: `held tag ${this.n}`, updated_at: ts() });
    this.log(`pg opens a long transaction inserting ${h.rows.map(([t, id]) => `${t}:${id}`).join(', ')}`);
  }

  private async commitHeld(i: number): Promise<void> {
    const [h] = this.held.splice(i, 1);
    if (!h) return;
    await h.client.query('COMMIT');
    await h.client.end();
    for (const [table, id] of h.rows) this.metaOf(table, id).pending = false;
    this.log(`pg commits the long transaction of ${h.rows.map(([t, id]) => `${t}:${id}`).join(', ')}`);
  }

  /** Returns the rows applied, or undefined for a subprocess run (which may be SIGKILLed, if `mayKill`). */
  private async sync(t: Terminal, direction: Direction, why: string, mayKill = false, stream: Rng = this.r): Promise<number | undefined> {
    this.syncs++;
    if (mayKill && this.options.killRate && stream.chance(this.options.killRate)) {
      // Aimed inside the time a run takes here: a fixed 0-400 ms window let most kills land after
      // the fast bundled runs had ended (a 60-seed soak once counted none).
      const after = stream.int(Math.max(20, this.lastRunMs));
      const run = await runAndKill(t.configPath, t.sqlitePath, after, direction);
      this.log(`${why}: ${t.id} ${direction} as a subprocess, ${run.killed ? `SIGKILLed after ${after}ms` : `exit ${run.code}`}`);
      if (run.killed) this.kills++;
      else if (run.ranMs > 0) this.lastRunMs = Math.round(run.ranMs);
      else if (run.code !== 0 && run.code !== 1) this.problems.push(`${why}: subprocess exit ${run.code}: ${run.stderr.slice(0, 500)}`);
      return undefined;
    }
    // Tampers made before this run, and whether a transaction held open could hide the cloud's from its pull.
    const tampers = this.sales.outstanding();
    const quiet = this.held.length === 0;
    const r = await t.sync(direction);
    this.installed = true;
    for (const x of r.tables) {
      this.seen[x.step === 'push' ? 'pushConflicts' : 'pullConflicts'] += x.conflicts;
      this.seen.deferred += x.deferred;
    }
    const bad = r.tables.filter((x) => x.status !== 'success');
    const moved = r.tables.filter((x) => x.inserted + x.updated + x.deleted + x.conflicts + x.deferred + x.rejected > 0);
    this.log(`${why}: ${t.id} ${direction}: ${moved.map((x) => `${x.step} ${x.table} +${x.inserted} ~${x.updated} -${x.deleted} !${x.conflicts} ?${x.deferred} x${x.rejected}`).join(', ') || 'nothing'}`);
    if (r.error || bad.length > 0) this.problems.push(`${why}: ${t.id} ${direction} failed: ${r.error ?? bad.map((x) => `${x.step} ${x.table}: ${x.error}`).join('; ')}`);
    const rejected = r.tables.filter((x) => x.rejected > 0 && x.table !== 'sales');
    if (rejected.length > 0) this.problems.push(`${why}: ${t.id} ${direction} rejected rows: ${rejected.flatMap((x) => x.reasons).join('; ')}`);
    this.checkRefusals(t, direction, why, quiet ? tampers : []);
    return appliedRows(r);
  }

  /**
   * After a run of `t`: every sale it holds refused is a tamper that side must refuse (its own, on
   * push; the cloud's, on pull), with the immutable reason; and every tamper in `due` that the
   * run's directions reach is listed (the run met it: nothing else may have happened to it).
   */
  private checkRefusals(t: Terminal, direction: Direction, why: string, due: readonly Tamper[]): void {
    const held = t.local.prepare(`SELECT side, kind, reason, display FROM _possync_held WHERE tbl = 'sales'`).all() as Array<{ side: string; kind: string; reason: string; display: string }>;
    const listed = new Set<string>();
    for (const h of held) {
      const id = h.display.replace(/^sales:/, '');
      const tamper = this.sales.tampers.get(id);
      const ours = tamper && (h.side === 'push' ? tamper.actor === t.id : tamper.actor === 'pg');
      if (!ours || h.kind !== 'rejected' || !IMMUTABLE_REASON.test(h.reason)) {
        this.problems.push(`${why}: ${t.id} holds ${h.side} ${h.display} (${h.kind}: ${h.reason}) but no tamper there explains it (${JSON.stringify(tamper)})`);
        continue;
      }
      listed.add(`${h.side} ${id}`);
      tamper.listed = true;
    }
    for (const tamper of due) {
      const side = tamper.actor === t.id ? 'push' : tamper.actor === 'pg' ? 'pull' : undefined;
      if (side === undefined || (direction !== 'both' && direction !== side)) continue;
      if (!listed.has(`${side} ${tamper.id}`)) this.problems.push(`${why}: ${t.id} ${direction} did not list ${tamper.actor}'s ${tamper.kind} of immutable sales:${tamper.id} as refused`);
    }
  }

  private async quiesce(): Promise<void> {
    for (let round = 0; round < 2; round++) for (const t of this.tills) await this.sync(t, 'both', `quiesce ${round}`);
    for (const table of POLICY) for (const id of this.model.rows.get(table)?.keys() ?? []) delete this.metaOf(table, id).owner;
    for (const writers of this.stockWriters.values()) if (writers.size >= 3) this.seen.stock3Writers++;
    this.stockWriters.clear();
  }

  /** At a quiet point, a policy-table row edited on Postgres and on one terminal: the policy picks the winner. */
  private async policyRound(): Promise<void> {
    if (this.held.length > 0) return;
    await this.quiesce();
    for (let k = this.r.int(3); k >= 0; k--) {
      const table = this.r.pick(POLICY);
      const t = this.r.pick(this.terms);
      const ids = await this.editable(t.id, table);
      if (ids.length === 0) continue;
      const id = this.r.pick(ids);
      const order: Actor[] = this.r.chance(0.5) ? ['pg', t.id] : [t.id, 'pg'];
      const versions: Record<string, Values> = {};
      for (const actor of order) {
        const v = (await this.values(actor, table))!;
        const cols = COLUMNS[table];
        await this.exec(actor, `UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`, [...cols.map((c) => v[c]), id]);
        versions[actor] = v;
      }
      const winner = table === 'prices' ? 'pg' : t.id;
      this.model.set(table, id, versions[winner]!);
      this.metaOf(table, id).owner = 'frozen';
      this.log(`policy round on ${table}:${id}: ${order.join(' then ')} edit it, ${winner} must win`);
      await this.sync(t, this.r.pick(['push', 'pull', 'both'] as const), 'policy round');
    }
  }
}
