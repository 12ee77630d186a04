import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { runCli } from './cli.ts';
import { createSqliteFile, createTestPg, tempDir, type TestPg } from './db.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** Small bounds so a run on a failing link ends quickly; the defaults are 30 / 60 / 10 s. */
export const LINK_BOUNDS = { readTimeoutSeconds: 3, lockTimeoutSeconds: 2, idleInTransactionTimeoutSeconds: 4, connectTimeoutSeconds: 2 };

export interface FaultyLink {
  db: TestPg;
  tmp: ReturnType<typeof tempDir>;
  /** This test's proxy to `db` (a test may replace it; the one set when the test ends is closed). */
  proxy: TcpProxy;
  /**
   * The most a run may take after the link fails: one read timeout, then a connect timeout for
   * anything that tries the link again, plus twice what starting the CLI costs on this machine now
   * (measured once: a loaded CI machine can take seconds) and slack.
   */
  giveUpMs: number;
  /** A fresh proxy to `db`. */
  startProxy(): Promise<TcpProxy>;
  /**
   * A new till (SQLite file from `sqliteSql`) whose config reaches `db` through this test's proxy,
   * with LINK_BOUNDS (and `bounds` on top) and `tables`.
   */
  till(sqliteSql: string, tables: unknown[], bounds?: Record<string, number>): { id: string; sqlitePath: string; configPath: string };
}

/**
 * The fixture of a suite whose runs go through a TCP proxy that fails on cue: its own database
 * (before each test possync's schema is dropped and `reset` runs: drop and create the test's
 * tables), a temp folder, and a new proxy per test. Call inside `describe`.
 */
export function faultyLink(name: string, reset: string): FaultyLink {
  const boundMs = (LINK_BOUNDS.readTimeoutSeconds + LINK_BOUNDS.connectTimeoutSeconds) * 1000;
  const link = { giveUpMs: boundMs + 8_000 } as FaultyLink;
  link.startProxy = () => {
    const u = new URL(link.db.url);
    return startTcpProxy({ host: u.hostname, port: Number(u.port) });
  };
  let n = 0;
  link.till = (sqliteSql, tables, bounds = {}) => {
    const id = `till${++n}`;
    const sqlitePath = path.join(link.tmp.dir, `${id}.sqlite`);
    createSqliteFile(sqlitePath, sqliteSql);
    const configPath = path.join(link.tmp.dir, `${id}.json`);
    const postgres = { url: link.proxy.via(link.db.url), ...LINK_BOUNDS, ...bounds };
    fs.writeFileSync(configPath, JSON.stringify({ sqlite: { path: sqlitePath }, postgres, terminalId: id, tables }));
    return { id, sqlitePath, configPath };
  };
  beforeAll(async () => {
    link.db = await createTestPg(name);
    link.tmp = tempDir();
    const started = Date.now();
    await runCli(['--version'], { cwd: link.tmp.dir });
    link.giveUpMs = boundMs + 2 * (Date.now() - started) + 6_000;
  });
  afterAll(async () => {
    await link.db?.drop();
    link.tmp?.cleanup();
  });
  beforeEach(async () => {
    link.proxy = await link.startProxy();
    await link.db.query(`DROP SCHEMA IF EXISTS possync CASCADE; ${reset}`);
  });
  afterEach(async () => {
    await link.proxy.close();
  });
  return link;
}
