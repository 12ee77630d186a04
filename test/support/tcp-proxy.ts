import net from 'node:net';

export type ProxyMode = 'pass' | 'silent' | 'refuse';
export type Flow = 'toServer' | 'toClient';

/**
 * A TCP proxy in the test process between possync and a real Postgres, to fail the link the way
 * shops do, at a chosen point of a run:
 * - `silent()`: packets stop, sockets stay open. Data from either side is read and dropped, as a
 *   router that black-holes a link does; new connections are accepted and hear nothing.
 * - `reset()`: every open connection is reset (RST), as a dropped Wi-Fi or a NAT that forgot the
 *   flow; `refuse` mode then resets new connections too.
 * - `when(flow, bytes, fn)`: runs `fn` once, as soon as `bytes` more have crossed in that
 *   direction, so a test can fail the link mid-COPY or mid-fetch rather than between statements.
 */
export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  mode: ProxyMode;
  silent(): void;
  reset(): void;
  heal(): void;
  when(flow: Flow, bytes: number, fn: () => void): void;
  bytes: Record<Flow, number>;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  // Every socket still open, also the half of a pair whose other half closed while silent.
  const open = new Set<net.Socket>();
  const watches: Array<{ flow: Flow; at: number; fn: () => void }> = [];
  const bytes: Record<Flow, number> = { toServer: 0, toClient: 0 };
  let mode: ProxyMode = 'pass';
  let accepted = 0;

  const count = (flow: Flow, n: number) => {
    bytes[flow] += n;
    for (const w of [...watches]) {
      if (w.flow === flow && bytes[flow] >= w.at) {
        watches.splice(watches.indexOf(w), 1);
        w.fn();
      }
    }
  };

  const server = net.createServer((client) => {
    accepted++;
    client.on('error', () => {});
    open.add(client);
    client.on('close', () => open.delete(client));
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    upstream.on('error', () => {});
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    const pair = { client, server: upstream };
    pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket, flow: Flow) => {
      from.on('data', (chunk: Buffer) => {
        if (mode !== 'pass') return; // silent: read and dropped
        count(flow, chunk.length);
        if (!to.destroyed) to.write(chunk);
      });
      from.on('close', () => {
        pairs.delete(pair);
        // A close while silent is not passed on: the other side must learn nothing.
        if (mode === 'pass') to.destroy();
      });
    };
    forward(client, upstream, 'toServer');
    forward(upstream, client, 'toClient');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const proxy: TcpProxy = {
    port,
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    get mode() {
      return mode;
    },
    set mode(m: ProxyMode) {
      mode = m;
    },
    silent() {
      mode = 'silent';
    },
    reset() {
      mode = 'refuse';
      for (const p of pairs) {
        p.client.resetAndDestroy();
        p.server.resetAndDestroy();
      }
      pairs.clear();
    },
    heal() {
      mode = 'pass';
    },
    when(flow, n, fn) {
      watches.push({ flow, at: bytes[flow] + n, fn });
    },
    bytes,
    get accepted() {
      return accepted;
    },
    async close() {
      for (const socket of open) socket.destroy();
      open.clear();
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
