import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/postgres/embedded.ts';
import { createSqliteFile, openSqlite, tempDir } from '../support/db.ts';
import { startCli } from '../support/spawn-cli.ts';

// Sync when the network returns: Postgres is down for a minute while the till keeps selling; when
// it comes back, the daemon (on a 2-second schedule, backing off since the outage) must have
// pushed the till's sales within 5 s, not after its backoff (by then 40 s or more) runs out.
const DOWN_MS = 60_000;
const TARGET_MS = 5_000;
const PG = `CREATE TABLE sales (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE sales (id INTEGER PRIMARY KEY, amount TEXT NOT NULL, updated_at TEXT NOT NULL);`;

describe('the daemon syncs as soon as Postgres answers again', () => {
  let server: EmbeddedServer;
  let tmp: ReturnType<typeof tempDir>;
  let url: string;

  beforeAll(async () => {
    server = await startEmbeddedPostgres();
    url = await server.createDatabase('reconnect');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(PG);
    await c.end();
    tmp = tempDir();
  });
  afterAll(async () => {
    await server?.stop();
    tmp?.cleanup();
  });

  const cloudCount = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM sales')).rows[0]!.n);
    } finally {
      await c.end();
    }
  };

  it(`after a ${DOWN_MS / 1000} s outage, converged within ${TARGET_MS / 1000} s of the server coming back`, async () => {
    const sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    const configPath = path.join(tmp.dir, 'till.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({ sqlite: { path: sqlitePath }, postgres: { url, connectTimeoutSeconds: 3 }, terminalId: 'till', tables: [{ name: 'sales', pk: 'id', updatedCol: 'updated_at' }] }),
    );
    const daemon = startCli(['daemon', '--config', configPath, '--cron', '*/2 * * * * *', '--log-format', 'json'], { cwd: tmp.dir });
    try {
      await daemon.waitForLine(/"event":"run".*"status":"success"/, 60_000);
      await server.crash();
      await daemon.waitForLine(/"failure":\{"kind":"unreachable"/, 30_000);
      const local = openSqlite(sqlitePath);
      local.prepare(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 10) INSERT INTO sales SELECT i, '9.99', '2026-12-06T10:00:00.000Z' FROM g`).run();
      local.close();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      // By now the backoff is long. The server comes back right after a backoff attempt failed,
      // so the next one is a whole backoff interval away: only the reconnect watch can sync
      // within the target (otherwise the backoff's own attempt may land on the return, and
      // nothing would tell the two apart).
      const seen = daemon.lines.filter((l) => l.includes('"kind":"unreachable"')).length;
      await daemon.waitForLines(/"kind":"unreachable"/, seen + 1, 120_000);
      const failures = daemon.lines.filter((l) => l.includes('"kind":"unreachable"'));
      const last = JSON.parse(failures.at(-1)!) as { failure: { retryAfter: string } };
      const before = daemon.lines.length;
      await server.restart();
      const back = Date.now();
      const line = await daemon.waitForLine(/"event":"run".*"trigger":"reconnect".*"status":"success"/, 60_000);
      const took = Date.now() - back;
      expect(daemon.lines.indexOf(line)).toBeGreaterThanOrEqual(before);
      expect(JSON.parse(line)).toMatchObject({ applied: 10 });
      expect(took, `converged ${took} ms after the server came back (the backoff would have waited until ${last.failure.retryAfter})`).toBeLessThan(TARGET_MS);
      // The backoff had its next attempt still ahead: without the reconnect watch, nothing would
      // have run before it (how far ahead depends on where the outage ended in the backoff).
      expect(new Date(last.failure.retryAfter).getTime()).toBeGreaterThan(back + took);
      expect(await cloudCount()).toBe(10);
    } finally {
      const stopped = await daemon.stop('SIGTERM');
      expect(stopped.code).toBe(0);
    }
  }, 300_000);
});
