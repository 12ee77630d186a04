import fs from 'node:fs';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Sourced, TlsPlan } from './settings.ts';
import { tlsConfigError } from './settings.ts';

/** The PEM texts a plan names; undefined where the plan names no file. */
export interface TlsFiles {
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}

/**
 * Reads and checks the CA, certificate and key files now, so that a wrong path or a file that is
 * not PEM is a config error naming the file, not a handshake failure (or, for a CA, nothing at all:
 * Node silently ignores a CA text that holds no certificate, and every server then fails the check).
 */
export function readTlsFiles(plan: TlsPlan): TlsFiles {
  const ca = plan.rootcert && plan.rootcert.value !== 'system' ? read(plan.rootcert, 'CA certificate') : undefined;
  if (ca !== undefined) checkCertificates(ca, plan.rootcert!, 'CA certificate');
  const cert = plan.cert ? read(plan.cert, 'client certificate') : undefined;
  const key = plan.key ? read(plan.key, 'client private key') : undefined;
  if (cert !== undefined && key !== undefined) {
    checkCertificates(cert, plan.cert!, 'client certificate');
    try {
      tls.createSecureContext({ cert, key });
    } catch (err) {
      throw tlsConfigError(
        `the client certificate ${plan.cert!.value} (${plan.cert!.from}) and key ${plan.key!.value} (${plan.key!.from}) cannot be used together: ${(err as Error).message}`,
        'the key must be the unencrypted PEM private key of that certificate',
      );
    }
  }
  return { ca, cert, key };
}

function read(file: Sourced<string>, what: string): string {
  try {
    return fs.readFileSync(file.value, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw tlsConfigError(`cannot read the ${what} file ${file.value} (${file.from}): ${reason}`, `check the path in ${file.from} and that this user may read the file`);
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function checkCertificates(pem: string, file: Sourced<string>, what: string): void {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no "BEGIN CERTIFICATE" block');
    for (const block of blocks) new X509Certificate(block);
  } catch (err) {
    throw tlsConfigError(`the ${what} file ${file.value} (${file.from}) is not a PEM certificate: ${(err as Error).message}`, 'give the PEM file (text starting with -----BEGIN CERTIFICATE-----)');
  }
}
