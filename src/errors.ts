/**
 * One error type for everything possync reports to a user. The top-level CLI handler maps
 * `exitCode` to the process exit status and prints `message` (plus `hint`) on one line; the
 * stack is printed only when DEBUG is set.
 */
export type ErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'PG_UNREACHABLE'
  | 'SQLITE_UNREACHABLE'
  | 'SCHEMA_MISMATCH'
  | 'LOCKED'
  | 'SYNC_FAILED'
  | 'BACKUP_FAILED'
  | 'PERMISSION'
  | 'TIMEOUT'
  | 'BLOCKED'
  | 'DISK_FULL'
  | 'UPGRADE_REQUIRED'
  | 'INTERNAL';

/** Exit codes are part of the CLI contract (README "Exit codes"). */
export const EXIT = {
  OK: 0,
  SYNC_FAILURES: 1,
  USAGE: 2,
  UNREACHABLE: 3,
} as const;

const exitCodeOf: Record<ErrorCode, number> = {
  CONFIG_NOT_FOUND: EXIT.USAGE,
  CONFIG_INVALID: EXIT.USAGE,
  USAGE: EXIT.USAGE,
  SCHEMA_MISMATCH: EXIT.USAGE,
  PG_UNREACHABLE: EXIT.UNREACHABLE,
  SQLITE_UNREACHABLE: EXIT.UNREACHABLE,
  LOCKED: EXIT.SYNC_FAILURES,
  SYNC_FAILED: EXIT.SYNC_FAILURES,
  // The run is not started without the backup the admin asked for.
  BACKUP_FAILED: EXIT.SYNC_FAILURES,
  // possync's role lacks a privilege: the message names it and the GRANT to run.
  PERMISSION: EXIT.USAGE,
  INTERNAL: EXIT.SYNC_FAILURES,
  // A database stopped answering within its bound (README "When things go wrong").
  TIMEOUT: EXIT.UNREACHABLE,
  // possync's DDL could not get a table lock an app session holds; the next run tries again.
  BLOCKED: EXIT.SYNC_FAILURES,
  // The till's disk is full: like a database that cannot be reached, the machine needs a fix.
  DISK_FULL: EXIT.UNREACHABLE,
  // The cloud's capture objects are from a possync this one cannot read: an admin upgrades the
  // till; retrying changes nothing (README "Changing schemas").
  UPGRADE_REQUIRED: EXIT.USAGE,
};

/**
 * The exit code of a finished run: the code of the error that stopped it (3 for a database that
 * could not be reached), else 2 if a table failed for want of a privilege (the admin must run a
 * GRANT; retrying changes nothing), else 1 for any failure, waiting or refused row, else 0.
 */
export function runExitCode(result: { status: string; errorCode?: ErrorCode | 'ABORTED' | undefined; tables: Array<{ errorCode?: ErrorCode | undefined }> }): number {
  if (result.errorCode && result.errorCode !== 'ABORTED') return exitCodeOf[result.errorCode];
  if (result.tables.some((t) => t.errorCode === 'PERMISSION')) return EXIT.USAGE;
  return result.status === 'success' ? EXIT.OK : EXIT.SYNC_FAILURES;
}

export class PossyncError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  override readonly cause: unknown;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message);
    this.name = 'PossyncError';
    this.code = code;
    this.hint = options.hint;
    this.cause = options.cause;
  }

  get exitCode(): number {
    return exitCodeOf[this.code];
  }
}

export function isPossyncError(err: unknown): err is PossyncError {
  return err instanceof PossyncError;
}
