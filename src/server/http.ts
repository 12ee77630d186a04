import type { FastifyInstance } from 'fastify';
import { onFirstUse } from '../util/on-first-use.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { SyncScheduler } from '../daemon/scheduler.ts';
import { PossyncError } from '../errors.ts';
import type { ListenAddress } from './address.ts';
import { bearerMatches } from './auth.ts';
import { errorBody } from './errors.ts';
import type { SyncMetrics } from './metrics.ts';
import type { ReadinessTracker } from './readiness.ts';
import { OPEN_PATHS, registerProbeRoutes } from './routes/probes.ts';
import { registerReadRoutes } from './routes/reads.ts';
import { registerSyncRoute } from './routes/sync.ts';

const fastify = onFirstUse<typeof import('fastify')>('fastify');

/** Limits: requests are tiny; every answer comes from this one till. */
export const API_LIMITS = {
  /** Largest request body (a sync request is a direction and a table list). */
  bodyBytes: 4 * 1024,
  /** Requests served at once, probes aside; more get 429 (a sync joins the run, it does not add one). */
  inFlight: 8,
  /** Open connections at once. */
  connections: 32,
  /** Time to receive a whole request (headers and body); the answer to POST /sync may take as long as the run. */
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
} as const;

export interface ControlServerOptions {
  config: ResolvedConfig;
  address: ListenAddress;
  /** Required on every request except the probes when set (always set off loopback). */
  token: string | undefined;
  scheduler: SyncScheduler;
  direction: 'push' | 'pull' | 'both';
  metrics: SyncMetrics;
  readiness: ReadinessTracker;
}

export interface ControlServer {
  /** `http://host:port` as bound (the port is real when 0 was asked). */
  url: string;
  /** Stops accepting, closes idle connections, waits for answers in flight. Safe to call twice. */
  close(): Promise<void>;
}

/** The daemon's control API (README "Control API"). Entered from the daemon command only. */
export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  const app: FastifyInstance = fastify().default({
    logger: false,
    bodyLimit: API_LIMITS.bodyBytes,
    requestTimeout: API_LIMITS.requestTimeoutMs,
    keepAliveTimeout: API_LIMITS.keepAliveTimeoutMs,
    forceCloseConnections: 'idle',
  });
  app.server.maxConnections = API_LIMITS.connections;

  let inFlight = 0;
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (OPEN_PATHS.has(path)) return;
    if (o.token !== undefined && !bearerMatches(req.headers.authorization, o.token)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="possync"').send(errorBody({ code: 'UNAUTHORIZED', message: 'a valid bearer token is required', hint: 'send Authorization: Bearer <POSSYNC_API_TOKEN>' }));
    }
    if (inFlight >= API_LIMITS.inFlight) return reply.code(429).header('retry-after', '1').send(errorBody({ code: 'BUSY', message: 'too many requests at once' }));
    inFlight += 1;
    // Counted down when the answer is out or the client went away, whichever comes first, once.
    let done = false;
    const release = () => {
      if (!done) inFlight -= 1;
      done = true;
    };
    reply.raw.once('close', release);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` })));
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    // Fastify's own refusals (body too large, malformed JSON, wrong content type) keep their status.
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(status).send(errorBody({ code: status === 500 ? 'INTERNAL' : (err.code ?? 'BAD_REQUEST'), message: err.message }));
  });

  registerProbeRoutes(app, o.readiness, o.metrics);
  registerReadRoutes(app, o.config);
  registerSyncRoute(app, o.config, o.scheduler, o.direction);

  try {
    await app.listen({ host: o.address.host, port: o.address.port });
  } catch (err) {
    await app.close().catch(() => {});
    throw new PossyncError('USAGE', `the control API cannot listen on ${o.address.host}:${o.address.port}: ${(err as Error).message}`, {
      hint: 'choose another port with --listen or listen in possync.config.json',
      cause: err,
    });
  }
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : o.address.port;
  const host = o.address.host.includes(':') ? `[${o.address.host}]` : o.address.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    close: () => (closing ??= app.close()),
  };
}
