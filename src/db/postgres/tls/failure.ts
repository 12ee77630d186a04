import type { TlsPlan } from './settings.ts';

/** A connection failure that TLS explains: what went wrong, and what to change. */
export interface TlsFailure {
  what: string;
  hint: string;
}

/** OpenSSL's verdicts (as Node's error codes) that mean "this CA did not sign the server's certificate". */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * Tells TLS failures from other connection failures, so they get advice about sslmode and
 * certificates instead of "check that the server is running". Undefined for anything else.
 * `plan` (the sslmode and files in use) sharpens the words; without it they stay general.
 */
export function tlsFailure(err: unknown, plan?: TlsPlan): TlsFailure | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  const msg = err.message;
  const mode = plan ? `sslmode=${plan.sslmode.value}${plan.sslmode.from === 'default' ? ' (the default)' : ` (${plan.sslmode.from})`}` : 'the sslmode in use';
  const ca = plan?.rootcert ? (plan.rootcert.value === 'system' ? 'the public CAs Node trusts (sslrootcert=system)' : `the CA in ${plan.rootcert.value} (${plan.rootcert.from})`) : 'the CA';

  if (msg === 'The server does not support SSL connections') {
    return {
      what: `the server does not accept TLS connections, and ${mode} requires TLS`,
      hint: "turn ssl on in the server's postgresql.conf, or use sslmode=prefer (encrypts when the server can) or disable if this link needs no encryption",
    };
  }
  if (msg === 'There was an error establishing an SSL connection') {
    return { what: 'the server gave no valid answer to the request for TLS', hint: 'check that host and port point at PostgreSQL itself, not at another service or a proxy that does not speak its protocol' };
  }
  // pg_hba.conf found no line for a plaintext connection: usually a hostssl-only server.
  if (code === '28000' && /no pg_hba\.conf entry/.test(msg) && /no encryption|SSL off/.test(msg)) {
    return {
      what: `the server refused an unencrypted connection (${msg}); ${mode} did not use TLS`,
      hint: 'if the server accepts only TLS (hostssl lines in pg_hba.conf), set sslmode to require, verify-ca or verify-full; otherwise its admin must add a pg_hba.conf line for this host, user and database',
    };
  }
  if (code === '28000' && /certificate/i.test(msg)) {
    return { what: `the server refused the client certificate (${msg})`, hint: 'check postgres.sslcert and postgres.sslkey: the server wants a certificate signed by its client CA whose common name is the database user' };
  }
  if (typeof code === 'string' && UNTRUSTED.has(code)) {
    return {
      what: plan?.rootcert ? `the server's certificate is not signed by ${ca} (TLS: ${msg})` : `the server's certificate could not be checked (TLS: ${msg})`,
      hint: `check that sslrootcert names the CA that signed the server's certificate (the provider publishes it); ${mode} checks the certificate, sslmode=require only encrypts`,
    };
  }
  if (typeof code === 'string' && OUT_OF_DATE.has(code)) {
    return { what: `the server's certificate is out of date (TLS: ${msg})`, hint: "the server's admin must renew its certificate; if it is valid, check this till's clock" };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const host = (err as { host?: unknown }).host;
    return {
      what: `the server's certificate is not for the host name ${typeof host === 'string' ? `"${host}"` : 'in the URL'} (TLS: ${msg})`,
      hint: `sslmode=verify-full checks that the URL's host name is one the certificate names: connect by that name (not by IP address), or use sslmode=verify-ca to check ${ca} only`,
    };
  }
  if (typeof code === 'string' && code.startsWith('ERR_SSL_')) {
    const aboutClientCert = /CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN/.test(code);
    return {
      what: `the TLS handshake failed (${msg})`,
      hint: aboutClientCert
        ? 'the server did not accept the client certificate: check postgres.sslcert and postgres.sslkey'
        : `the server and possync could not agree on TLS with ${mode}; check that the port is PostgreSQL's and its TLS settings`,
    };
  }
  return undefined;
}
