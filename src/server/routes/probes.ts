import type { FastifyInstance } from 'fastify';
import type { ReadinessTracker } from '../readiness.ts';
import type { SyncMetrics } from '../metrics.ts';

/** Paths answered without the bearer token: they say whether the daemon works, nothing about data. */
export const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export function registerProbeRoutes(app: FastifyInstance, readiness: ReadinessTracker, metrics: SyncMetrics): void {
  // Liveness: the process answers HTTP, so its event loop turns.
  app.get('/healthz', async () => ({ ok: true, pid: process.pid, uptimeSeconds: Math.round(process.uptime()) }));
  app.get('/readyz', async (_req, reply) => {
    const r = await readiness.check();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.contentType).send(await metrics.render()));
}
