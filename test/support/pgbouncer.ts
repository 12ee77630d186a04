import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/util/free-port.ts';
import pg from 'pg';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';

/**
 * A real PgBouncer (Debian's `pgbouncer` package) in front of a Postgres server, in transaction
 * pooling mode, for the tests and `npm run bench:terminals`. It is not a library of possync: a
 * till never starts one. Its ini, userlist, log and pid file live in a temp dir removed by stop().
 *
 * - `* = host=… port=…`: every database name of the upstream server is reachable through it, so
 *   a test rewrites only the port of its database URL.
 * - `pool_mode = transaction` and a small `default_pool_size` (per database and user): clients
 *   beyond it queue for a server connection at BEGIN, which is the situation the tests prove.
 * - No `ignore_startup_parameters`: possync must connect with what PgBouncer accepts by default
 *   (node-pg sends user, database, application_name, client_encoding).
 * - As root, PgBouncer refuses to run ("should not run as root"), so it switches to the
 *   `postgres` user (`user = postgres`), the one the embedded server runs as.
 */
export interface Bouncer {
  port: number;
  /** The same URL with PgBouncer's host and port: the tills' postgres.url. */
  url(directUrl: string): string;
  /** A row of `SHOW POOLS` per database, from PgBouncer's admin console. */
  pools(): Promise<PoolRow[]>;
  /** PgBouncer's process id (for its CPU time in the bench). */
  pid(): number | undefined;
  /** Its log, for a failure message. */
  log(): string;
  stop(): Promise<void>;
}

export interface PoolRow {
  database: string;
  user: string;
  cl_active: number;
  cl_waiting: number;
  sv_active: number;
  sv_idle: number;
  sv_used: number;
  sv_tested: number;
  sv_login: number;
  maxwait: number;
  pool_mode: string;
}

export interface BouncerOptions {
  /** Server connections per database/user pair. */
  poolSize: number;
  /** Client connections it accepts in all (default 2,000). */
  maxClients?: number;
  /** Server connections per database in all (default: poolSize, so no reserve pool grows it). */
  maxDbConnections?: number;
}

const BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/** The pgbouncer binary, or undefined when it is not installed (`apt-get install pgbouncer`). */
export function pgbouncerBinary(): string | undefined {
  for (const b of BINARIES) if (fs.existsSync(b)) return b;
  const which = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found ? found : undefined;
}


const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Starts PgBouncer in front of the server of `upstreamUrl` (its user and password are the ones clients use). */
export async function startPgBouncer(upstreamUrl: string, options: BouncerOptions): Promise<Bouncer> {
  const bin = pgbouncerBinary();
  if (!bin) throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer)');
  const up = new URL(upstreamUrl);
  const user = decodeURIComponent(up.username);
  const password = decodeURIComponent(up.password);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-pgbouncer-'));
  const port = await freePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  fs.writeFileSync(path.join(dir, 'userlist.txt'), `${quote(user)} ${quote(password)}\n`, { mode: 0o600 });
  const ini = [
    '[databases]',
    `* = host=${up.hostname} port=${up.port || 5432}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = scram-sha-256',
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    `admin_users = ${user}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    `max_db_connections = ${options.maxDbConnections ?? options.poolSize}`,
    `max_client_conn = ${options.maxClients ?? 2000}`,
    // A client may wait for a server connection as long as possync's own connect timeout allows.
    'query_wait_timeout = 120',
    `logfile = ${path.join(dir, 'pgbouncer.log')}`,
    `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
    'log_connections = 0',
    'log_disconnections = 0',
    'log_pooler_errors = 1',
    ...(isRoot() ? ['user = postgres'] : []),
    '',
  ].join('\n');
  const iniFile = path.join(dir, 'pgbouncer.ini');
  fs.writeFileSync(iniFile, ini);
  if (isRoot()) {
    // It reads its files after switching user, and writes its log and pid file there.
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (pw.status !== 0) throw new Error('pgbouncer refuses to run as root and there is no postgres user to run it as');
    const [uid, g] = [Number(pw.stdout.trim()), Number(gid.stdout.trim())];
    for (const f of [dir, iniFile, path.join(dir, 'userlist.txt')]) fs.chownSync(f, uid, g);
  }
  const logFile = path.join(dir, 'pgbouncer.log');
  const readLog = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  let output = '';
  const child: ChildProcess = spawn(bin, [iniFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));

  const stop = async () => {
    if (!exited && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        // SIGINT: safe shutdown (waits for clients to finish); SIGTERM would too, immediately.
        child.kill('SIGTERM');
      });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const adminUrl = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/pgbouncer`;
  // Wait until it accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const why = `${output}\n${readLog()}`.trim();
      await stop();
      throw new Error(`pgbouncer exited at start: ${why}`);
    }
    try {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query('SHOW VERSION');
      await c.end();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer did not accept connections within 10 s: ${(err as Error).message}\n${readLog()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    port,
    url(directUrl: string) {
      const u = new URL(directUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async pools() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        const { rows } = await c.query<Record<string, string>>('SHOW POOLS');
        return rows.map((r) => ({
          database: r.database!,
          user: r.user!,
          cl_active: Number(r.cl_active),
          cl_waiting: Number(r.cl_waiting),
          sv_active: Number(r.sv_active),
          sv_idle: Number(r.sv_idle),
          sv_used: Number(r.sv_used),
          sv_tested: Number(r.sv_tested),
          sv_login: Number(r.sv_login),
          maxwait: Number(r.maxwait),
          pool_mode: r.pool_mode!,
        }));
      } finally {
        await c.end();
      }
    },
    pid: () => child.pid,
    log: readLog,
    stop,
  };
}

export interface PoolPeak {
  /** The most clients seen queued for a server connection at once. */
  maxWaiting: number;
  /** The most clients seen at once (active and waiting). */
  maxClients: number;
  /** The most server connections seen at once (in use, idle, being tested or logging in). */
  maxServers: number;
}

/**
 * Samples `SHOW POOLS` every `everyMs` until stopped, per database (PgBouncer's own admin
 * database left out), so a test can show that the pool really was the bottleneck (clients
 * waited) and was never exceeded.
 */
export interface PoolWatch {
  stop(): Promise<{ samples: number; byDatabase: Map<string, PoolPeak> }>;
}

export function watchPools(bouncer: Bouncer, everyMs = 20): PoolWatch {
  let running = true;
  let samples = 0;
  const byDatabase = new Map<string, PoolPeak>();
  const loop = (async () => {
    while (running) {
      try {
        for (const row of await bouncer.pools()) {
          if (row.database === 'pgbouncer') continue;
          const peak = byDatabase.get(row.database) ?? { maxWaiting: 0, maxClients: 0, maxServers: 0 };
          peak.maxWaiting = Math.max(peak.maxWaiting, row.cl_waiting);
          peak.maxClients = Math.max(peak.maxClients, row.cl_active + row.cl_waiting);
          peak.maxServers = Math.max(peak.maxServers, row.sv_active + row.sv_idle + row.sv_used + row.sv_tested + row.sv_login);
          byDatabase.set(row.database, peak);
        }
        samples++;
      } catch {
        // a sample that fails (the console busy) is skipped; the next one counts
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, byDatabase };
    },
  };
}

/**
 * A describe block behind a real PgBouncer (transaction pooling, `poolSize` server connections)
 * in front of the suite's Postgres, its pools watched from the start; both stopped afterwards.
 * Without the pgbouncer binary the block is skipped and says so in the run's output.
 */
export function describeBehindPgBouncer(name: string, poolSize: number, body: (pooler: { bouncer(): Bouncer; watch(): PoolWatch }) => void): void {
  const binary = pgbouncerBinary();
  describe.skipIf(!binary)(name, () => {
    let bouncer: Bouncer | undefined;
    let watch: PoolWatch | undefined;
    beforeAll(async () => {
      bouncer = await startPgBouncer(inject('pgAdminUrl'), { poolSize });
      watch = watchPools(bouncer);
    });
    afterAll(async () => {
      await watch?.stop();
      await bouncer?.stop();
    });
    body({ bouncer: () => bouncer!, watch: () => watch! });
  });
  describe.skipIf(binary)(name, () => {
    it.skip('skipped: the pgbouncer binary is not installed (apt-get install -y pgbouncer; .ci/run installs it)', () => {});
  });
}
