import net from 'node:net';
import { PossyncError } from '../errors.ts';

export interface ListenAddress {
  host: string;
  port: number;
  /** Only this machine can connect: 127.0.0.0/8, ::1 or localhost. 0.0.0.0 and :: are not. */
  loopback: boolean;
}

const HINT = 'use host:port, e.g. --listen 127.0.0.1:7070 (or [::1]:7070); a bare port means 127.0.0.1; port 0 picks a free one';

/** `127.0.0.1:7070`, `[::1]:7070`, `0.0.0.0:7070` or `7070` (loopback). Usage error otherwise. */
export function parseListen(text: string): ListenAddress {
  const s = text.trim();
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s) ?? (/^\d+$/.test(s) ? [s, undefined, '127.0.0.1', s] : null);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || host === '' || !(port >= 0 && port <= 65535) || (host !== 'localhost' && net.isIP(host) === 0)) {
    throw new PossyncError('USAGE', `invalid listen address "${text}"`, { hint: HINT });
  }
  return { host, port, loopback: isLoopback(host) };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  // IPv4-mapped loopback (::ffff:127.0.0.1).
  return /^::ffff:127\./i.test(host);
}
