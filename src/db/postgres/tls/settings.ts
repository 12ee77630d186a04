import { PossyncError } from '../../../errors.ts';
import type { PgTlsSettings, SslMode } from '../../../config/types.ts';

/** libpq's TLS parameters that possync reads. */
const PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;
type Param = (typeof PARAMS)[number];

/**
 * The PG* variables libpq reads for them. pg read PGSSLMODE itself (its own way) until possync
 * took TLS over, so ignoring them would quietly weaken a setup that relies on PGSSLMODE=verify-full.
 */
function fromEnv(env: NodeJS.ProcessEnv): Record<Param, [string, string | undefined]> {
  return {
    sslmode: ['PGSSLMODE', env.PGSSLMODE],
    sslrootcert: ['PGSSLROOTCERT', env.PGSSLROOTCERT],
    sslcert: ['PGSSLCERT', env.PGSSLCERT],
    sslkey: ['PGSSLKEY', env.PGSSLKEY],
  };
}
const MODES: readonly SslMode[] = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** One setting and where it came from, so that an error can point at the place to fix. */
export interface Sourced<T> {
  value: T;
  /** "postgres.sslrootcert", "sslrootcert in the URL", "PGSSLROOTCERT", or "default". */
  from: string;
}

/** The TLS decisions for one connection string, before any file is read or socket opened. */
export interface TlsPlan {
  /** The URL without its ssl* parameters: pg's own parser must never see them (it reads require as verify-full). */
  connectionString: string;
  sslmode: Sourced<SslMode>;
  /** A CA file, or 'system' for the public CAs Node trusts (libpq 16's sslrootcert=system). */
  rootcert: Sourced<string> | undefined;
  cert: Sourced<string> | undefined;
  key: Sourced<string> | undefined;
  /**
   * What the server's certificate is checked for. As in libpq, a root CA file turns the chain
   * check on in every mode that encrypts: require (and prefer) with sslrootcert act as verify-ca.
   */
  verify: 'none' | 'chain' | 'chain and host name';
}

/**
 * Resolves libpq's TLS settings for `url`: each from the config key, else the URL's query
 * parameter, else the PG* environment variable (as libpq reads them), else libpq's default
 * (sslmode prefer, no files). Everything wrong in them is a config error, found before connecting.
 */
export function planTls(url: string, config: PgTlsSettings, env: NodeJS.ProcessEnv): TlsPlan {
  const { params, rest } = splitSslParams(url);
  const envValues = fromEnv(env);
  const pick = (p: Param): Sourced<string> | undefined => {
    const configured = config[p];
    if (configured !== undefined && configured !== '') return { value: configured, from: `postgres.${p}` };
    const inUrl = params.get(p);
    if (inUrl !== undefined && inUrl !== '') return { value: inUrl, from: `${p} in the URL` };
    const [name, inEnv] = envValues[p];
    if (inEnv !== undefined && inEnv !== '') return { value: inEnv, from: name };
    return undefined;
  };

  const rootcert = pick('sslrootcert');
  const modeGiven = pick('sslmode');
  // libpq 16: sslrootcert=system makes verify-full the default and refuses anything weaker,
  // since anyone can get a public CA's certificate for a host name they control.
  const sslmode = modeGiven ? { value: checkMode(modeGiven), from: modeGiven.from } : { value: rootcert?.value === 'system' ? 'verify-full' : 'prefer', from: 'default' } as Sourced<SslMode>;
  const cert = pick('sslcert');
  const key = pick('sslkey');

  if (rootcert?.value === 'system' && sslmode.value !== 'verify-full') {
    throw tlsConfigError(`sslmode=${sslmode.value} (${sslmode.from}) is too weak for sslrootcert=system (${rootcert.from})`, 'with the public CAs, only verify-full proves who the server is: use sslmode=verify-full, or name your own CA file in sslrootcert');
  }
  if ((sslmode.value === 'verify-ca' || sslmode.value === 'verify-full') && !rootcert) {
    throw tlsConfigError(
      `sslmode=${sslmode.value} (${sslmode.from}) needs a CA certificate to check the server against, and none is set`,
      "set postgres.sslrootcert (or sslrootcert= in the URL) to the CA's PEM file, or to 'system' for the public CAs; possync does not look in ~/.postgresql/",
    );
  }
  if (Boolean(cert) !== Boolean(key)) {
    const [has, lacks] = cert ? [cert, 'sslkey'] : [key!, 'sslcert'];
    throw tlsConfigError(`a client ${cert ? 'certificate' : 'key'} is set (${has.from}) without its ${lacks === 'sslkey' ? 'private key' : 'certificate'}`, `set postgres.${lacks} too (a client certificate needs both files)`);
  }

  const encrypts = sslmode.value !== 'disable';
  const verify = !encrypts ? 'none' : sslmode.value === 'verify-full' ? 'chain and host name' : rootcert ? 'chain' : 'none';
  return { connectionString: rest, sslmode, rootcert, cert, key, verify };
}

function checkMode(given: Sourced<string>): SslMode {
  if ((MODES as readonly string[]).includes(given.value)) return given.value as SslMode;
  const hint =
    given.value === 'allow'
      ? 'possync does not support allow (plaintext first, TLS only if refused): use prefer, which tries TLS first and falls back to plaintext, or disable'
      : `use one of ${MODES.join(', ')}`;
  throw tlsConfigError(`sslmode "${given.value}" (${given.from}) is not supported`, hint);
}

/**
 * Takes libpq's ssl* query parameters out of the URL, leaving every other byte as it was. pg's own
 * TLS switches (ssl=, uselibpqcompat=) and libpq's other ssl* parameters (CRLs, key passwords,
 * direct negotiation) are refused rather than ignored: each would change how the connection is
 * secured in a way possync does not carry out.
 */
export function splitSslParams(url: string): { params: Map<string, string>; rest: string } {
  const params = new Map<string, string>();
  const q = url.indexOf('?');
  if (q < 0) return { params, rest: url };
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const kept: string[] = [];
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    if ((PARAMS as readonly string[]).includes(name)) params.set(name, value);
    else if (name === 'ssl' || name === 'uselibpqcompat' || name.startsWith('ssl')) {
      throw tlsConfigError(`the URL parameter ${name}= is not supported`, `possync reads libpq's sslmode, sslrootcert, sslcert and sslkey (in the URL or as postgres.* keys): replace ${name}= by them (pg's ssl=true means sslmode=verify-full&sslrootcert=system)`);
    } else kept.push(pair);
  }
  const rest = url.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '') + (hash < 0 ? '' : url.slice(hash));
  return { params, rest };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export function tlsConfigError(message: string, hint: string): PossyncError {
  return new PossyncError('CONFIG_INVALID', `TLS: ${message}`, { hint });
}
