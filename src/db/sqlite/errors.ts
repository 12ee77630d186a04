import { PossyncError } from '../../errors.ts';

/**
 * SQLite errors that stop a run instead of failing one table: the till's disk is full
 * (SQLITE_FULL), the file cannot be written at all (read-only file system, I/O error), or another
 * program kept it locked past the busy timeout (SQLITE_BUSY). Every
 * later table would fail the same way, and the admin's fix is on the machine, not in the data.
 * Each write is a transaction with its checkpoint, so nothing half-written stays.
 */
export function sqliteStopError(path: string, err: unknown): PossyncError | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return undefined;
  const reason = err instanceof Error ? err.message : code;
  if (code.startsWith('SQLITE_BUSY')) {
    // Past the busy timeout: the POS app holds a write transaction open. Every later table would
    // wait the same timeout again; the run stops and the next one goes on where it left off.
    return new PossyncError('LOCKED', `the terminal database ${path} stayed locked by another program (the POS app holding a write transaction) past possync's busy timeout: ${reason}`, {
      hint: 'the next run goes on where this one stopped; if it keeps happening, look for a program that keeps a write transaction open on the till database',
      cause: err,
    });
  }
  if (code === 'SQLITE_FULL') {
    return new PossyncError('DISK_FULL', `the till's disk is full: SQLite could not write ${path} (${reason})`, {
      hint: 'free space on that disk and run again; what was applied is kept, and the next run resumes from the last checkpoint',
      cause: err,
    });
  }
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_IOERR')) {
    return new PossyncError('SQLITE_UNREACHABLE', `cannot write the terminal database ${path}: ${reason} (${code})`, {
      hint: "check the file's permissions and the disk it is on",
      cause: err,
    });
  }
  return undefined;
}
