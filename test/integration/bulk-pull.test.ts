import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { listHeld } from '../../src/engine/held.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// The first pull into an empty till table takes the bulk path: rows several to an INSERT. A row
// the till refuses (here a UNIQUE index only the till has) must cost only itself, not its
// statement's neighbours, and must be listed, not lost.
const PG = `CREATE TABLE tags (id integer PRIMARY KEY, code text NOT NULL, price numeric(10,2) NOT NULL, updated_at timestamptz(3) NOT NULL)`;
const SQLITE = `CREATE TABLE tags (id INTEGER PRIMARY KEY, code TEXT NOT NULL, price TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE UNIQUE INDEX tags_code ON tags (code);`;

describe('bulk pull into an empty table', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    db = await createTestPg('bulk_pull');
    await db.query(PG);
    tmp = tempDir();
  });
  afterEach(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it.each([1_000, 20_037])('%i rows arrive exactly; one the till refuses is isolated and listed', async (n) => {
    // Row 613 repeats row 612's code: the till's unique index refuses whichever comes second.
    await db.query(
      `INSERT INTO tags SELECT g, CASE WHEN g = 613 THEN 'C612' ELSE 'C' || g END, ((g % 997) || '.' || lpad((g % 100)::text, 2, '0'))::numeric, '2026-11-20T08:00:00Z'
       FROM generate_series(1, $1::int) g`,
      [n],
    );
    const file = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(file, SQLITE);
    const config = makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: 't1', tables: [{ name: 'tags', pk: 'id', updatedCol: 'updated_at' }] }, tmp.dir);
    const r = await runSync(config, { direction: 'pull' });
    expect(r.tables[0]).toMatchObject({ status: 'success', inserted: n - 1, rejected: 1, updated: 0 });
    expect(r.tables[0]!.reasons[0]).toMatch(/tags:613: .*UNIQUE/);

    const local = openSqlite(file);
    expect(local.prepare(`SELECT count(*) AS n, sum(id) AS ids FROM tags`).get()).toEqual({ n: n - 1, ids: (n * (n + 1)) / 2 - 613 });
    // Every value exactly as the cloud has it (numeric text kept, e.g. 5.10 not 5.1).
    const cloud = await db.query<{ id: number; code: string; price: string }>(`SELECT id, code, price::text AS price FROM tags WHERE id <> 613 ORDER BY id`);
    expect(local.prepare(`SELECT id, code, price FROM tags ORDER BY id`).all()).toEqual(cloud);
    expect(listHeld(local).map((h) => [h.side, h.kind, h.display])).toEqual([['pull', 'rejected', 'tags:613']]);
    local.close();
  });

  it('reads pages through COPY exactly: text keys with quotes and backslashes, escaped values, an empty scope value', async () => {
    await db.query(`CREATE TABLE notes (id text PRIMARY KEY, store text NOT NULL, body text, updated_at timestamptz(3) NOT NULL)`);
    // Keys with a quote, a backslash and unicode become the next page's resume literal; bodies
    // carry every character COPY escapes, a literal \\N, and NULL.
    const bodies = ['tab\there', 'line\nbreak\r\n', 'back\\slash', '\\N', '', null, 'Ünïcødé — 😀', '\b\f\v\u0001'];
    await db.query(
      `INSERT INTO notes SELECT 'k''' || chr(92) || lpad(g::text, 4, '0') || 'é', CASE WHEN g % 5 = 0 THEN 'other' ELSE '' END, ($1::text[])[1 + g % 8], '2026-11-20T08:00:00Z'
       FROM generate_series(1, 300) g`,
      [bodies],
    );
    const file = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(file, `CREATE TABLE notes (id TEXT PRIMARY KEY, store TEXT NOT NULL, body TEXT, updated_at TEXT NOT NULL)`);
    const config = makeConfig(
      { sqlite: { path: file }, postgres: { url: db.url }, terminalId: 't1', tables: [{ name: 'notes', pk: 'id', updatedCol: 'updated_at', scope: { store: '' } }] },
      tmp.dir,
    );
    expect((await runSync(config, { direction: 'pull' })).tables[0]).toMatchObject({ status: 'success', inserted: 240 });
    const cloud = await db.query<{ id: string; store: string; body: string | null }>(`SELECT id, store, body FROM notes WHERE store = '' ORDER BY id`);
    const local = openSqlite(file);
    expect(local.prepare(`SELECT id, store, body FROM notes ORDER BY id`).all()).toEqual(cloud);
    expect(cloud.filter((r) => r.body === null)).toHaveLength(29);
    local.close();
  });

  it('leaves the till capturing its own inserts: the insert trigger is back, the pulled rows are not captured', async () => {
    await db.query(`INSERT INTO tags SELECT g, 'C' || g, 1.50, '2026-11-20T08:00:00Z' FROM generate_series(1, 3000) g`);
    const file = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(file, SQLITE);
    const config = makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: 't1', tables: [{ name: 'tags', pk: 'id', updatedCol: 'updated_at' }] }, tmp.dir);
    expect((await runSync(config, { direction: 'pull' })).tables[0]).toMatchObject({ status: 'success', inserted: 3000 });

    const local = openSqlite(file);
    const trigger = local.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = '_possync_tags_ins'`).get() as { sql: string } | undefined;
    expect(trigger?.sql).toContain('AFTER INSERT ON "tags"');
    expect(local.prepare(`SELECT count(*) AS n FROM _possync_changes`).get()).toEqual({ n: 0 });
    local.prepare(`INSERT INTO tags (id, code, price, updated_at) VALUES (5001, 'TILL', '2.25', '2026-11-21T09:00:00.000Z')`).run();
    local.close();

    const push = await runSync(config, { direction: 'push' });
    expect(push.tables[0]).toMatchObject({ status: 'success', inserted: 1, updated: 0 });
    expect(await db.query(`SELECT code, price::text AS price FROM tags WHERE id = 5001`)).toEqual([{ code: 'TILL', price: '2.25' }]);
  });
});
