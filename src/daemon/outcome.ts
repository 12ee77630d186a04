import { isPossyncError, PossyncError } from '../errors.ts';
import type { RunResult } from '../engine/result.ts';
import type { FailureKind } from './backoff.ts';

/** What one scheduled attempt came to. */
export type RunOutcome =
  | { kind: 'ran'; result: RunResult; backup: string | undefined }
  /** Another process (a second daemon, a manual trigger) holds this terminal's lock: skipped. */
  | { kind: 'locked'; holder: string | undefined }
  /** The run could not start or stopped everything: config, schema, unreachable database, backup. */
  | { kind: 'error'; error: PossyncError };

export function asPossyncError(err: unknown): PossyncError {
  return isPossyncError(err) ? err : new PossyncError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
}

const UNREACHABLE_CODES = new Set(['PG_UNREACHABLE', 'SQLITE_UNREACHABLE']);
// runSync turns a connection lost mid-run into a failed result carrying only the message (the
// RunResult has no error code), so the daemon recognises the gateways' own wording.
const UNREACHABLE_MESSAGE = /^(cannot reach PostgreSQL|cannot open SQLite database|SQLite database not found)/;

/**
 * Whether an attempt failed, and how, for the backoff. Being locked out or aborted by shutdown is
 * not a failure; rows waiting for a parent or refused by the other side are not either (they are
 * retried on every run anyway). A failed run or a table error is.
 */
export function failureOf(outcome: RunOutcome, aborted: boolean): FailureKind | undefined {
  if (aborted || outcome.kind === 'locked') return undefined;
  if (outcome.kind === 'error') return UNREACHABLE_CODES.has(outcome.error.code) ? 'unreachable' : 'sync';
  const { result } = outcome;
  if (result.status === 'failed') return result.error && UNREACHABLE_MESSAGE.test(result.error) ? 'unreachable' : 'sync';
  return result.tables.some((t) => t.status === 'error') ? 'sync' : undefined;
}
