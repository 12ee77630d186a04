import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { SqliteGateway } from '../../src/db/sqlite/gateway.ts';
import { applied, type RunResult } from '../../src/engine/result.ts';
import { verifySchemas } from '../../src/engine/verify.ts';
import { createTestPg, tempDir, type TestPg } from '../support/db.ts';
import { expectInSync } from '../support/ledger.ts';
import { makeTill, runProblems, type Till } from '../support/tills.ts';

// Hostile identifiers end to end (STYLE.md 3, issue 2 point 3): a schema, tables and columns named
// with quotes, semicolons, spaces, `$1` and unicode, key columns included (one composite), synced
// both ways through every path: the row-by-row push and pull, the bulk COPY push into an empty
// table, the bulk insert of a first pull, change capture on both sides, deletes and tombstones.
// The DDL below is quoted by hand, so it does not depend on the helpers under test.

const SCHEMA = 'sch"ema; ü';
const PARENT = 'we"ird; tbl';
const CHILD = "ch'ild ; tbl";
const PAIRS = 'tä"b 3';

const PG_DDL = `
CREATE SCHEMA "sch""ema; ü";
CREATE TABLE "sch""ema; ü"."we""ird; tbl" (
  "k""ey; id" text PRIMARY KEY,
  "col 1" text,
  "ünï" numeric(10,2),
  """quoted""" text,
  "upd;at" timestamptz(3) NOT NULL,
  "dél""eted" timestamptz(3)
);
CREATE TABLE "sch""ema; ü"."ch'ild ; tbl" (
  "ïd" uuid PRIMARY KEY,
  "pa""rent; ref" text NOT NULL REFERENCES "sch""ema; ü"."we""ird; tbl" ("k""ey; id"),
  "amount $1" integer,
  "upd;at" timestamptz(3) NOT NULL
);
CREATE TABLE "sch""ema; ü"."tä""b 3" (
  "k 1" text,
  "k""2" text,
  "vål" text,
  "upd;at" timestamptz(3) NOT NULL,
  PRIMARY KEY ("k 1", "k""2")
);
CREATE TABLE public.victim (id integer);
INSERT INTO public.victim VALUES (1);
`;

const SQLITE_DDL = `
CREATE TABLE "we""ird; tbl" ("k""ey; id" TEXT PRIMARY KEY, "col 1" TEXT, "ünï" TEXT, """quoted""" TEXT, "upd;at" TEXT NOT NULL, "dél""eted" TEXT);
CREATE TABLE "ch'ild ; tbl" ("ïd" TEXT PRIMARY KEY, "pa""rent; ref" TEXT NOT NULL, "amount $1" INTEGER, "upd;at" TEXT NOT NULL);
CREATE TABLE "tä""b 3" ("k 1" TEXT, "k""2" TEXT, "vål" TEXT, "upd;at" TEXT NOT NULL, PRIMARY KEY ("k 1", "k""2"));
`;

const TABLES = [
  { name: PARENT, pk: 'k"ey; id', updatedCol: 'upd;at', deletedCol: 'dél"eted' },
  { name: CHILD, pk: 'ïd', updatedCol: 'upd;at' },
  { name: PAIRS, pk: ['k 1', 'k"2'], updatedCol: 'upd;at' },
];

const P = `"sch""ema; ü"."we""ird; tbl"`;
const C = `"sch""ema; ü"."ch'ild ; tbl"`;
const T3 = `"sch""ema; ü"."tä""b 3"`;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const moved = (r: RunResult) => r.tables.reduce((a, t) => a + applied(t), 0);

describe('hostile identifiers, end to end', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let till: Till;

  beforeAll(async () => {
    db = await createTestPg('hostile_names');
    await db.query(PG_DDL);
    tmp = tempDir();
    till = makeTill(tmp.dir, 'till-hostile', SQLITE_DDL, { postgres: { url: db.url, schema: SCHEMA }, batchSize: 2, tables: TABLES });
  });
  afterAll(async () => {
    till?.close();
    await db?.drop();
    tmp?.cleanup();
  });

  it('pushes and pulls rows, updates and deletes, and ends equal on both sides', async () => {
    // Cloud-only rows (parent, and the composite-key table, pulled into an empty local table).
    await db.query(`INSERT INTO ${P} VALUES ('C1', 'cloud ☁', 1.50, 'say "hi"; --', '2026-05-01T10:00:00Z', NULL), ('C2', NULL, NULL, NULL, '2026-05-01T10:00:00Z', NULL)`);
    await db.query(`INSERT INTO ${T3} VALUES ('a b', '1', 'één', '2026-05-01T10:00:00Z'), ('a b', '2', 'twee', '2026-05-01T10:00:00Z'), ('c"d', '1', 'drie', '2026-05-01T10:00:00Z')`);
    // Terminal-only rows (parent, and the child table, pushed into an empty cloud table).
    const local = till.local;
    local.prepare(`INSERT INTO "we""ird; tbl" VALUES (?, ?, ?, ?, ?, NULL)`).run('L1', 'naïve ☕', '12.50', `it's "quoted"`, '2026-05-02T10:00:00.000Z');
    local.prepare(`INSERT INTO "we""ird; tbl" VALUES (?, ?, ?, ?, ?, NULL)`).run('L;2', 'x', '0.01', null, '2026-05-02T10:00:00.000Z');
    const child = local.prepare(`INSERT INTO "ch'ild ; tbl" VALUES (?, ?, ?, ?)`);
    for (let i = 1; i <= 5; i++) child.run(id(i), i % 2 ? 'L1' : 'C1', i * 10, '2026-05-02T10:00:00.000Z');

    // Push first (a pull would prune the change log this checks), then pull.
    const pushed = await till.sync('push');
    expect(runProblems('first push', pushed)).toEqual([]);
    // The child table was empty in Postgres: its first push went through COPY (one 'T' entry).
    const copies = await db.query(`SELECT count(*)::int AS n FROM possync.changes WHERE tbl = $1 AND op = 'T' AND origin = $2`, [`${SCHEMA}.${CHILD}`, till.id]);
    expect(copies).toEqual([{ n: 1 }]);
    const pulled = await till.sync('pull');
    expect(runProblems('first pull', pulled)).toEqual([]);
    expect(await db.query(`SELECT "k""ey; id" AS k, "col 1" AS c, "ünï"::text AS n, """quoted""" AS q FROM ${P} ORDER BY 1`)).toEqual([
      { k: 'C1', c: 'cloud ☁', n: '1.50', q: 'say "hi"; --' },
      { k: 'C2', c: null, n: null, q: null },
      { k: 'L1', c: 'naïve ☕', n: '12.50', q: `it's "quoted"` },
      { k: 'L;2', c: 'x', n: '0.01', q: null },
    ]);
    expect(await db.query(`SELECT "ïd"::text AS i, "pa""rent; ref" AS p, "amount $1" AS a FROM ${C} ORDER BY 1`)).toHaveLength(5);
    expect(local.prepare(`SELECT "k 1" AS k1, "k""2" AS k2, "vål" AS v FROM "tä""b 3" ORDER BY 1, 2`).all()).toEqual([
      { k1: 'a b', k2: '1', v: 'één' },
      { k1: 'a b', k2: '2', v: 'twee' },
      { k1: 'c"d', k2: '1', v: 'drie' },
    ]);
    expect(local.prepare(`SELECT "k""ey; id" AS k, "ünï" AS n, """quoted""" AS q FROM "we""ird; tbl" WHERE "k""ey; id" = 'C1'`).get()).toEqual({ k: 'C1', n: '1.50', q: 'say "hi"; --' });
    await expectInSync(till.config);

    // Edits both ways: captured by the triggers on both sides, whatever the names.
    local.prepare(`UPDATE "we""ird; tbl" SET "col 1" = 'edited ✓', "upd;at" = '2026-05-03T10:00:00.000Z' WHERE "k""ey; id" = 'C1'`).run();
    local.prepare(`DELETE FROM "we""ird; tbl" WHERE "k""ey; id" = 'L;2'`).run();
    local.prepare(`INSERT INTO "tä""b 3" VALUES ('e;f', '7', 'zeven', '2026-05-03T10:00:00.000Z')`).run();
    await db.query(`UPDATE ${P} SET """quoted""" = 'new "q"', "upd;at" = '2026-05-03T11:00:00Z' WHERE "k""ey; id" = 'L1'`);
    await db.query(`DELETE FROM ${C} WHERE "ïd" = $1`, [id(2)]);
    await db.query(`UPDATE ${T3} SET "vål" = 'EEN' , "upd;at" = '2026-05-03T11:00:00Z' WHERE "k 1" = 'a b' AND "k""2" = '1'`);

    const second = await till.sync('both');
    expect(runProblems('second', second)).toEqual([]);
    expect(await db.query(`SELECT "col 1" AS c FROM ${P} WHERE "k""ey; id" = 'C1'`)).toEqual([{ c: 'edited ✓' }]);
    // A hard delete on the terminal becomes a tombstone in the cloud (deletedCol "dél""eted").
    expect(await db.query(`SELECT "dél""eted" IS NOT NULL AS gone FROM ${P} WHERE "k""ey; id" = 'L;2'`)).toEqual([{ gone: true }]);
    expect(await db.query(`SELECT "vål" AS v FROM ${T3} WHERE "k 1" = 'e;f' AND "k""2" = '7'`)).toEqual([{ v: 'zeven' }]);
    expect(local.prepare(`SELECT """quoted""" AS q FROM "we""ird; tbl" WHERE "k""ey; id" = 'L1'`).get()).toEqual({ q: 'new "q"' });
    expect(local.prepare(`SELECT count(*) AS n FROM "ch'ild ; tbl" WHERE "ïd" = ?`).get(id(2))).toEqual({ n: 0 });
    expect(local.prepare(`SELECT "vål" AS v FROM "tä""b 3" WHERE "k 1" = 'a b' AND "k""2" = '1'`).get()).toEqual({ v: 'EEN' });
    await expectInSync(till.config);

    // Nothing echoes, nothing is left to move, and nothing else in the database was touched.
    expect(moved(await till.sync('both'))).toBe(0);
    expect(await db.query(`SELECT id FROM public.victim`)).toEqual([{ id: 1 }]);
  });

  it('verify-schemas finds the capture objects installed and nothing drifting', async () => {
    const pg = await PgGateway.connect(till.config.postgresUrl);
    const sqlite = SqliteGateway.open(till.config.sqlitePath, { readonly: true });
    try {
      const findings = await verifySchemas(till.config, pg, sqlite.db);
      expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
    } finally {
      sqlite.close();
      await pg.close();
    }
    // Five Postgres capture triggers on each table, in its own schema.
    const triggers = await db.query<{ rel: string; n: number }>(
      `SELECT c.relname AS rel, count(*)::int AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname = $1 AND t.tgname LIKE 'possync%' GROUP BY 1 ORDER BY 1`,
      [SCHEMA],
    );
    expect(triggers).toEqual([
      { rel: CHILD, n: 5 },
      { rel: PAIRS, n: 5 },
      { rel: PARENT, n: 5 },
    ].sort((a, b) => (a.rel < b.rel ? -1 : 1)));
  });
});
