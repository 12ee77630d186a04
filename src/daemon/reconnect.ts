import net from 'node:net';

/**
 * Sync when the network returns. While Postgres cannot be reached the daemon backs off (5 s
 * doubling to 5 min), so a till whose internet came back after an hour waited up to five more
 * minutes. This watch knocks instead: every few seconds a TCP connect to the server (no login, no
 * query), and the first time it answers after it did not, `onBack` runs, and the daemon syncs at
 * once. It fires only on a comeback it saw: a server that answers TCP all along but still fails
 * (a wrong password, a silent proxy) is left to the backoff, so nothing retries in a loop.
 */
export class ReconnectWatch {
  private timer: NodeJS.Timeout | undefined;
  private sawDown = false;
  private probing = false;

  constructor(
    private readonly probe: () => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly onBack: () => void,
  ) {}

  /** Starts knocking (again); safe to call while running. */
  start(): void {
    if (this.timer) return;
    this.sawDown = false;
    this.timer = setInterval(() => void this.knock(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async knock(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const up = await this.probe();
      if (!up) this.sawDown = true;
      else if (this.sawDown && this.timer) {
        this.stop();
        this.onBack();
      }
    } finally {
      this.probing = false;
    }
  }
}

/**
 * A TCP connect to the host and port of a postgres:// URL, given up after `timeoutMs`. A Unix
 * socket (`host=/var/run/postgresql`) or a URL it cannot read counts as up: the backoff decides.
 */
export function tcpProbe(url: string, timeoutMs = 1_500): () => Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '') || 'localhost';
    port = Number(u.port || 5432);
    if (host.startsWith('/') || u.searchParams.get('host')?.startsWith('/')) return async () => true;
  } catch {
    return async () => true;
  }
  return () =>
    new Promise((resolve) => {
      const socket = net.connect({ host, port });
      const done = (up: boolean) => {
        socket.destroy();
        resolve(up);
      };
      socket.setTimeout(timeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
}
