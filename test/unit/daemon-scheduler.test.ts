import { afterEach, describe, expect, it } from 'vitest';
import type { DaemonEvent } from '../../src/daemon/events.ts';
import type { RunOutcome } from '../../src/daemon/outcome.ts';
import { SyncScheduler } from '../../src/daemon/scheduler.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { noRetries } from '../../src/engine/retries.ts';
import { PossyncError } from '../../src/errors.ts';

// The loop with a fake run (no database): what matters here is the order of events, so every
// assertion is about ordering and lower bounds, never exact times (a loaded CI box is slow).
const EVERY_SECOND = '*/1 * * * * *';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function result(status: RunResult['status'] = 'success'): RunResult {
  const now = new Date().toISOString();
  return { runId: 'r', terminalId: 't', direction: 'both', dryRun: false, startedAt: now, finishedAt: now, durationMs: 1, status, tables: [], retries: noRetries(), warnings: [] };
}

async function waitFor(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}

describe('SyncScheduler', () => {
  let scheduler: SyncScheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
  });

  function start(runOnce: (signal: AbortSignal) => Promise<RunOutcome>, random = () => 0) {
    const events: DaemonEvent[] = [];
    scheduler = new SyncScheduler({ cron: EVERY_SECOND, direction: 'both', terminalId: 't', runOnce, log: (e) => events.push(e), random });
    void scheduler.start();
    return events;
  }

  it('runs once at start, then on the schedule, and never two runs at once', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const events = start(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(1_600); // longer than a tick
      active--;
      runs++;
      return { kind: 'ran', result: result(), backup: undefined };
    });
    await waitFor(() => runs >= 2 && events.some((e) => e.event === 'skip'));
    expect(maxActive).toBe(1);
    expect(events[0]!.event).toBe('start');
    const first = events.find((e) => e.event === 'run');
    expect(first && first.event === 'run' && first.trigger).toBe('start');
    const skip = events.find((e) => e.event === 'skip');
    expect(skip && skip.event === 'skip' && skip.reason).toBe('running');
  });

  it('skips ticks until the backoff delay has passed after a failure, and resets after a success', async () => {
    const attempts: number[] = [];
    const events = start(async () => {
      attempts.push(Date.now());
      if (attempts.length <= 2) return { kind: 'error', error: new PossyncError('PG_UNREACHABLE', 'cannot reach PostgreSQL at postgresql://x') };
      return { kind: 'ran', result: result(), backup: undefined };
    });
    await waitFor(() => attempts.length >= 4, 30_000);
    // random = 0: the first unreachable failure waits 2.5 s, the second 5 s (ticks come every second).
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(2_500);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(5_000);
    const errors = events.filter((e) => e.event === 'error');
    expect(errors.map((e) => e.event === 'error' && e.failure?.consecutive)).toEqual([1, 2]);
    expect(errors.every((e) => e.event === 'error' && e.failure?.kind === 'unreachable')).toBe(true);
    const runs = events.filter((e) => e.event === 'run');
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.every((e) => e.event === 'run' && e.failure === undefined)).toBe(true);
  }, 60_000);

  it('a run that finds the terminal locked is skipped and logged, not counted as a failure', async () => {
    let n = 0;
    const events = start(async () => {
      n++;
      return n === 1 ? { kind: 'locked', holder: 'sync both, pid 42 on host, since 2026-11-24T00:00:00Z' } : { kind: 'ran', result: result(), backup: undefined };
    });
    await waitFor(() => events.some((e) => e.event === 'run'));
    const skip = events.find((e) => e.event === 'skip');
    expect(skip && skip.event === 'skip' && skip.reason).toBe('locked');
    expect(skip && skip.event === 'skip' && skip.message).toContain('another run holds the lock');
    expect(skip && skip.event === 'skip' && skip.message).toContain('pid 42');
  });

  it('stop() aborts the current run, waits for it, and schedules nothing after; a second stop() is harmless', async () => {
    let sawAbort = false;
    let runs = 0;
    const events = start(async (signal) => {
      runs++;
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      sawAbort = true;
      return { kind: 'ran', result: result('failed'), backup: undefined };
    });
    await waitFor(() => runs === 1);
    await Promise.all([scheduler!.stop(), scheduler!.stop()]);
    expect(sawAbort).toBe(true);
    const run = events.find((e) => e.event === 'run');
    expect(run && run.event === 'run' && run.status).toBe('aborted');
    expect(run && run.event === 'run' && run.failure).toBeUndefined();
    await sleep(1_500);
    expect(runs).toBe(1);
  });
});
