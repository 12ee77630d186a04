import { createTask, type Logger, type ScheduledTask } from 'node-cron';
import type { Direction } from '../config/types.ts';
import { nextDelay } from './backoff.ts';
import type { DaemonEvent, Retry } from './events.ts';
import type { DaemonLog } from './log.ts';
import { failureOf, type RunOutcome } from './outcome.ts';

export interface SchedulerOptions {
  cron: string;
  direction: Direction;
  terminalId: string;
  /** One attempt (backup + sync). Must not throw: failures come back as an outcome. */
  runOnce: (signal: AbortSignal) => Promise<RunOutcome>;
  log: DaemonLog;
  random?: () => number;
  now?: () => number;
}

/**
 * The daemon loop: one run at start, then one per cron tick, never two at once in this process
 * (the `running` flag; a tick during a run is skipped and logged) nor across processes (runSync
 * takes the terminal lock; a tick that finds it taken is skipped and logged). After a failure,
 * ticks are skipped until the backoff delay has passed. stop() is safe to call twice.
 */
export class SyncScheduler {
  private readonly options: SchedulerOptions;
  private readonly controller = new AbortController();
  private task: ScheduledTask | undefined;
  private current: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private failures = 0;
  private notBefore = 0;

  constructor(options: SchedulerOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    const o = this.options;
    this.task = createTask(o.cron, () => void this.tick('schedule'), { name: 'possync', suppressMissedWarning: true, logger: quietLogger });
    await this.task.start();
    o.log({ event: 'start', at: this.iso(), pid: process.pid, terminalId: o.terminalId, direction: o.direction, cron: o.cron, nextRun: this.task.getNextRun()?.toISOString() ?? null });
    void this.tick('start');
  }

  /** Stops scheduling, aborts the current run between batches and waits for it to return. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.task?.destroy();
      this.controller.abort();
      await this.current;
    })();
    return this.stopping;
  }

  private async tick(trigger: 'start' | 'schedule'): Promise<void> {
    if (this.stopping) return;
    if (this.current) {
      this.options.log({ event: 'skip', at: this.iso(), reason: 'running', message: 'the previous run is still in progress' });
      return;
    }
    // Backing off: the failure line already said when the next attempt may start.
    if (this.now() < this.notBefore) return;
    const run = this.attempt(trigger);
    this.current = run;
    try {
      await run;
    } finally {
      this.current = undefined;
    }
  }

  private async attempt(trigger: 'start' | 'schedule'): Promise<void> {
    const o = this.options;
    const outcome = await o.runOnce(this.controller.signal);
    const aborted = this.controller.signal.aborted;
    if (outcome.kind === 'locked') {
      const who = outcome.holder ?? 'or the terminal database stayed busy';
      o.log({ event: 'skip', at: this.iso(), reason: 'locked', message: `another run holds the lock (${who})` });
      return;
    }
    const kind = failureOf(outcome, aborted);
    const retry: Retry = {};
    if (kind) {
      this.failures += 1;
      this.notBefore = this.now() + nextDelay(kind, this.failures, (o.random ?? Math.random)());
      retry.failure = { kind, consecutive: this.failures, retryAfter: new Date(this.notBefore).toISOString() };
    } else if (!aborted) {
      this.failures = 0;
      this.notBefore = 0;
    }
    o.log(outcome.kind === 'ran' ? runEvent(this.iso(), trigger, o.direction, outcome, aborted, retry) : {
      event: 'error', at: this.iso(), trigger, direction: o.direction, code: outcome.error.code, message: outcome.error.message,
      ...(outcome.error.hint ? { hint: outcome.error.hint } : {}), ...retry,
    });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}

function runEvent(at: string, trigger: 'start' | 'schedule', direction: Direction, outcome: Extract<RunOutcome, { kind: 'ran' }>, aborted: boolean, retry: Retry): DaemonEvent {
  const r = outcome.result;
  const sum = (f: (t: (typeof r.tables)[number]) => number) => r.tables.reduce((a, t) => a + f(t), 0);
  return {
    event: 'run',
    at,
    trigger,
    direction,
    runId: r.runId,
    status: aborted && r.status !== 'success' ? 'aborted' : r.status,
    applied: sum((t) => t.inserted + t.updated + t.deleted),
    conflicts: sum((t) => t.conflicts),
    waiting: sum((t) => t.deferred + t.rejected),
    failedTables: r.tables.filter((t) => t.status !== 'success').length,
    durationMs: r.durationMs,
    ...(r.error ? { error: r.error } : {}),
    ...(outcome.backup ? { backup: outcome.backup } : {}),
    ...retry,
  };
}

/** node-cron's own warnings would interleave free text with our log lines; we log what matters. */
const quietLogger: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
