import net from 'node:net';
import tls from 'node:tls';

/** The protocol's SSLRequest: length 8, then the magic code 1234.5679. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Asks the server whether it accepts TLS, the way every client opens a connection: an SSLRequest,
 * answered by one byte, 'S' or 'N'. sslmode=prefer needs this because pg, unlike libpq, does not
 * fall back to plaintext when the server says 'N'.
 *
 * After an 'S' the probe finishes the TLS handshake (checking nothing: the real connection does
 * that) and then closes, because a server left waiting for a handshake logs "could not accept SSL
 * connection: EOF detected" on every run, while one closed after the handshake logs nothing.
 * Undefined when there is no answer (refused, timed out): the real connection then says why.
 */
export function serverAcceptsTls(host: string, port: number, timeoutMs: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answer: boolean | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (d: Buffer) => {
      if (d[0] !== 0x53 /* S */) return done(d[0] === 0x4e /* N */ ? false : undefined);
      clearTimeout(timer);
      resolve(true);
      // SNI as pg sends it (never for an IP address), so proxies that route by name answer.
      const secure = tls.connect({ socket, rejectUnauthorized: false, ...(net.isIP(host) === 0 ? { servername: host } : {}) });
      // end() sends TLS close_notify once the handshake is through and lets the socket close.
      const drop = setTimeout(() => secure.destroy(), timeoutMs).unref();
      secure.once('secureConnect', () => secure.end());
      secure.once('error', () => secure.destroy());
      secure.once('close', () => clearTimeout(drop));
    });
  });
}
