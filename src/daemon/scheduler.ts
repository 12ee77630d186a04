import type { Logger, ScheduledTask } from 'node-cron';
import { onFirstUse } from '../util/on-first-use.ts';
import type { Direction } from '../config/types.ts';
import type { ProgressEvent } from '../engine/context.ts';
import { nextDelay } from './backoff.ts';
import type { DaemonEvent, Retry } from './events.ts';
import type { DaemonLog } from './log.ts';
import { failureOf, type RunOutcome } from './outcome.ts';
import { ReconnectWatch } from './reconnect.ts';

const nodeCron = onFirstUse<typeof import('node-cron')>('node-cron');

export type Trigger = 'start' | 'schedule' | 'api' | 'reconnect';

/** What to run: the daemon's direction and every table for ticks; the caller's choice for the API. */
export interface RunRequest {
  direction: Direction;
  tables?: string[] | undefined;
}

export interface SchedulerOptions {
  cron: string;
  direction: Direction;
  terminalId: string;
  /** One attempt (backup + sync). Must not throw: failures come back as an outcome. */
  runOnce: (signal: AbortSignal, request: RunRequest, onProgress: (event: ProgressEvent) => void) => Promise<RunOutcome>;
  log: DaemonLog;
  /** Called after every attempt, whatever started it (the metrics count runs here). Must not throw. */
  onOutcome?: (outcome: RunOutcome, trigger: Trigger, request: RunRequest) => void;
  /** Knock on Postgres while it cannot be reached, and sync as soon as it answers (reconnect.ts). */
  reconnect?: { probe: () => Promise<boolean>; intervalMs: number };
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
  /** The attempt in progress: its outcome, and who listens to its progress (API streams). */
  private current: { outcome: Promise<RunOutcome>; listeners: Set<(event: ProgressEvent) => void> } | undefined;
  private stopping: Promise<void> | undefined;
  private failures = 0;
  private notBefore = 0;
  private readonly watch: ReconnectWatch | undefined;

  constructor(options: SchedulerOptions) {
    this.options = options;
    const r = options.reconnect;
    this.watch = r && new ReconnectWatch(r.probe, r.intervalMs, () => this.tick('reconnect'));
  }

  async start(): Promise<void> {
    const o = this.options;
    this.task = nodeCron().createTask(o.cron, () => void this.tick('schedule'), { name: 'possync', suppressMissedWarning: true, logger: quietLogger });
    await this.task.start();
    o.log({ event: 'start', at: this.iso(), pid: process.pid, terminalId: o.terminalId, direction: o.direction, cron: o.cron, nextRun: this.task.getNextRun()?.toISOString() ?? null });
    void this.tick('start');
  }

  /** Stops scheduling, aborts the current run between batches and waits for it to return. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.task?.destroy();
      this.watch?.stop();
      this.controller.abort();
      await this.current?.outcome;
    })();
    return this.stopping;
  }

  /**
   * A run asked for now (the control API): it starts at once, also while backing off (someone
   * asked), or joins the attempt in progress and gets that attempt's outcome, whatever its
   * direction and tables. Never two at once: it goes through the same `current` slot as ticks.
   * Undefined once stopping. `onProgress` hears the progress of whichever attempt it gets.
   */
  runNow(request: RunRequest, onProgress?: (event: ProgressEvent) => void): { outcome: Promise<RunOutcome>; joined: boolean } | undefined {
    if (this.stopping) return undefined;
    const joined = this.current !== undefined;
    const current = this.current ?? this.begin('api', request);
    if (onProgress) {
      current.listeners.add(onProgress);
      void current.outcome.finally(() => current.listeners.delete(onProgress));
    }
    return { outcome: current.outcome, joined };
  }

  private tick(trigger: 'start' | 'schedule' | 'reconnect'): void {
    if (this.stopping) return;
    if (this.current) {
      this.options.log({ event: 'skip', at: this.iso(), reason: 'running', message: 'the previous run is still in progress' });
      return;
    }
    // Backing off: the failure line already said when the next attempt may start. Postgres
    // answering again ends the wait: the reason for it is gone.
    if (trigger !== 'reconnect' && this.now() < this.notBefore) return;
    this.begin(trigger, { direction: this.options.direction });
  }

  /** Claims the `current` slot synchronously (so nothing can start in between) until the attempt ends. */
  private begin(trigger: Trigger, request: RunRequest): NonNullable<SyncScheduler['current']> {
    const listeners = new Set<(event: ProgressEvent) => void>();
    const fanOut = (event: ProgressEvent) => {
      for (const l of listeners) l(event);
    };
    const outcome = this.attempt(trigger, request, fanOut);
    const current = { outcome, listeners };
    this.current = current;
    void outcome.finally(() => {
      if (this.current === current) this.current = undefined;
    });
    return current;
  }

  private async attempt(trigger: Trigger, request: RunRequest, onProgress: (event: ProgressEvent) => void): Promise<RunOutcome> {
    const o = this.options;
    // Yield once so begin() has set `current` before the attempt can possibly finish.
    await Promise.resolve();
    const outcome = await o.runOnce(this.controller.signal, request, onProgress);
    const aborted = this.controller.signal.aborted;
    try {
      o.onOutcome?.(outcome, trigger, request);
    } catch {
      // Metrics must never stop the daemon.
    }
    if (outcome.kind === 'locked') {
      const who = outcome.holder ?? 'or the terminal database stayed busy';
      o.log({ event: 'skip', at: this.iso(), reason: 'locked', message: `another run holds the lock (${who})` });
      return outcome;
    }
    const kind = failureOf(outcome, aborted);
    const retry: Retry = {};
    // Postgres gone: knock until it answers. Not after a run the knock itself started, so a server
    // that answers TCP but keeps failing goes back to the plain backoff.
    if (lostPostgres(outcome) && trigger !== 'reconnect') this.watch?.start();
    else this.watch?.stop();
    if (kind) {
      this.failures += 1;
      this.notBefore = this.now() + nextDelay(kind, this.failures, (o.random ?? Math.random)());
      retry.failure = { kind, consecutive: this.failures, retryAfter: new Date(this.notBefore).toISOString() };
    } else if (!aborted) {
      this.failures = 0;
      this.notBefore = 0;
    }
    o.log(outcome.kind === 'ran' ? runEvent(this.iso(), trigger, request.direction, outcome, aborted, retry) : {
      event: 'error', at: this.iso(), trigger, direction: request.direction, code: outcome.error.code, message: outcome.error.message,
      ...(outcome.error.hint ? { hint: outcome.error.hint } : {}), ...retry,
    });
    return outcome;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}

/** The attempt could not reach Postgres, or lost it mid-run. */
function lostPostgres(outcome: RunOutcome): boolean {
  const code = outcome.kind === 'error' ? outcome.error.code : outcome.kind === 'ran' ? outcome.result.errorCode : undefined;
  return code === 'PG_UNREACHABLE' || code === 'TIMEOUT';
}

function runEvent(at: string, trigger: Trigger, direction: Direction, outcome: Extract<RunOutcome, { kind: 'ran' }>, aborted: boolean, retry: Retry): DaemonEvent {
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
