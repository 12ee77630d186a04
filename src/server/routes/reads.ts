import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ResolvedConfig } from '../../config/types.ts';
import { readConflicts } from '../../engine/status/conflicts-report.ts';
import { readOpenConflicts } from '../../engine/manual/report.ts';
import { readHeld } from '../../engine/status/held-report.ts';
import { buildStatus } from '../../engine/status/report.ts';
import { readRunLog } from '../../engine/status/run-log-report.ts';
import { errorBody, sendError } from '../errors.ts';

const limitQuery = (fallback: number) => z.object({ limit: z.coerce.number().int().min(1).max(1000).default(fallback) }).strict();
const heldQuery = z.object({ all: z.enum(['true', 'false', '1', '0']).optional() }).strict();
const conflictsQuery = z
  .object({ log: z.enum(['true', 'false', '1', '0']).optional(), limit: z.coerce.number().int().min(1).max(1000).optional(), table: z.string().min(1).optional() })
  .strict();

/**
 * The read-only views, each the same JSON as the CLI's `--json` (they call the same functions):
 *   GET /status              possync status --json
 *   GET /logs?limit=N        possync logs --limit N --json   (default 20)
 *   GET /rejected?all=true   possync rejected [--all] --json
 *   GET /conflicts           possync conflicts --json: the open conflicts (conflict "manual"); ?table=
 *   GET /conflicts?log=true&limit=N   possync conflicts --log --json: recorded conflicts, newest
 *                            first (default 50), on both sides
 */
export function registerReadRoutes(app: FastifyInstance, config: ResolvedConfig): void {
  app.get('/status', async (_req, reply) => {
    try {
      return reply.send(await buildStatus(config));
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.get('/logs', async (req, reply) => {
    const q = limitQuery(20).safeParse(req.query);
    if (!q.success) return reply.code(400).send(errorBody({ code: 'USAGE', message: 'limit must be a whole number from 1 to 1000' }));
    try {
      return reply.send(readRunLog(config, q.data.limit));
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.get('/rejected', async (req, reply) => {
    const q = heldQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(errorBody({ code: 'USAGE', message: 'the only parameter is all=true|false' }));
    try {
      return reply.send(readHeld(config, { all: q.data.all === 'true' || q.data.all === '1' }));
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.get('/conflicts', async (req, reply) => {
    const q = conflictsQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(errorBody({ code: 'USAGE', message: 'parameters: log=true, limit (1 to 1000, with log), table' }));
    const log = q.data.log === 'true' || q.data.log === '1';
    if (!log && q.data.limit !== undefined) return reply.code(400).send(errorBody({ code: 'USAGE', message: 'limit goes with log=true' }));
    try {
      if (!log) return reply.send(readOpenConflicts(config, q.data.table));
      return reply.send(await readConflicts(config, q.data.limit ?? 50, { table: q.data.table }));
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
