import net from 'node:net';
import tls from 'node:tls';

/** The protocol's SSLRequest: length 8, then the magic code 1234.5679. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Asks the server whether it accepts TLS, the way every client opens a connection: an SSLRequest,
 * answered by one byte, 'S' or 'N'. sslmode=prefer needs this because pg, unlike libpq, does not
 * fall back to plaintext when the server says 'N'.
 *
 * After an 'S' the probe finishes the TLS handshake in the background (checking nothing: the real
 * connection does that) and then closes, because a server left waiting for a handshake logs "could
 * not accept SSL connection: EOF detected" on every run, while one closed after the handshake logs
 * nothing.
 *
 * Rejects when the server cannot be reached (refused, unknown host, no answer within the connect
 * bound), so the connect bound is spent once, here, and not again by pg. Any answer but 'N' counts
 * as yes: pg's own attempt at TLS then says what is wrong.
 */
export function serverAcceptsTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs / 1000} s (postgres.connectTimeoutSeconds): connection timeout expired`)), timeoutMs);
    socket.on('error', fail);
    socket.once('close', () => fail(new Error('Connection terminated by the server before it answered the request for TLS')));
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (d: Buffer) => {
      clearTimeout(timer);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      socket.on('error', () => socket.destroy());
      if (d[0] !== 0x53 /* S */) {
        socket.destroy();
        return resolve(d[0] !== 0x4e /* N */);
      }
      resolve(true);
      // SNI as pg sends it (never for an IP address), so proxies that route by name answer.
      const secure = tls.connect({ socket, rejectUnauthorized: false, ...(net.isIP(host) === 0 ? { servername: host } : {}) });
      // end() sends TLS close_notify once the handshake is through and lets the socket close.
      const drop = setTimeout(() => secure.destroy(), timeoutMs).unref();
      secure.once('secureConnect', () => secure.end());
      secure.on('error', () => secure.destroy());
      secure.once('close', () => clearTimeout(drop));
    });
  });
}
