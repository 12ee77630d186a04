import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.ts';
import type { PgTlsSettings } from '../../src/config/types.ts';
import { planTls, splitSslParams } from '../../src/db/postgres/tls/settings.ts';
import { tlsFailure } from '../../src/db/postgres/tls/failure.ts';
import { tlsText } from '../../src/cli/commands/status.ts';
import { PossyncError } from '../../src/errors.ts';

const none: PgTlsSettings = { sslmode: undefined, sslrootcert: undefined, sslcert: undefined, sslkey: undefined };
const URL_ = 'postgresql://u:p%40ss@db.example.com:5432/pos';

function configError(fn: () => unknown): PossyncError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PossyncError);
    expect((err as PossyncError).exitCode).toBe(2);
    return err as PossyncError;
  }
  throw new Error('expected a config error');
}

describe('TLS settings: URL, config and PG* variables', () => {
  it('strips the ssl* parameters and leaves every other byte of the URL alone', () => {
    const { params, rest } = splitSslParams(`${URL_}?application_name=a%20b&sslmode=require&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5`);
    expect(rest).toBe(`${URL_}?application_name=a%20b&connect_timeout=5`);
    expect(Object.fromEntries(params)).toEqual({ sslmode: 'require', sslrootcert: '/etc/ca.pem' });
    expect(splitSslParams(`${URL_}?sslmode=disable`).rest).toBe(URL_);
    expect(splitSslParams(URL_).rest).toBe(URL_);
  });

  it('libpq default: prefer, nothing verified', () => {
    expect(planTls(URL_, none, {})).toMatchObject({ connectionString: URL_, sslmode: { value: 'prefer', from: 'default' }, verify: 'none', rootcert: undefined });
  });

  it('config wins over the URL, the URL over PGSSL* variables', () => {
    const env = { PGSSLMODE: 'disable', PGSSLROOTCERT: '/env/ca.pem' };
    const url = `${URL_}?sslmode=require&sslrootcert=/url/ca.pem`;
    expect(planTls(url, { ...none, sslmode: 'verify-full', sslrootcert: '/cfg/ca.pem' }, env)).toMatchObject({
      sslmode: { value: 'verify-full', from: 'postgres.sslmode' },
      rootcert: { value: '/cfg/ca.pem', from: 'postgres.sslrootcert' },
    });
    expect(planTls(url, none, env)).toMatchObject({ sslmode: { value: 'require', from: 'sslmode in the URL' }, rootcert: { value: '/url/ca.pem', from: 'sslrootcert in the URL' } });
    expect(planTls(URL_, none, env)).toMatchObject({ sslmode: { value: 'disable', from: 'PGSSLMODE' }, rootcert: { value: '/env/ca.pem', from: 'PGSSLROOTCERT' } });
  });

  it('what each mode verifies: a root CA makes require (and prefer) check the chain, as in libpq', () => {
    const v = (sslmode: PgTlsSettings['sslmode'], sslrootcert?: string) => planTls(URL_, { ...none, sslmode, sslrootcert }, {}).verify;
    expect(v('disable', '/ca.pem')).toBe('none');
    expect(v('prefer')).toBe('none');
    expect(v('prefer', '/ca.pem')).toBe('chain');
    expect(v('require')).toBe('none');
    expect(v('require', '/ca.pem')).toBe('chain');
    expect(v('verify-ca', '/ca.pem')).toBe('chain');
    expect(v('verify-full', '/ca.pem')).toBe('chain and host name');
  });

  it("sslrootcert=system: verify-full by default, anything weaker refused (libpq 16)", () => {
    expect(planTls(`${URL_}?sslrootcert=system`, none, {})).toMatchObject({ sslmode: { value: 'verify-full' }, verify: 'chain and host name' });
    expect(configError(() => planTls(`${URL_}?sslrootcert=system&sslmode=require`, none, {})).message).toContain('too weak for sslrootcert=system');
  });

  it('refuses what it cannot carry out, naming where it came from', () => {
    expect(configError(() => planTls(`${URL_}?sslmode=allow`, none, {})).hint).toContain('use prefer');
    expect(configError(() => planTls(URL_, none, { PGSSLMODE: 'verify_full' })).message).toContain('sslmode "verify_full" (PGSSLMODE) is not supported');
    expect(configError(() => planTls(URL_, { ...none, sslmode: 'verify-ca' }, {})).message).toContain('sslmode=verify-ca (postgres.sslmode) needs a CA certificate');
    expect(configError(() => planTls(URL_, { ...none, sslcert: '/c.crt' }, {})).hint).toContain('postgres.sslkey');
    for (const p of ['ssl=true', 'uselibpqcompat=true', 'sslcrl=/x.crl', 'sslnegotiation=direct']) {
      expect(configError(() => planTls(`${URL_}?${p}`, none, {})).message).toContain(`${p.split('=')[0]}= is not supported`);
    }
  });

  it('config file paths are relative to the config file; system stays system', () => {
    const c = resolveConfig(
      { sqlite: { path: 'till.sqlite' }, postgres: { url: URL_, sslmode: 'verify-full', sslrootcert: 'certs/ca.pem', sslcert: 'env:CERT', sslkey: '/abs/till.key' }, terminalId: 't', tables: [{ name: 'a', pk: 'id', updatedCol: 'u' }] },
      '/etc/possync/possync.config.json',
      { CERT: 'till.crt' },
    );
    expect(c.postgresConnection.tls).toEqual({ sslmode: 'verify-full', sslrootcert: '/etc/possync/certs/ca.pem', sslcert: '/etc/possync/till.crt', sslkey: '/abs/till.key' });
    const s = resolveConfig({ sqlite: { path: 'x' }, postgres: { url: URL_, sslrootcert: 'system' }, terminalId: 't', tables: [{ name: 'a', pk: 'id', updatedCol: 'u' }] }, '/etc/p.json', {});
    expect(s.postgresConnection.tls.sslrootcert).toBe('system');
  });
});

describe('TLS failures are told apart from other connection failures', () => {
  const plan = planTls(URL_, { ...none, sslmode: 'verify-ca', sslrootcert: '/etc/ca.pem' }, {});
  const err = (message: string, props: Record<string, unknown> = {}) => Object.assign(new Error(message), props);

  it('names the CA file and the mode for an untrusted certificate', () => {
    const f = tlsFailure(err('self-signed certificate', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), plan)!;
    expect(f.what).toContain('not signed by the CA in /etc/ca.pem (postgres.sslrootcert)');
    expect(f.hint).toContain('sslmode=verify-ca (postgres.sslmode)');
  });

  it('is not fooled by ordinary failures', () => {
    expect(tlsFailure(err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' }), plan)).toBeUndefined();
    expect(tlsFailure(err('password authentication failed for user "u"', { code: '28P01' }), plan)).toBeUndefined();
    expect(tlsFailure('not an error')).toBeUndefined();
  });
});

describe('the status line', () => {
  const base = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', sslmodeFrom: 'postgres.sslmode', plaintextBecause: null };
  it('says how the link is protected, or why it is not', () => {
    expect(tlsText({ ...base, encrypted: true, sslmode: 'verify-full', verified: 'chain and host name', rootcert: '/etc/ca.pem' })).toBe(
      'TLS 1.3, verify-full (certificate and host name checked against CA /etc/ca.pem)',
    );
    expect(tlsText({ ...base, encrypted: false, protocol: null, cipher: null, sslmode: 'prefer', sslmodeFrom: 'default', verified: 'none', rootcert: null, plaintextBecause: 'server offers no TLS' })).toBe(
      'not encrypted (sslmode=prefer, the default, the server offered no TLS)',
    );
  });
});
