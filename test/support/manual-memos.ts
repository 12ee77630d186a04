import type Database from 'better-sqlite3';
import type { Direction } from '../../src/config/types.ts';
import { writeDecision } from '../../src/engine/manual/open-conflicts.ts';
import type { TestPg } from './db.ts';
import { uid, type Terminal } from './ledger.ts';
import type { Rng } from './prng.ts';

/** A conflict "manual" table for the randomized workload (workload.ts). */
export const MEMO_PG = `CREATE TABLE memos (id uuid PRIMARY KEY, body text NOT NULL, updated_at timestamptz(3) NOT NULL);`;
export const MEMO_SQLITE = `CREATE TABLE memos (id TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at TEXT NOT NULL);`;
export const MEMO_TABLE = { name: 'memos', pk: 'id', updatedCol: 'updated_at', conflict: 'manual' };

export interface MemoHost {
  db: TestPg;
  terms: Terminal[];
  log(line: string): void;
  /** A wall-clock ms strictly after every earlier edit of the workload. */
  tick(): number;
  sync(t: Terminal, direction: Direction, why: string): Promise<unknown>;
}

/**
 * Memos are edited anywhere (inserts, updates, hard deletes), so the same memo often changes on
 * several sides between syncs, and a simulated admin resolves open conflicts on the tills at
 * random (keep till, keep cloud, set a value). Which till meets which clash depends on the sync
 * order, so the end state is not predicted row by row. What must hold: every conflict can be
 * resolved; once the admin has resolved them all and the sides are quiet, every side holds the
 * same memos; and every body held was written by someone (an actor or the admin), never invented
 * or mixed.
 */
export class ManualMemos {
  private readonly written = new Set<string>();
  private readonly ids: string[] = [];
  private n = 0;
  decisions = 0;

  constructor(
    private readonly r: Rng,
    private readonly host: MemoHost,
  ) {}

  /** One random memo edit by a random side, or an admin decision on a random till. */
  async step(): Promise<void> {
    const actors = ['pg', ...this.host.terms.map((t) => t.id)];
    const actor = this.r.pick(actors);
    const roll = this.r.next();
    if (roll < 0.2) {
      await this.decide(this.r.pick(this.host.terms), false);
      return;
    }
    if (roll < 0.55) {
      // A clash: the same memo edited on two sides before they sync.
      const other = this.r.pick(actors.filter((x) => x !== actor));
      const onOther = new Set(await this.present(other));
      const both = (await this.present(actor)).filter((id) => onOther.has(id));
      if (both.length > 0) {
        const id = this.r.pick(both);
        for (const who of [actor, other]) {
          if (this.r.chance(0.15)) await this.remove(who, id);
          else await this.write(who, `UPDATE memos SET body = ?, updated_at = ? WHERE id = ?`, id, `memo ${++this.n} by ${who}`);
        }
        return;
      }
    }
    const present = await this.present(actor);
    if (present.length === 0 || roll < 0.7) {
      const id = uid(++this.n, 11);
      this.ids.push(id);
      return this.write(actor, `INSERT INTO memos (id, body, updated_at) VALUES (?, ?, ?)`, id, `memo ${this.n} by ${actor}`);
    }
    const id = this.r.pick(present);
    if (roll < 0.93) return this.write(actor, `UPDATE memos SET body = ?, updated_at = ? WHERE id = ?`, id, `memo ${++this.n} by ${actor}`);
    await this.remove(actor, id);
  }

  private async remove(actor: string, id: string): Promise<void> {
    await this.exec(actor, `DELETE FROM memos WHERE id = ?`, [id]);
    this.host.log(`${actor} delete memos:${id}`);
  }

  /**
   * At the end: sync every till, resolve what is open, again, until nothing is open and a round
   * moves nothing. Later rounds decide "keep cloud" only, so that two tills' decisions on one
   * memo cannot keep reopening each other. Returns the problems found.
   */
  async settle(): Promise<string[]> {
    for (let round = 0; round < 8; round++) {
      for (const t of this.host.terms) await this.host.sync(t, 'both', `memos settle ${round}`);
      let open = 0;
      for (const t of this.host.terms) open += await this.decide(t, true, round >= 2);
      if (open === 0) break;
    }
    for (const t of this.host.terms) await this.host.sync(t, 'both', 'memos settled');
    const problems: string[] = [];
    const cloud = new Map((await this.host.db.query<{ id: string; body: string }>(`SELECT id::text AS id, body FROM memos`)).map((r) => [r.id, r.body]));
    for (const [id, body] of cloud) if (!this.written.has(body)) problems.push(`memos:${id} holds "${body}", which nobody wrote`);
    for (const t of this.host.terms) {
      const left = openOn(t.local);
      if (left.length > 0) problems.push(`${t.id} still has open manual conflicts: ${JSON.stringify(left.slice(0, 3))}`);
      const till = new Map((t.local.prepare(`SELECT id, body FROM memos`).all() as Array<{ id: string; body: string }>).map((r) => [r.id, r.body]));
      for (const [id, body] of cloud) if (till.get(id) !== body) problems.push(`${t.id} memos:${id} is ${JSON.stringify(till.get(id))}, the cloud has ${JSON.stringify(body)}`);
      for (const id of till.keys()) if (!cloud.has(id)) problems.push(`${t.id} memos:${id} is gone from the cloud but still on the till`);
    }
    return problems;
  }

  /** Decides one open conflict on the till (all of them with `all`); returns how many were open. */
  private async decide(t: Terminal, all: boolean, cloudOnly = false): Promise<number> {
    const open = openOn(t.local);
    for (const key of all ? open : open.slice(0, 1).map(() => this.r.pick(open))) {
      const roll = cloudOnly ? 0 : this.r.next();
      const decision = roll < 0.4 ? 'cloud' : roll < 0.8 ? 'till' : 'set';
      const body = `admin ${++this.n} on ${t.id}`;
      if (decision === 'set') this.written.add(body);
      writeDecision(t.local, 'memos', key, decision, decision === 'set' ? { body } : null, new Date().toISOString());
      this.decisions++;
      this.host.log(`admin on ${t.id}: memos:${key} → ${decision}${decision === 'set' ? ` "${body}"` : ''}`);
    }
    return open.length;
  }

  private async write(actor: string, sql: string, id: string, body: string): Promise<void> {
    this.written.add(body);
    const at = new Date(this.host.tick()).toISOString();
    await this.exec(actor, sql, sql.startsWith('INSERT') ? [id, body, at] : [body, at, id]);
    this.host.log(`${actor} ${sql.startsWith('INSERT') ? 'insert' : 'update'} memos:${id} "${body}"`);
  }

  private async present(actor: string): Promise<string[]> {
    if (actor === 'pg') return (await this.host.db.query<{ id: string }>(`SELECT id::text AS id FROM memos ORDER BY id`)).map((r) => r.id);
    return (this.term(actor).local.prepare(`SELECT id FROM memos ORDER BY id`).all() as Array<{ id: string }>).map((r) => r.id);
  }

  private async exec(actor: string, sql: string, params: unknown[]): Promise<void> {
    if (actor === 'pg') {
      let k = 0;
      await this.host.db.query(sql.replace(/\?/g, () => `$${++k}`), params);
    } else this.term(actor).local.prepare(sql).run(...params);
  }

  private term(id: string): Terminal {
    return this.host.terms.find((t) => t.id === id)!;
  }
}

/** The keys of a till's open manual conflicts on memos (none before its first run). */
function openOn(local: Database.Database): string[] {
  const exists = local.prepare(`SELECT 1 FROM sqlite_schema WHERE name = '_possync_open_conflicts'`).get();
  if (!exists) return [];
  return (local.prepare(`SELECT key FROM _possync_open_conflicts WHERE tbl = 'memos' ORDER BY key`).all() as Array<{ key: string }>).map((r) => r.key);
}
