import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { PossyncError } from '../errors.ts';
import type { ListenAddress } from './address.ts';

export const TOKEN_ENV = 'POSSYNC_API_TOKEN';
const MIN_TOKEN_LENGTH = 16;

/**
 * The control API's bearer token: POSSYNC_API_TOKEN, else the file `apiTokenFile` names (first
 * line). Loopback needs none; any other address refuses to start without one (exit 2), since the
 * API can start syncs and shows rows held back (customer data) to whoever reaches the port.
 */
export function resolveToken(address: ListenAddress, env: NodeJS.ProcessEnv, tokenFile: string | undefined): string | undefined {
  let token = env.POSSYNC_API_TOKEN?.trim() || undefined;
  let from = TOKEN_ENV;
  if (token === undefined && tokenFile !== undefined) {
    try {
      token = fs.readFileSync(tokenFile, 'utf8').split('\n')[0]!.trim() || undefined;
    } catch (err) {
      throw new PossyncError('USAGE', `cannot read the API token file ${tokenFile}: ${(err as Error).message}`, { hint: 'fix apiTokenFile in possync.config.json' });
    }
    if (token === undefined) throw new PossyncError('USAGE', `the API token file ${tokenFile} is empty`, { hint: 'write a long random token on its first line (e.g. openssl rand -hex 32)' });
    from = tokenFile;
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new PossyncError('USAGE', `the API token from ${from} is shorter than ${MIN_TOKEN_LENGTH} characters`, { hint: 'use a long random token, e.g. openssl rand -hex 32' });
  }
  if (token === undefined && !address.loopback) {
    throw new PossyncError('USAGE', `the control API would listen on ${address.host}, which other machines can reach, without a token`, {
      hint: `set ${TOKEN_ENV} or apiTokenFile in possync.config.json, or listen on 127.0.0.1`,
    });
  }
  return token;
}

/**
 * Constant-time check of an `Authorization: Bearer …` header. Both sides are hashed first, so the
 * comparison is over equal-length digests and leaks neither the token nor its length.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = createHash('sha256').update(m?.[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}
