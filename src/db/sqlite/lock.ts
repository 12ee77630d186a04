import fs from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { PossyncError } from '../../errors.ts';

export interface TerminalLock {
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
  what: string;
}

/**
 * One sync at a time per terminal, across processes (a daemon and a manual trigger, or two
 * daemons). The lock is an EXCLUSIVE transaction on a small SQLite file next to the terminal
 * database: the operating system drops it when the holding process dies, however it dies, so a
 * lock left by a killed process is taken over at once and can never go stale. It lives on the
 * terminal's side, so it works behind a transaction-pooling Postgres proxy. A sidecar JSON file
 * only says who holds it, for the error message.
 */
export async function acquireTerminalLock(sqlitePath: string, what: string, options: { waitMs?: number } = {}): Promise<TerminalLock> {
  const lockPath = `${sqlitePath}.possync-lock`;
  const infoPath = `${lockPath}.json`;
  // busy timeout 0 from the start: a held lock must be seen at once, not after a 5 s stall. The
  // file stays in the default rollback-journal mode, where EXCLUSIVE keeps even readers out.
  const db = new Database(lockPath, { timeout: 0 });
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    try {
      db.exec('BEGIN EXCLUSIVE');
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') {
        db.close();
        throw err;
      }
      if (Date.now() >= deadline) {
        db.close();
        throw new PossyncError('LOCKED', `another possync run holds the lock for this terminal${describeHolder(infoPath)}`, {
          hint: 'wait for it to finish (the daemon syncs on its schedule) or pass --wait <seconds>',
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const holder: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), what };
  try {
    fs.writeFileSync(infoPath, JSON.stringify(holder));
  } catch {
    // informational only
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        fs.rmSync(infoPath, { force: true });
      } catch {
        // informational only
      }
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}

function describeHolder(infoPath: string): string {
  try {
    const h = JSON.parse(fs.readFileSync(infoPath, 'utf8')) as Holder;
    return ` (${h.what}, pid ${h.pid} on ${h.host}, since ${h.since})`;
  } catch {
    return '';
  }
}
