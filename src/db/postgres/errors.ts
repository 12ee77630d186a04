import { PossyncError } from '../../errors.ts';
import { redactUrl } from '../../config/format.ts';
import { tlsFailure } from './tls/failure.ts';
import type { TlsPlan } from './tls/settings.ts';

const UNREACHABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/**
 * SQLSTATEs that mean "cannot use this server right now" rather than "bad data": login refused,
 * no such database, the server shutting down or starting up (57P01-57P03), too many connections,
 * and the server ending possync's own transaction after it sat idle too long (25P03).
 */
const UNREACHABLE_SQLSTATES = new Set(['28P01', '28000', '3D000', '57P01', '57P02', '57P03', '53300', '08001', '08006', '08004', '25P03']);
/**
 * pg's own words for a connection that died under a statement or before it: the socket ended
 * ("Connection terminated unexpectedly"), a client it had already marked dead was used again
 * ("Client was closed and is not queryable"), or the connect timed out.
 */
const LOST_CONNECTION = /Connection terminated|not queryable|timeout expired|connect ECONN|Client has encountered a connection error/i;

export function pgErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** True when the error is about reaching the server (network, auth, missing database, shutdown). */
export function isPgUnreachable(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (tlsFailure(err) !== undefined) return true;
  if (code === undefined) return err instanceof Error && LOST_CONNECTION.test(err.message);
  return UNREACHABLE_NODE_CODES.has(code) || UNREACHABLE_SQLSTATES.has(code) || code.startsWith('08');
}

/** SQLSTATE lock_not_available: a statement waited lock_timeout for a lock another session holds. */
export const LOCK_NOT_AVAILABLE = '55P03';

/** SQLSTATE undefined_table: also what a qualified name in a schema that does not exist gets. */
export const UNDEFINED_TABLE = '42P01';

export function isPgLockTimeout(err: unknown): boolean {
  return pgErrorCode(err) === LOCK_NOT_AVAILABLE;
}

/** Deadlocks and serialization failures: the batch is retried (its apply is idempotent). */
export function isPgRetryable(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code === '40P01' || code === '40001';
}

/**
 * A connection that could not be made (exit 3). A TLS failure says what TLS found and what to
 * change (`tls`, the sslmode and files in use, names them) instead of "check that the server is
 * running": the server answered, and it is the certificates or sslmode that do not match.
 */
export function unreachableError(url: string, err: unknown, tls?: TlsPlan): PossyncError {
  const reason = err instanceof Error ? err.message : String(err);
  const failure = tlsFailure(err, tls);
  if (failure) return new PossyncError('PG_UNREACHABLE', `cannot connect to PostgreSQL at ${redactUrl(url)}: ${failure.what}`, { hint: failure.hint, cause: err });
  return new PossyncError('PG_UNREACHABLE', `cannot reach PostgreSQL at ${redactUrl(url)}: ${reason}`, {
    hint: 'check that the server is running and that postgres.url / DATABASE_URL (host, port, user, password, database) is right',
    cause: err,
  });
}
