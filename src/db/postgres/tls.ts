import type pg from 'pg';
import type { PgTlsSettings } from '../../config/types.ts';

/** What the pg Pool is given for TLS: the URL without libpq's ssl* parameters, and pg's `ssl` option. */
export interface PgTlsOptions {
  connectionString: string;
  ssl: pg.ClientConfig['ssl'];
}

/**
 * STUB (being replaced): libpq's sslmode semantics on top of pg. For now the URL goes to pg as it
 * is, as before.
 */
export async function tlsOptions(url: string, _tls: PgTlsSettings): Promise<PgTlsOptions> {
  return { connectionString: url, ssl: undefined };
}
