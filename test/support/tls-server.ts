import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/postgres/embedded.ts';

/** The PEM files a TLS test hands possync, all under `dir`. */
export interface TestCerts {
  dir: string;
  /** The CA that signed the server's certificate (and the till's client certificate). */
  ca: string;
  /** A CA that signed nothing here. */
  wrongCa: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate for the database user `till` (CN=till), and its key. */
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A CA, a server certificate for DNS:localhost only (so 127.0.0.1 fails the host name check but
 * passes the chain check), a client certificate for user `till`, and a second, unrelated CA.
 * EC keys, because they are generated in milliseconds.
 */
export function makeCerts(dir: string): TestCerts {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string, cn: string) =>
    openssl(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const leaf = (name: string, cn: string, ext: string) => {
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  };
  ca('ca', 'possync test CA');
  ca('wrong-ca', 'some other CA');
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'till', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const p = (f: string) => path.join(dir, f);
  return { dir, ca: p('ca.pem'), wrongCa: p('wrong-ca.pem'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key') };
}

/**
 * Its own embedded Postgres with ssl on and a pg_hba.conf that lets TCP clients in over TLS only
 * (hostssl): `postgres` with its password, `till` with its client certificate (the cert method).
 * The Unix socket line is for the server's own tools.
 */
export async function startTlsPostgres(certs: TestCerts): Promise<EmbeddedServer> {
  return startEmbeddedPostgres({
    postgresFlags: ['-c', 'ssl=on', '-c', 'ssl_ca_file=ca.pem'],
    beforeStart(dataDir) {
      // The server (the postgres user when run as root) reads these; it insists on a private key
      // that only it can read.
      const { uid, gid } = fs.statSync(dataDir);
      const put = (from: string, to: string, mode: number) => {
        const target = path.join(dataDir, to);
        fs.copyFileSync(from, target);
        fs.chownSync(target, uid, gid);
        fs.chmodSync(target, mode);
      };
      put(certs.serverCert, 'server.crt', 0o644);
      put(certs.serverKey, 'server.key', 0o600);
      put(certs.ca, 'ca.pem', 0o644);
      const hba = path.join(dataDir, 'pg_hba.conf');
      fs.writeFileSync(
        hba,
        ['local all all trust', 'hostssl all till 127.0.0.1/32 cert', 'hostssl all all 127.0.0.1/32 scram-sha-256', 'hostssl all all ::1/128 scram-sha-256', ''].join('\n'),
      );
      fs.chownSync(hba, uid, gid);
    },
  });
}
