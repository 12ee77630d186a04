import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopback, parseListen } from '../../src/server/address.ts';
import { bearerMatches, resolveToken } from '../../src/server/auth.ts';
import { httpStatusOf } from '../../src/server/errors.ts';

const TOKEN = 'a-long-enough-token-0123';

describe('control API listen address', () => {
  it('parses host:port, [v6]:port and a bare port (loopback)', () => {
    expect(parseListen('127.0.0.1:7070')).toEqual({ host: '127.0.0.1', port: 7070, loopback: true });
    expect(parseListen('[::1]:7070')).toEqual({ host: '::1', port: 7070, loopback: true });
    expect(parseListen('7070')).toEqual({ host: '127.0.0.1', port: 7070, loopback: true });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0, loopback: true });
    expect(parseListen('0.0.0.0:7070').loopback).toBe(false);
    expect(parseListen('192.168.1.20:7070').loopback).toBe(false);
    expect(parseListen('[::]:7070').loopback).toBe(false);
  });

  it('refuses what is not an address, as a usage error', () => {
    for (const bad of ['', ':7070', '127.0.0.1', '127.0.0.1:99999', 'till.example.com:7070', '127.0.0.1:70a']) {
      expect(() => parseListen(bad), bad).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });

  it('counts 127.0.0.0/8 and ::1 as loopback, 0.0.0.0 and :: not', () => {
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('::')).toBe(false);
    expect(isLoopback('128.0.0.1')).toBe(false);
  });
});

describe('control API token', () => {
  const loopback = parseListen('127.0.0.1:7070');
  const lan = parseListen('0.0.0.0:7070');

  it('needs none on loopback, and refuses a non-loopback address without one', () => {
    expect(resolveToken(loopback, {}, undefined)).toBeUndefined();
    expect(() => resolveToken(lan, {}, undefined)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(resolveToken(lan, { POSSYNC_API_TOKEN: TOKEN }, undefined)).toBe(TOKEN);
  });

  it('reads the first line of the token file; the environment wins; short tokens are refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-token-'));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, `${TOKEN}\n`);
    expect(resolveToken(lan, {}, file)).toBe(TOKEN);
    expect(resolveToken(lan, { POSSYNC_API_TOKEN: `${TOKEN}-env` }, file)).toBe(`${TOKEN}-env`);
    fs.writeFileSync(file, '\n');
    expect(() => resolveToken(lan, {}, file)).toThrow(/empty/);
    expect(() => resolveToken(lan, {}, path.join(dir, 'missing'))).toThrow(/cannot read/);
    expect(() => resolveToken(loopback, { POSSYNC_API_TOKEN: 'short' }, undefined)).toThrow(/shorter/);
    fs.rmSync(dir, { recursive: true });
  });

  it('matches only an exact Bearer token', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
    expect(bearerMatches('', TOKEN)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(`Basic ${TOKEN}`, TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
  });

  it('maps error codes to HTTP statuses', () => {
    expect(httpStatusOf('USAGE')).toBe(400);
    expect(httpStatusOf('LOCKED')).toBe(409);
    expect(httpStatusOf('PG_UNREACHABLE')).toBe(503);
    expect(httpStatusOf('INTERNAL')).toBe(500);
  });
});
