import type { Direction } from '../config/types.ts';
import type { RunStatus, Step } from '../engine/result.ts';
import type { FailureKind } from './backoff.ts';

/**
 * Everything the daemon reports, one line each: human text or JSON lines (--log-format json).
 * `at` is an ISO UTC timestamp.
 */
export type DaemonEvent =
  | { event: 'start'; at: string; pid: number; terminalId: string; direction: Direction; cron: string; nextRun: string | null }
  | ({ event: 'run'; at: string; trigger: 'start' | 'schedule' | 'api' | 'reconnect'; direction: Direction; runId: string; status: RunStatus | 'aborted';
      applied: number; conflicts: number; waiting: number; failedTables: number; durationMs: number; error?: string; backup?: string } & Retry)
  | ({ event: 'error'; at: string; trigger: 'start' | 'schedule' | 'api' | 'reconnect'; direction: Direction; code: string; message: string; hint?: string } & Retry)
  | { event: 'skip'; at: string; reason: 'running' | 'locked'; message: string }
  | { event: 'progress'; at: string; step: Step; table: string; rows: number; total: number }
  | { event: 'listen'; at: string; url: string; token: boolean }
  | { event: 'stop'; at: string; signal: string | null; forced: boolean };

/** Present when the attempt failed: how many in a row, of what kind, and when the next may start. */
export interface Retry {
  failure?: { kind: FailureKind; consecutive: number; retryAfter: string };
}
