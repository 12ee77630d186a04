import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VerifyDataResult } from '../../src/engine/verify-data/report.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

// verify-data on a bad link, at the step the cloud's second round is found by: the lookup of the
// differing buckets' rows by key (one statement carrying every key, far larger than any other the
// run sends). The link goes silent or resets as that statement crosses: verify-data must end within
// its bounds with exit 3 and one line on stderr (not fall back to hashing the table again), and a
// run over the healed link finds the planted differences by the same lookup.
const ROWS = 20_000;
const PLANTED = 20;
// Long keys, so the lookup's statement (some 800 keys: the till's rows of 20 differing buckets of
// about 40) is far larger than anything else sent to the server.
const KEY = (i: number) => `k${String(i).padStart(63, '0')}`;
const LARGE = 16_000;
const PG = `CREATE TABLE items (id text PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);`;
const BOUNDS = { readTimeoutSeconds: 3, lockTimeoutSeconds: 2, idleInTransactionTimeoutSeconds: 4, connectTimeoutSeconds: 2 };
const BOUND_MS = (BOUNDS.readTimeoutSeconds + BOUNDS.connectTimeoutSeconds) * 1000;
let GIVE_UP_MS = BOUND_MS + 8_000;

describe('verify-data on a link that fails during the lookup by key', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let proxy: TcpProxy;
  let n = 0;

  beforeAll(async () => {
    db = await createTestPg('verify_link');
    tmp = tempDir();
    const started = Date.now();
    await runCli(['--version'], { cwd: tmp.dir });
    GIVE_UP_MS = BOUND_MS + 2 * (Date.now() - started) + 6_000;
  });
  afterAll(async () => {
    await db?.drop();
    tmp?.cleanup();
  });
  beforeEach(async () => {
    const u = new URL(db.url);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
    await db.query(`DROP SCHEMA IF EXISTS possync CASCADE; DROP TABLE IF EXISTS items; ${PG}`);
  });
  afterEach(async () => {
    await proxy.close();
  });

  /** A till in sync with the cloud through the proxy, then PLANTED rows changed on it around possync. */
  const settledTill = async () => {
    const id = `till${++n}`;
    const sqlitePath = path.join(tmp.dir, `${id}.sqlite`);
    createSqliteFile(sqlitePath, SQLITE);
    const configPath = path.join(tmp.dir, `${id}.json`);
    fs.writeFileSync(
      configPath,
      JSON.stringify({ sqlite: { path: sqlitePath }, postgres: { url: proxy.via(db.url), ...BOUNDS }, terminalId: id, tables: [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }] }),
    );
    const local = openSqlite(sqlitePath);
    try {
      const insert = local.prepare(`INSERT INTO items VALUES (?, ?, '2026-12-01T00:00:00.000Z')`);
      local.transaction(() => {
        for (let i = 1; i <= ROWS; i++) insert.run(KEY(i), `item ${i}`);
      })();
    } finally {
      local.close();
    }
    const sync = await runCli(['trigger', '--direction', 'both', '--config', configPath], { cwd: tmp.dir, timeoutMs: 120_000 });
    expect(sync.code, sync.stderr).toBe(0);
    const edit = openSqlite(sqlitePath);
    try {
      for (let i = 1; i <= PLANTED; i++) edit.prepare(`UPDATE items SET name = 'changed on the till' WHERE id = ?`).run(KEY(i * 997));
      edit.exec(`DELETE FROM _possync_changes`);
    } finally {
      edit.close();
    }
    const verify = async () => {
      const started = Date.now();
      const r = await runCli(['verify-data', '--json', '--config', configPath], { cwd: tmp.dir, timeoutMs: 120_000 });
      return { ...r, ms: Date.now() - started };
    };
    return { verify };
  };

  /** Runs `fail` as the first statement larger than LARGE bytes (the lookup by key) crosses to the server. */
  const failAtLookup = (fail: () => void) => {
    const seen: number[] = [];
    let last = proxy.bytes.toServer;
    const watch = () =>
      proxy.when('toServer', 1, () => {
        const size = proxy.bytes.toServer - last;
        last = proxy.bytes.toServer;
        if (size > LARGE) {
          seen.push(size);
          fail();
        } else watch();
      });
    watch();
    return seen;
  };

  const expectStopped = (run: Awaited<ReturnType<Awaited<ReturnType<typeof settledTill>>['verify']>>, cause: RegExp) => {
    expect(run.code, run.stderr).toBe(3);
    expect(run.ms).toBeLessThan(GIVE_UP_MS);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(cause);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  };

  /** Over the healed link: the planted rows, found by the lookup by key (one pass over the cloud table). */
  const expectFound = async (till: Awaited<ReturnType<typeof settledTill>>) => {
    const again = await till.verify();
    expect(again.code, again.stderr).toBe(1);
    const items = (JSON.parse(again.stdout) as VerifyDataResult).tables.find((t) => t.table === 'items')!;
    expect(items.rows).toHaveLength(PLANTED);
    expect(items.rows.every((r) => r.kind === 'different')).toBe(true);
    expect(items.transfer.cloudPasses).toBe(1);
    expect(items.transfer.hashedRows).toBeGreaterThan(PLANTED);
    expect(items.transfer.hashedRows).toBeLessThan(ROWS / 4);
  };

  it('silent: gives up within the read bound with exit 3, and finds the rows once the link is back', async () => {
    const till = await settledTill();
    const seen = failAtLookup(() => proxy.silent());
    const run = await till.verify();
    expect(seen).toHaveLength(1);
    expectStopped(run, /silent|timeout/i);
    proxy.heal();
    await expectFound(till);
  });

  it('reset: stops at once with exit 3, and finds the rows once the link is back', async () => {
    const till = await settledTill();
    const seen = failAtLookup(() => proxy.reset());
    const run = await till.verify();
    expect(seen).toHaveLength(1);
    expectStopped(run, /lost the connection to PostgreSQL|terminated|ECONNRESET/i);
    expect(run.ms).toBeLessThan(GIVE_UP_MS - BOUNDS.readTimeoutSeconds * 1000);
    proxy.heal();
    await expectFound(till);
  });
});
