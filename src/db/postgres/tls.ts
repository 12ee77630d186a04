import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import type { PgTlsSettings } from '../../config/types.ts';
import { planTls, type TlsPlan } from './tls/settings.ts';
import { readTlsFiles, type TlsFiles } from './tls/files.ts';
import { serverAcceptsTls } from './tls/probe.ts';
import { unreachableError } from './errors.ts';

/** What the pg Pool is given for TLS, and the decisions behind it (for error hints and `status`). */
export interface PgTlsOptions {
  /** The URL without libpq's ssl* parameters, which pg's parser would read its own way. */
  connectionString: string;
  ssl: pg.ClientConfig['ssl'];
  plan: TlsPlan;
  /** Why the connection is not encrypted although sslmode asks for TLS when it can. */
  plaintextBecause: 'unix socket' | 'server offers no TLS' | undefined;
}

/**
 * libpq's sslmode on top of pg: `plan` decides from the config, the URL and PG* variables; the
 * files are read and checked here (a config error before any connection); prefer asks the server
 * first whether it takes TLS at all, since pg would fail where libpq falls back to plaintext.
 */
export async function tlsOptions(url: string, settings: PgTlsSettings, connectTimeoutMs = 10_000, env: NodeJS.ProcessEnv = process.env): Promise<PgTlsOptions> {
  const plan = planTls(url, settings, env);
  const plain = (plaintextBecause?: PgTlsOptions['plaintextBecause']): PgTlsOptions => ({ connectionString: plan.connectionString, ssl: false, plan, plaintextBecause });
  if (plan.sslmode.value === 'disable') return plain();
  const files = readTlsFiles(plan);
  // pg resolves host and port (URL, then PGHOST/PGPORT, then its defaults); ask it the same way.
  const { host, port } = new pg.Client({ connectionString: plan.connectionString, ssl: false });
  // libpq ignores sslmode on Unix-domain sockets: the server offers no TLS there.
  if (host.startsWith('/')) return plain('unix socket');
  if (plan.sslmode.value === 'prefer') {
    const accepts = await serverAcceptsTls(host, port, connectTimeoutMs).catch((err: unknown) => {
      throw unreachableError(url, err, plan);
    });
    if (!accepts) return plain('server offers no TLS');
  }
  return { connectionString: plan.connectionString, ssl: nodeTlsOptions(plan, files), plan, plaintextBecause: undefined };
}

/**
 * Node's TLS options for a plan. Without verification the certificate is still received but not
 * judged (rejectUnauthorized false in the options, which Node does not warn about, unlike
 * NODE_TLS_REJECT_UNAUTHORIZED). A chain check without the host name keeps Node's chain check and
 * replaces its host name check by one that accepts every name.
 */
function nodeTlsOptions(plan: TlsPlan, files: TlsFiles): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: plan.verify !== 'none' };
  if (files.ca !== undefined) options.ca = files.ca;
  if (files.cert !== undefined) options.cert = files.cert;
  if (files.key !== undefined) options.key = files.key;
  if (plan.verify === 'chain') options.checkServerIdentity = () => undefined;
  return options;
}
