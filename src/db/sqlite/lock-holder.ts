import fs from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { PossyncError } from '../../errors.ts';

/**
 * Who holds this terminal's sync lock, read without touching the lock itself: so a daemon tick
 * or a `trigger --backup` that would be locked out can say who holds it and skip its backup
 * before trying. The holder file is written right after the lock is taken and removed right
 * before it is released, so "the file names a live process that holds the lock" means "held".
 * Reading it never takes a SQLite lock, so it cannot disturb a process that is acquiring.
 */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  what: string;
}

export function lockHolder(sqlitePath: string): LockHolder | undefined {
  let holder: LockHolder;
  try {
    holder = JSON.parse(fs.readFileSync(`${sqlitePath}.possync-lock.json`, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
  // A killed holder leaves its file behind; its lock died with it (the OS dropped it).
  if (holder.host === os.hostname() && !alive(holder.pid)) return undefined;
  // ... and its pid may since belong to another process: only a lock that is really held counts.
  return lockHeld(`${sqlitePath}.possync-lock`) ? holder : undefined;
}

/**
 * The holder keeps an EXCLUSIVE transaction open on the lock file, so even a read fails at once
 * (busy timeout 0) while it is held. Only asked when the holder file names a live process.
 */
function lockHeld(lockPath: string): boolean {
  let db: Database.Database | undefined;
  try {
    db = new Database(lockPath, { readonly: true, fileMustExist: true, timeout: 0 });
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return false;
  } catch (err) {
    // Busy: held. Anything else (the file vanished mid-check...): do not claim it is free.
    return isRawBusy(err) || (err as { code?: string }).code !== 'SQLITE_CANTOPEN';
  } finally {
    db?.close();
  }
}

export function describeHolder(h: LockHolder): string {
  return `${h.what}, pid ${h.pid} on ${h.host}, since ${h.since}`;
}

export function lockedError(h: LockHolder): PossyncError {
  return new PossyncError('LOCKED', `another possync run holds the lock for this terminal (${describeHolder(h)})`, {
    hint: 'wait for it to finish (the daemon syncs on its schedule) or pass --wait <seconds>',
  });
}

/** Waits until nobody holds the lock, up to `waitMs`; then throws LOCKED naming the holder. */
export async function waitForLockFree(sqlitePath: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const h = lockHolder(sqlitePath);
    if (!h) return;
    if (Date.now() >= deadline) throw lockedError(h);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A raw "database is locked" from acquireTerminalLock, for callers that map it to LOCKED. */
export function isRawBusy(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'SQLITE_BUSY';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
