import { PossyncError } from '../../errors.ts';
import { redactUrl } from '../../config/format.ts';

const UNREACHABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** SQLSTATE classes that mean "cannot use this server right now" rather than "bad data". */
const UNREACHABLE_SQLSTATES = new Set(['28P01', '28000', '3D000', '57P01', '57P02', '57P03', '53300', '08001', '08006', '08004']);

export function pgErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** True when the error is about reaching the server (network, auth, missing database, shutdown). */
export function isPgUnreachable(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (code === undefined) return err instanceof Error && /Connection terminated|timeout expired|connect ECONN/i.test(err.message);
  return UNREACHABLE_NODE_CODES.has(code) || UNREACHABLE_SQLSTATES.has(code) || code.startsWith('08');
}

/** Deadlocks and serialization failures: the batch is retried (its apply is idempotent). */
export function isPgRetryable(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code === '40P01' || code === '40001';
}

export function unreachableError(url: string, err: unknown): PossyncError {
  const reason = err instanceof Error ? err.message : String(err);
  return new PossyncError('PG_UNREACHABLE', `cannot reach PostgreSQL at ${redactUrl(url)}: ${reason}`, {
    hint: 'check that the server is running and that postgres.url / DATABASE_URL (host, port, user, password, database) is right',
    cause: err,
  });
}
