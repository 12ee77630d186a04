import type { FastifyReply } from 'fastify';
import type { PossyncError } from '../errors.ts';
import { asPossyncError } from '../daemon/outcome.ts';

/** The JSON body of every API error: the same code, message and hint the CLI prints. */
export interface ApiError {
  error: { code: string; message: string; hint?: string };
}

export function errorBody(e: PossyncError | { code: string; message: string; hint?: string | undefined }): ApiError {
  return { error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } };
}

/** HTTP status for a PossyncError: the CLI's exit-code classes, as HTTP says them. */
export function httpStatusOf(code: string): number {
  switch (code) {
    case 'USAGE':
    case 'CONFIG_INVALID':
    case 'CONFIG_NOT_FOUND':
      return 400;
    case 'LOCKED':
    case 'BLOCKED':
      return 409;
    case 'PG_UNREACHABLE':
    case 'SQLITE_UNREACHABLE':
    case 'TIMEOUT':
    case 'DISK_FULL':
      return 503;
    default:
      return 500;
  }
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = asPossyncError(err);
  return reply.code(httpStatusOf(e.code)).send(errorBody(e));
}
