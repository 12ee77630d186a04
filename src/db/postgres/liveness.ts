import type net from 'node:net';
import type pg from 'pg';
import { redactUrl } from '../../config/format.ts';
import { PossyncError } from '../../errors.ts';

/** The error a connection is destroyed with when the server stays silent past postgres.readTimeoutSeconds. */
export class PgSilentError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`PostgreSQL sent nothing for ${ms / 1000} s while a statement was waiting for an answer (postgres.readTimeoutSeconds): the link went silent`);
  }
}

/** pg's internal state of a client: the statement on the wire and those queued behind it. */
interface ClientInternals {
  connection: { stream: net.Socket };
  _getActiveQuery?: () => unknown;
  _sentQueryQueue?: unknown[];
  _queryQueue?: unknown[];
}

function waitingForServer(client: ClientInternals): boolean {
  return Boolean(client._getActiveQuery?.()) || (client._sentQueryQueue?.length ?? 0) > 0 || (client._queryQueue?.length ?? 0) > 0;
}

/**
 * Makes one pg connection safe on a bad link.
 *
 * - A checked-out pg client emits 'error' when its socket dies; with no listener Node would crash
 *   the process (the pool listens only while a client is idle). The statement in flight is
 *   rejected with the same error, which is how the run learns of it, so the listener only keeps
 *   the process alive and remembers why (`onLost`).
 * - A link that goes silent (packets dropped, the socket still open) leaves a read waiting
 *   forever: TCP keepalive takes minutes to notice and Node cannot shorten its probes. So the
 *   socket's inactivity timer is armed, and when it fires while a statement waits for the
 *   server, the socket is destroyed: the statement fails at once with PgSilentError. An idle
 *   connection in the pool may be quiet as long as it likes.
 */
export function guardConnection(client: pg.Client | pg.PoolClient, readTimeoutMs: number, onLost: (err: Error) => void): void {
  client.on('error', onLost);
  const internals = client as unknown as ClientInternals;
  const socket = internals.connection.stream;
  socket.setTimeout(readTimeoutMs);
  socket.on('timeout', () => {
    if (waitingForServer(internals)) socket.destroy(new PgSilentError(readTimeoutMs));
  });
}

/** Ends a connection at once (the run watchdog): whatever it was waiting for fails with `reason`. */
export function cutConnection(client: pg.Client | pg.PoolClient, reason: Error): void {
  (client as unknown as ClientInternals).connection.stream.destroy(reason);
}

/**
 * A connection that was up and died under a statement: a reset, a server restart, a silent link.
 * Unlike a server that cannot be reached at all, the advice is not to check the URL.
 */
export function lostConnectionError(url: string, err: unknown): PossyncError {
  const reason = err instanceof Error ? err.message : String(err);
  return new PossyncError('PG_UNREACHABLE', `lost the connection to PostgreSQL at ${redactUrl(url)} during the run: ${reason}`, {
    hint: 'what was applied is kept, and the next run resumes from the last checkpoint; if it keeps happening, check the network or the server log',
    cause: err,
  });
}
