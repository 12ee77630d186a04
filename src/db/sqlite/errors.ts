import { PossyncError } from '../../errors.ts';

/**
 * SQLite errors that stop a run instead of failing one table: the till's disk is full
 * (SQLITE_FULL), or the file cannot be written at all (read-only file system, I/O error). Every
 * later table would fail the same way, and the admin's fix is on the machine, not in the data.
 * Each write is a transaction with its checkpoint, so nothing half-written stays.
 */
export function sqliteStopError(path: string, err: unknown): PossyncError | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return undefined;
  const reason = err instanceof Error ? err.message : code;
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
