import { TLSSocket } from 'node:tls';
import type { SslMode } from '../../../config/types.ts';
import type { PgGateway } from '../gateway.ts';
import { unreachableError } from '../errors.ts';

/** Whether possync's link to Postgres is encrypted, and what was checked (`possync status`). */
export interface PgTlsStatus {
  encrypted: boolean;
  /** "TLSv1.3"; null when not encrypted. */
  protocol: string | null;
  cipher: string | null;
  sslmode: SslMode;
  /** Where sslmode came from: "postgres.sslmode", "sslmode in the URL", "PGSSLMODE" or "default". */
  sslmodeFrom: string;
  /** What the server's certificate was checked for. */
  verified: 'none' | 'chain' | 'chain and host name';
  /** The CA file (or 'system') the certificate was checked against. */
  rootcert: string | null;
  /** Why a mode that encrypts when it can did not: "server offers no TLS" or "unix socket". */
  plaintextBecause: string | null;
}

/**
 * Looks at the socket of a pooled connection rather than asking the server (pg_stat_ssl): behind a
 * connection pooler the server would describe the pooler's own link, not the one this till sends
 * its data over.
 */
export async function tlsInUse(pg: PgGateway): Promise<PgTlsStatus> {
  let client;
  try {
    client = await pg.pool.connect();
  } catch (err) {
    throw unreachableError(pg.url, err, pg.tls.plan);
  }
  try {
    // pg keeps the socket at connection.stream (as liveness.ts relies on too).
    const stream = (client as unknown as { connection?: { stream?: unknown } }).connection?.stream;
    const plan = pg.tls.plan;
    const encrypted = stream instanceof TLSSocket && stream.encrypted;
    return {
      encrypted,
      protocol: encrypted ? (stream.getProtocol() ?? null) : null,
      cipher: encrypted ? (stream.getCipher()?.name ?? null) : null,
      sslmode: plan.sslmode.value,
      sslmodeFrom: plan.sslmode.from,
      verified: encrypted ? plan.verify : 'none',
      rootcert: plan.rootcert?.value ?? null,
      plaintextBecause: pg.tls.plaintextBecause ?? null,
    };
  } finally {
    client.release();
  }
}
