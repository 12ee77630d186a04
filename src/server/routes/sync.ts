import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { selectTables } from '../../config/select-tables.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import type { RunOutcome } from '../../daemon/outcome.ts';
import type { SyncScheduler } from '../../daemon/scheduler.ts';
import type { ProgressEvent } from '../../engine/context.ts';
import { PossyncError } from '../../errors.ts';
import { errorBody, httpStatusOf, sendError, type ApiError } from '../errors.ts';

const syncBody = z
  .object({
    direction: z.enum(['push', 'pull', 'both']).optional(),
    tables: z.array(z.string().min(1).max(128)).min(1).max(200).optional(),
  })
  .strict();

/**
 * POST /sync {"direction": "push"|"pull"|"both", "tables": [...]}: a run now, through the
 * daemon's scheduler, so it never overlaps a scheduled run. If a run is going it joins it and
 * answers with that run's result (header `possync-joined: true`), whatever that run's direction.
 * The answer is the run result, the same JSON as `possync trigger --json` (HTTP 200, whatever the
 * run's status); a run that could not start is an error body with the code (409 LOCKED when
 * another process holds the terminal, 503 when a database cannot be reached).
 * With `Accept: text/event-stream` it streams `progress` events, then one `result` (or `error`).
 */
export function registerSyncRoute(app: FastifyInstance, config: ResolvedConfig, scheduler: SyncScheduler, defaultDirection: 'push' | 'pull' | 'both'): void {
  app.post('/sync', async (req, reply) => {
    const body = syncBody.safeParse(req.body ?? {});
    if (!body.success) {
      const why = body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return reply.code(400).send(errorBody({ code: 'USAGE', message: `invalid sync request: ${why}`, hint: 'send {"direction": "push"|"pull"|"both", "tables": ["name", ...]}; both are optional' }));
    }
    let tables: string[] | undefined;
    try {
      tables = selectTables(config, body.data.tables, 'tables');
    } catch (err) {
      return sendError(reply, err);
    }
    const request = { direction: body.data.direction ?? defaultDirection, tables };
    if (wantsStream(req)) return stream(reply, scheduler, request);
    const run = scheduler.runNow(request);
    if (!run) return reply.code(503).send(stopping());
    const outcome = await run.outcome;
    reply.header('possync-joined', String(run.joined));
    const answer = answerOf(outcome);
    return reply.code(answer.status).send(answer.body);
  });
}

function wantsStream(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').split(',').some((t) => t.trim().split(';')[0] === 'text/event-stream');
}

function stopping(): ApiError {
  return errorBody({ code: 'ABORTED', message: 'the daemon is stopping' });
}

function answerOf(outcome: RunOutcome): { status: number; body: unknown } {
  if (outcome.kind === 'ran') return { status: 200, body: outcome.result };
  if (outcome.kind === 'locked') {
    return { status: 409, body: errorBody(new PossyncError('LOCKED', `another run holds this terminal's lock${outcome.holder ? ` (${outcome.holder})` : ''}`, { hint: 'try again when it has finished' })) };
  }
  return { status: httpStatusOf(outcome.error.code), body: errorBody(outcome.error) };
}

/** Server-sent events: `progress` (the engine's onProgress events), then `result` or `error`. */
async function stream(reply: FastifyReply, scheduler: SyncScheduler, request: { direction: 'push' | 'pull' | 'both'; tables: string[] | undefined }): Promise<void> {
  const res = reply.raw;
  const send = (event: string, data: unknown) => {
    if (!res.writableEnded && !res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const onProgress = (e: ProgressEvent) => send('progress', e);
  const run = scheduler.runNow(request, onProgress);
  if (!run) {
    await reply.code(503).send(stopping());
    return;
  }
  reply.hijack();
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'possync-joined': String(run.joined) });
  send('start', { joined: run.joined });
  const outcome = await run.outcome;
  const answer = answerOf(outcome);
  send(answer.status === 200 ? 'result' : 'error', answer.body);
  res.end();
}
