import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { DEFAULT_PG_TIMEOUTS, type PgConnectionSettings, type PgTlsSettings } from '../../src/config/types.ts';
import type { EmbeddedServer } from '../../src/db/postgres/embedded.ts';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { tlsInUse, type PgTlsStatus } from '../../src/db/postgres/tls/in-use.ts';
import type { StatusReport } from '../../src/engine/status/report.ts';
import { PossyncError } from '../../src/errors.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, tempDir } from '../support/db.ts';
import { makeCerts, startTlsPostgres, type TestCerts } from '../support/tls-server.ts';

function settings(tls: Partial<PgTlsSettings>): PgConnectionSettings {
  return { tls: { sslmode: undefined, sslrootcert: undefined, sslcert: undefined, sslkey: undefined, ...tls }, timeouts: DEFAULT_PG_TIMEOUTS };
}

/** Connects as possync does, reports what the link is, and closes. */
async function link(url: string, tls: Partial<PgTlsSettings> = {}): Promise<PgTlsStatus> {
  const gw = await PgGateway.connect(url, settings(tls));
  try {
    return await tlsInUse(gw);
  } finally {
    await gw.close();
  }
}

async function failure(url: string, tls: Partial<PgTlsSettings> = {}): Promise<PossyncError> {
  const err = await link(url, tls).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PossyncError);
  return err as PossyncError;
}

describe('TLS as libpq means it (a hostssl-only server with a private CA)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let certs: TestCerts;
  let server: EmbeddedServer;
  let byIp: string;
  let byName: string;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);

  beforeAll(async () => {
    tmp = tempDir('possync-tls-');
    certs = makeCerts(tmp.dir);
    server = await startTlsPostgres(certs);
    byIp = server.url();
    byName = byIp.replace('@127.0.0.1:', '@localhost:');
    process.on('warning', onWarning);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await server?.stop();
    tmp?.cleanup();
  });
  beforeEach(() => {
    warnings.length = 0;
  });
  // Node prints a warning for NODE_TLS_REJECT_UNAUTHORIZED=0, pg-connection-string one for its
  // reading of sslmode: possync must cause neither, in any mode.
  afterEach(() => expect(warnings).toEqual([]));

  it('disable: refused by pg_hba.conf, with a hint about TLS, exit 3', async () => {
    const err = await failure(`${byIp}?sslmode=disable`);
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain('refused an unencrypted connection');
    expect(err.message).toContain('no encryption');
    expect(err.message).toContain('sslmode=disable (sslmode in the URL)');
    expect(err.hint).toContain('set sslmode to require, verify-ca or verify-full');
    expect(err.hint).not.toContain('check that the server is running');
  });

  it('prefer (the default, and given): encrypted, certificate not verified', async () => {
    expect(await link(byIp)).toMatchObject({ encrypted: true, sslmode: 'prefer', sslmodeFrom: 'default', verified: 'none', plaintextBecause: null });
    expect(await link(`${byIp}?sslmode=prefer`)).toMatchObject({ encrypted: true, sslmode: 'prefer', verified: 'none' });
  });

  it('require: encrypted without verifying, so a private CA needs no file', async () => {
    const s = await link(`${byIp}?sslmode=require`);
    expect(s).toMatchObject({ encrypted: true, sslmode: 'require', sslmodeFrom: 'sslmode in the URL', verified: 'none', rootcert: null });
    expect(s.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('require with a root CA file checks the chain, as verify-ca (libpq)', async () => {
    expect(await link(`${byIp}?sslmode=require&sslrootcert=${encodeURIComponent(certs.ca)}`)).toMatchObject({ encrypted: true, verified: 'chain', rootcert: certs.ca });
    const err = await failure(`${byIp}?sslmode=require`, { sslrootcert: certs.wrongCa });
    expect(err.message).toContain(`not signed by the CA in ${certs.wrongCa} (postgres.sslrootcert)`);
  });

  it('verify-ca: the right CA passes even by IP address; a wrong CA fails with the TLS hint', async () => {
    expect(await link(byIp, { sslmode: 'verify-ca', sslrootcert: certs.ca })).toMatchObject({ encrypted: true, verified: 'chain', sslmodeFrom: 'postgres.sslmode' });
    const err = await failure(byIp, { sslmode: 'verify-ca', sslrootcert: certs.wrongCa });
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(`the server's certificate is not signed by the CA in ${certs.wrongCa}`);
    expect(err.hint).toContain('sslmode=verify-ca (postgres.sslmode) checks the certificate');
    expect(err.hint).not.toContain('check that the server is running');
  });

  it('verify-full: passes by the certificate host name, fails by IP address naming it', async () => {
    expect(await link(byName, { sslmode: 'verify-full', sslrootcert: certs.ca })).toMatchObject({ encrypted: true, verified: 'chain and host name', rootcert: certs.ca });
    const err = await failure(byIp, { sslmode: 'verify-full', sslrootcert: certs.ca });
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(`the server's certificate is not for the host name "127.0.0.1"`);
    expect(err.hint).toContain('sslmode=verify-ca');
  });

  it('the config wins over the URL, and the URL over PGSSLMODE', async () => {
    expect(await link(`${byName}?sslmode=disable`, { sslmode: 'verify-full', sslrootcert: certs.ca })).toMatchObject({ verified: 'chain and host name', sslmodeFrom: 'postgres.sslmode' });
    const before = process.env.PGSSLMODE;
    process.env.PGSSLMODE = 'disable';
    try {
      expect(await link(`${byIp}?sslmode=require`)).toMatchObject({ encrypted: true, sslmodeFrom: 'sslmode in the URL' });
      expect((await failure(byIp)).message).toContain('sslmode=disable (PGSSLMODE)');
    } finally {
      if (before === undefined) delete process.env.PGSSLMODE;
      else process.env.PGSSLMODE = before;
    }
  });

  it('a client certificate logs in a user the server admits by certificate only', async () => {
    const till = byIp.replace('postgres:possync@', 'till@');
    const admin = new pg.Client({ connectionString: byIp, ssl: { rejectUnauthorized: false } });
    await admin.connect();
    await admin.query('CREATE ROLE till LOGIN');
    await admin.end();
    expect(await link(till, { sslmode: 'verify-ca', sslrootcert: certs.ca, sslcert: certs.clientCert, sslkey: certs.clientKey })).toMatchObject({ encrypted: true, verified: 'chain' });
    const err = await failure(till, { sslmode: 'require' });
    expect(err.message).toContain('the server refused the client certificate');
    expect(err.hint).toContain('postgres.sslcert');
  });

  it('a missing or non-PEM file is a config error (exit 2) naming it, before connecting', async () => {
    const missing = path.join(tmp.dir, 'nope.pem');
    const err = await failure(byIp, { sslmode: 'verify-ca', sslrootcert: missing });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`cannot read the CA certificate file ${missing} (postgres.sslrootcert): no such file`);
    const notPem = await failure(`${byIp}?sslmode=verify-ca&sslrootcert=${encodeURIComponent(certs.serverKey)}`);
    expect(notPem.message).toContain(`${certs.serverKey} (sslrootcert in the URL) is not a PEM certificate`);
  });

  describe('the suite’s plain server (no TLS)', () => {
    const plain = inject('pgAdminUrl');
    // Only the suite's own embedded server is known to have ssl off.
    const own = process.env.TEST_DATABASE_URL === undefined;

    it.runIf(own)('prefer falls back to plaintext and works', async () => {
      expect(await link(plain)).toMatchObject({ encrypted: false, sslmode: 'prefer', plaintextBecause: 'server offers no TLS', protocol: null });
    });

    it.runIf(own)('require fails: the server does not accept TLS', async () => {
      const err = await failure(`${plain}?sslmode=require`);
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain('the server does not accept TLS connections, and sslmode=require (sslmode in the URL) requires TLS');
      expect(err.hint).toContain("turn ssl on in the server's postgresql.conf");
    });
  });

  it('prefer spends the connect bound once: a server that never answers fails after it, not twice it', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const err = await PgGateway.connect(`postgresql://u:p@127.0.0.1:${port}/x`, { ...settings({}), timeouts: { ...DEFAULT_PG_TIMEOUTS, connectTimeoutMs: 1000 } }).then(
        () => undefined,
        (e: unknown) => e as PossyncError,
      );
      expect(err?.exitCode).toBe(3);
      expect(err?.message).toContain('no answer within 1 s (postgres.connectTimeoutSeconds)');
      expect(Date.now() - started).toBeLessThan(1900);
    } finally {
      silent.close();
    }
  });

  describe('the possync command (subprocess)', () => {
    let dir: string;
    let configPath: string;
    const writeConfig = (postgres: Record<string, string>) =>
      fs.writeFileSync(configPath, JSON.stringify({ sqlite: { path: 'till.sqlite' }, postgres, terminalId: 'till-tls', tables: [{ name: 'notes', pk: 'id', updatedCol: 'updated_at' }] }));

    beforeAll(async () => {
      dir = path.join(tmp.dir, 'cli');
      fs.mkdirSync(dir);
      configPath = path.join(dir, 'possync.config.json');
      createSqliteFile(path.join(dir, 'till.sqlite'), `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, updated_at TEXT NOT NULL);
        INSERT INTO notes VALUES ('n-local', 'from the till', '2026-11-02T00:00:00.000Z');`);
      const admin = new pg.Client({ connectionString: byIp, ssl: { rejectUnauthorized: false } });
      await admin.connect();
      await admin.query(`CREATE TABLE notes (id text PRIMARY KEY, body text, updated_at timestamptz NOT NULL)`);
      await admin.end();
    });

    it('?sslmode=require syncs over TLS with nothing on stderr, and status says so', async () => {
      writeConfig({ url: `${byIp}?sslmode=require` });
      const run = await runCli(['trigger', '-d', 'both', '-c', configPath]);
      expect(run.stderr).not.toMatch(/SECURITY WARNING|Warning/);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);

      const json = await runCli(['status', '--json', '-c', configPath]);
      expect(json.code).toBe(0);
      expect(json.stderr).toBe('');
      const report = JSON.parse(json.stdout) as StatusReport;
      expect(report.cloud).toMatchObject({ reachable: true, installed: true, tls: { encrypted: true, sslmode: 'require', verified: 'none' } });

      const text = await runCli(['status', '-c', configPath]);
      expect(text.stdout).toMatch(/connection: TLS 1\.[23], require \(server certificate not verified\)/);
    });

    it('verify-full with a relative sslrootcert (the config file’s folder) shows the CA in status', async () => {
      fs.copyFileSync(certs.ca, path.join(dir, 'cloud-ca.pem'));
      writeConfig({ url: byName, sslmode: 'verify-full', sslrootcert: 'cloud-ca.pem' });
      const text = await runCli(['status', '-c', configPath]);
      expect(text.stderr).toBe('');
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`connection: TLS 1.3, verify-full (certificate and host name checked against CA ${path.join(dir, 'cloud-ca.pem')})`);
    });

    it('a wrong CA: trigger exits 3 with one line naming the CA file and the TLS hint', async () => {
      writeConfig({ url: `${byIp}?sslmode=verify-ca&sslrootcert=${encodeURIComponent(certs.wrongCa)}` });
      const run = await runCli(['trigger', '-d', 'push', '-c', configPath]);
      expect(run.code).toBe(3);
      expect(run.stderr).not.toMatch(/SECURITY WARNING|Warning/);
      expect(run.stderr).toContain(`not signed by the CA in ${certs.wrongCa} (sslrootcert in the URL)`);
      expect(run.stderr).not.toContain('check that the server is running');
    });
  });
});
