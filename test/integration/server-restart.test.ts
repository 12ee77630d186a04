import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/postgres/embedded.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, openSqlite, tempDir } from '../support/db.ts';
import { startCli } from '../support/spawn-cli.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

// Postgres stopped as `pg_ctl stop -m immediate` does (SIGQUIT: every backend dies, no checkpoint)
// in the middle of a push's COPY, a pull's row fetch, and a daemon's run. possync must not crash:
// exit 3 with one line on stderr, or for the daemon a logged failure and a later good run, and
// a rerun after the restart converges. Its own server, since the suite's is shared. The proxy
// only counts bytes, so the kill lands mid-stream rather than between statements.
const ROWS = 30_000;
const PAYLOAD = 'y'.repeat(200);
const PG = `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, payload text, updated_at timestamptz(3) NOT NULL DEFAULT now());`;
const SQLITE = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT, updated_at TEXT NOT NULL);`;

describe('Postgres stopped -m immediate mid-run', () => {
  let server: EmbeddedServer;
  let proxy: TcpProxy;
  let tmp: ReturnType<typeof tempDir>;
  let dbName: string;
  let n = 0;

  beforeAll(async () => {
    server = await startEmbeddedPostgres();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port });
    tmp = tempDir();
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
    tmp?.cleanup();
  });
  beforeEach(async () => {
    dbName = `restart_${++n}`;
    await server.createDatabase(dbName);
    await admin((c) => c.query(PG));
  });

  async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: server.url(dbName) });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }
  const cloudCount = () => admin(async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0]!.n));
  const tillCount = (file: string) => {
    const db = openSqlite(file);
    try {
      return (db.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  /** A till whose config reaches the server through the counting proxy. */
  function till(fill: boolean) {
    const id = `till${n}`;
    const sqlitePath = path.join(tmp.dir, `${id}.sqlite`);
    createSqliteFile(sqlitePath, SQLITE);
    if (fill) {
      const db = openSqlite(sqlitePath);
      db.prepare(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ${ROWS}) INSERT INTO items SELECT i, 'item ' || i, ?, '2026-12-01T00:00:00.000Z' FROM g`).run(PAYLOAD);
      db.close();
    }
    const configPath = path.join(tmp.dir, `${id}.json`);
    const postgres = { url: proxy.via(server.url(dbName)), readTimeoutSeconds: 5, lockTimeoutSeconds: 3, connectTimeoutSeconds: 3 };
    fs.writeFileSync(configPath, JSON.stringify({ sqlite: { path: sqlitePath }, postgres, terminalId: id, tables: [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }] }));
    const trigger = async (direction: string) => {
      const r = await runCli(['trigger', '--direction', direction, '--json', '--config', configPath], { cwd: tmp.dir, timeoutMs: 120_000 });
      return { ...r, result: JSON.parse(r.stdout) as RunResult };
    };
    return { sqlitePath, configPath, trigger };
  }

  /** Kills the server once `bytes` more have crossed the proxy in `flow`; resolves when it is down. */
  function crashAfter(flow: 'toServer' | 'toClient', bytes: number): Promise<void> {
    return new Promise((resolve) => proxy.when(flow, bytes, () => void server.crash().then(resolve)));
  }

  const expectLost = (run: { code: number | null; stderr: string; result: RunResult }) => {
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/Unhandled|\n\s+at /);
    expect(run.result.status).toBe('failed');
    expect(run.result.errorCode).toBe('PG_UNREACHABLE');
  };

  it('mid-COPY push: exit 3, no crash; after the restart the rerun converges', async () => {
    const t = till(true);
    const down = crashAfter('toServer', 1_000_000);
    const run = await t.trigger('push');
    await down;
    expectLost(run);
    expect(run.result.tables.find((x) => x.table === 'items')).toMatchObject({ status: 'error' });
    await server.restart();
    const again = await t.trigger('both');
    expect(again.code, again.stderr).toBe(0);
    expect(await cloudCount()).toBe(ROWS);
    expect(tillCount(t.sqlitePath)).toBe(ROWS);
  });

  it('mid-pull: exit 3, no crash; after the restart the rerun converges', async () => {
    await admin((c) => c.query(`INSERT INTO items (id, name, payload) SELECT g, 'item ' || g, $1 FROM generate_series(1, ${ROWS}) g`, [PAYLOAD]));
    const t = till(false);
    const down = crashAfter('toClient', 1_000_000);
    const run = await t.trigger('pull');
    await down;
    expectLost(run);
    await server.restart();
    const again = await t.trigger('pull');
    expect(again.code, again.stderr).toBe(0);
    expect(tillCount(t.sqlitePath)).toBe(ROWS);
  });

  it('a daemon lives through a restart in the middle of a run and converges after it', async () => {
    const t = till(true);
    await admin((c) => c.query(`INSERT INTO items (id, name, payload) SELECT g, 'cloud ' || g, $1 FROM generate_series(${ROWS + 1}, ${ROWS + 5000}) g`, [PAYLOAD]));
    const down = crashAfter('toServer', 1_000_000);
    const daemon = startCli(['daemon', '--config', t.configPath, '--cron', '*/2 * * * * *', '--log-format', 'json'], { cwd: tmp.dir });
    try {
      await down;
      const failed = JSON.parse((await daemon.waitForLine(/"event":"run".*"status":"failed"/, 60_000)) as string) as { error: string; failure?: { kind: string } };
      expect(failed.error).toMatch(/PostgreSQL/);
      expect(failed.failure?.kind).toBe('unreachable');
      await server.restart();
      await daemon.waitForLine(/"event":"run".*"status":"success"/, 90_000);
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      const stopped = await daemon.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      expect(daemon.stderr()).not.toMatch(/Unhandled|\n\s+at /);
    }
    expect(await cloudCount()).toBe(ROWS + 5000);
    expect(tillCount(t.sqlitePath)).toBe(ROWS + 5000);
  });
});
