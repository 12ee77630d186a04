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

// Failures that clear up by themselves (a link, a server, another session's lock): retried soon.
const UNREACHABLE_CODES = new Set<string>(['PG_UNREACHABLE', 'SQLITE_UNREACHABLE', 'TIMEOUT', 'BLOCKED', 'LOCKED']);

/**
 * Whether an attempt failed, and how, for the backoff. Being locked out or aborted by shutdown is
 * not a failure; rows waiting for a parent or refused by the other side are not either (they are
 * retried on every run anyway). A failed run or a table error is; a table that failed only on
 * another session's row locks (BLOCKED) clears by itself, like an unreachable server.
 */
export function failureOf(outcome: RunOutcome, aborted: boolean): FailureKind | undefined {
  if (aborted || outcome.kind === 'locked') return undefined;
  if (outcome.kind === 'error') return UNREACHABLE_CODES.has(outcome.error.code) ? 'unreachable' : 'sync';
  const { result } = outcome;
  // A connection lost mid-run ends the run with a result carrying the error's code.
  if (result.status === 'failed') return result.errorCode && UNREACHABLE_CODES.has(result.errorCode) ? 'unreachable' : 'sync';
  const failed = result.tables.filter((t) => t.status === 'error');
  if (failed.length === 0) return undefined;
  // Tables that failed only on another session's locks (rows it kept locked past every try).
  return failed.every((t) => t.errorCode !== undefined && UNREACHABLE_CODES.has(t.errorCode)) ? 'unreachable' : 'sync';
}
