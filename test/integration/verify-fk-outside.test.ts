import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import type { Finding } from '../../src/engine/verify.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, openSqlite, tempDir } from '../support/db.ts';
import { expectNoTableErrors } from '../support/ledger.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// A shop whose cloud links sales to customers, while the config syncs sales only; an article
// table whose NOT NULL search vector a BEFORE INSERT trigger fills; a note table with a trigger
// that does not touch its NOT NULL code; and price tags in lossy types.
const PG = `
CREATE TABLE customer (customer_id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE sale (sale_id text PRIMARY KEY, customer_id text NOT NULL REFERENCES customer, total numeric(10,2) NOT NULL,
  updated_at timestamptz(3) NOT NULL);
CREATE TABLE article (article_id text PRIMARY KEY, title text NOT NULL, search tsvector NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TRIGGER article_search BEFORE INSERT OR UPDATE ON article FOR EACH ROW
  EXECUTE FUNCTION tsvector_update_trigger(search, 'pg_catalog.english', title);
CREATE TABLE note (note_id text PRIMARY KEY, body text, code text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE FUNCTION note_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.body := coalesce(NEW.body, ''); RETURN NEW; END $$;
CREATE TRIGGER note_touch BEFORE INSERT ON note FOR EACH ROW EXECUTE FUNCTION note_touch();
CREATE TABLE price_tag (tag_id text PRIMARY KEY, amount real, label varchar(4), sizes real[], updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE customer (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE sale (sale_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customer, total TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE article (article_id TEXT PRIMARY KEY, title TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE note (note_id TEXT PRIMARY KEY, body TEXT, updated_at TEXT NOT NULL);
CREATE TABLE price_tag (tag_id TEXT PRIMARY KEY, amount REAL, label TEXT, sizes TEXT, updated_at TEXT NOT NULL);
INSERT INTO price_tag VALUES ('t1', 1.5, 'tea', '[1.5]', '2026-11-20T08:00:00.000Z'), ('t2', 2.5, 'coffee', NULL, '2026-11-20T08:00:00.000Z');
`;
const TABLES = [
  { name: 'sale', pk: 'sale_id', updatedCol: 'updated_at' },
  { name: 'article', pk: 'article_id', updatedCol: 'updated_at' },
  { name: 'note', pk: 'note_id', updatedCol: 'updated_at' },
  { name: 'price_tag', pk: 'tag_id', updatedCol: 'updated_at' },
];
const AT = '2026-11-20T08:00:00.000Z';

describe('foreign keys to tables outside the config, trigger-filled columns, lossy pairs', () => {
  let pair: Pair;
  let till: PairTerminal;
  const heldSales = () => {
    const db = openSqlite(till.sqlitePath);
    try {
      return db.prepare(`SELECT kind, reason, attempts FROM _possync_held WHERE tbl = 'sale'`).all() as Array<{ kind: string; reason: string; attempts: number }>;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    pair = await createPair('fk_outside', PG, SQLITE, { tables: TABLES });
    till = pair.terminal('till-1');
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it('a sale whose customer is not in the cloud waits, retried each run, says why, and goes once the customer is there', async () => {
    const db = openSqlite(till.sqlitePath);
    db.prepare(`INSERT INTO customer VALUES ('c1', 'Amina')`).run();
    db.prepare(`INSERT INTO sale VALUES ('s1', 'c1', '12.50', ?)`).run(AT);
    db.close();
    const first = await runSync(till.config, { direction: 'push' });
    expectNoTableErrors(first);
    // Postgres refuses it (foreign key); possync holds it as waiting, and says for what and why.
    expect(first.tables.find((t) => t.table === 'sale')).toMatchObject({ inserted: 0, deferred: 1, rejected: 0 });
    const waits = /^sale:s1 waits for customer_id → customer\[c1\], a table possync does not sync: it goes through once that row is in the cloud/;
    expect(heldSales()).toEqual([{ kind: 'deferred', reason: expect.stringMatching(waits) as unknown, attempts: 1 }]);
    // Nothing changes by itself: the row waits, run after run.
    const second = await runSync(till.config, { direction: 'push' });
    expect(second.tables.find((t) => t.table === 'sale')).toMatchObject({ inserted: 0, deferred: 1 });
    expect(heldSales()).toEqual([expect.objectContaining({ attempts: 2 })]);
    // Someone else puts the customer in the cloud: the next run applies the sale and lets it go.
    await pair.db.query(`INSERT INTO customer VALUES ('c1', 'Amina')`);
    const third = await runSync(till.config, { direction: 'push' });
    expect(third.tables.find((t) => t.table === 'sale')).toMatchObject({ inserted: 1, deferred: 0, rejected: 0 });
    expect(heldSales()).toEqual([]);
  });

  it('pull: a cloud sale whose customer the till lacks lands on the till (the till does not enforce the link)', async () => {
    await pair.db.query(`INSERT INTO customer VALUES ('c2', 'Bo'); INSERT INTO sale VALUES ('s2', 'c2', '3.00', now())`);
    const r = await runSync(till.config, { direction: 'pull' });
    expectNoTableErrors(r);
    expect(r.tables.find((t) => t.table === 'sale')).toMatchObject({ inserted: 1, rejected: 0, deferred: 0 });
  });

  it('a NOT NULL column a BEFORE INSERT trigger fills: pushed rows go through', async () => {
    const db = openSqlite(till.sqlitePath);
    db.prepare(`INSERT INTO article VALUES ('a1', 'Fresh bread daily', ?)`).run(AT);
    db.prepare(`INSERT INTO note VALUES ('n1', 'hello', ?)`).run(AT);
    db.close();
    const r = await runSync(till.config, { direction: 'push' });
    expect(r.tables.find((t) => t.table === 'article')).toMatchObject({ inserted: 1, rejected: 0 });
    expect(await pair.db.query(`SELECT search::text FROM article`)).toEqual([{ search: `'bread':2 'daili':3 'fresh':1` }]);
    // The note's trigger does not set code: Postgres refuses the row, and it is held with why.
    expect(r.tables.find((t) => t.table === 'note')).toMatchObject({ inserted: 0, rejected: 1 });
  });

  it('verify-schemas says what will happen, with the way out', async () => {
    const r = await runCli(['verify-schemas', '--json', '-c', till.configPath]);
    const findings = (JSON.parse(r.stdout) as { findings: Finding[] }).findings;
    const of = (code: string, table: string) => findings.filter((f) => f.code === code && f.table === table);
    expect(of('fk-outside-config', 'sale')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        message: expect.stringMatching(/"sale"\."customer_id" references "public\.customer" \(foreign key sale_customer_id_fkey\), which possync does not sync: a pushed row whose customer row is not in the cloud waits: .*retries it on every run/) as unknown,
        // The column is NOT NULL without a default: it cannot be left out, so the constraint is named.
        fix: expect.stringMatching(/sync "customer" too: add \{ "name": "customer".*or drop the link: ALTER TABLE "sale" DROP CONSTRAINT "sale_customer_id_fkey"/) as unknown,
      }),
    ]);
    expect(of('column-filled-by-trigger', 'article')).toEqual([
      expect.objectContaining({ severity: 'info', message: expect.stringMatching(/"search" .*BEFORE INSERT trigger "article_search" \(tsvector_update_trigger\) names it, so pushed rows go through if it fills/) as unknown }),
    ]);
    expect(of('column-missing-sqlite', 'article')).toEqual([]);
    expect(of('column-missing-sqlite', 'note')).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/"code" .*pushed rows are refused unless BEFORE INSERT trigger "note_touch" \(note_touch\) sets it \(its definition does not name the column\)/) as unknown }),
    ]);
    const lossy = of('type-lossy', 'price_tag').map((f) => f.message);
    expect(lossy).toEqual([
      expect.stringMatching(/"amount" \(real\).*about 7 significant digits.*1234\.5678.*refused, not altered, and listed by `possync rejected`/),
      expect.stringMatching(/"label" \(character varying\(4\)\).*1 value\(s\) on the till are longer than 4 characters \(the longest 6\)/),
    ]);
    expect(of('type-alters-silently', 'price_tag')).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/"sizes" \(real\[\]\)/) as unknown })]);
  });

  it('init reports the link to the unsynced table and the trigger-filled column the same way', async () => {
    const tmp = tempDir();
    try {
      const sqliteFile = path.join(tmp.dir, 'till.sqlite');
      // The till has no customer table here: init can only propose syncing it once it exists.
      createSqliteFile(sqliteFile, SQLITE.replace(/CREATE TABLE customer[^;]*;/, '').replace(' REFERENCES customer', ''));
      const r = await runCli(['init', '--json', '--sqlite', sqliteFile, '--database-url', pair.db.url], { cwd: tmp.dir, env: { SQLITE_PATH: '', DATABASE_URL: '' } });
      expect(r.code).toBe(0);
      const notes = (JSON.parse(r.stdout) as { notes: string[] }).notes;
      expect(notes.filter((n) => n.includes('customer_id'))).toEqual([
        expect.stringMatching(/"sale"\."customer_id" references "public\.customer" .*which possync does not sync.*Fix: create "customer" on the till and sync it too.*DROP CONSTRAINT "sale_customer_id_fkey"/),
      ]);
      expect(notes.filter((n) => n.includes('"search"'))).toEqual([expect.stringMatching(/BEFORE INSERT trigger "article_search" .* names it, so pushed rows go through if it fills the column/)]);
      expect(notes.filter((n) => n.includes('"code"'))).toEqual([expect.stringMatching(/refused unless BEFORE INSERT trigger "note_touch"/)]);
      expect(fs.existsSync(path.join(tmp.dir, 'possync.config.json'))).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });
});
