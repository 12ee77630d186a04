import { afterEach, describe, expect, it } from 'vitest';
import type { DaemonEvent } from '../../src/daemon/events.ts';
import type { RunOutcome } from '../../src/daemon/outcome.ts';
import { SyncScheduler, type RunRequest, type Trigger } from '../../src/daemon/scheduler.ts';
import type { ProgressEvent } from '../../src/engine/context.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { noRetries } from '../../src/engine/retries.ts';

// runNow (the control API's POST /sync) with a fake run: it shares the scheduler's one slot.
const RARELY = '0 0 1 1 *';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ran(direction: RunRequest['direction']): RunOutcome {
  const now = new Date().toISOString();
  const result: RunResult = { runId: `r-${direction}`, terminalId: 't', direction, dryRun: false, startedAt: now, finishedAt: now, durationMs: 1, status: 'success', tables: [], retries: noRetries(), warnings: [] };
  return { kind: 'ran', result, backup: undefined };
}

describe('SyncScheduler.runNow', () => {
  let scheduler: SyncScheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
  });

  it('starts a run, and a second request joins it; progress reaches every listener; onOutcome sees each attempt once', async () => {
    const events: DaemonEvent[] = [];
    const outcomes: Array<[Trigger, RunRequest]> = [];
    let release!: () => void;
    let calls = 0;
    scheduler = new SyncScheduler({
      cron: RARELY,
      direction: 'both',
      terminalId: 't',
      log: (e) => events.push(e),
      onOutcome: (_o, trigger, request) => outcomes.push([trigger, request]),
      runOnce: async (_signal, request, onProgress) => {
        calls += 1;
        onProgress({ step: 'push', table: 'orders', rows: 1 });
        await new Promise<void>((r) => (release = r));
        onProgress({ step: 'push', table: 'orders', rows: 2 });
        return ran(request.direction);
      },
    });
    const first: ProgressEvent[] = [];
    const second: ProgressEvent[] = [];
    const a = scheduler.runNow({ direction: 'push', tables: ['orders'] }, (e) => first.push(e))!;
    await sleep(20);
    const b = scheduler.runNow({ direction: 'pull' }, (e) => second.push(e))!;
    expect([a.joined, b.joined]).toEqual([false, true]);
    release();
    const [oa, ob] = await Promise.all([a.outcome, b.outcome]);
    expect(calls).toBe(1);
    expect(ob).toBe(oa);
    expect(oa.kind === 'ran' && oa.result.direction).toBe('push');
    expect(first.map((e) => e.rows)).toEqual([1, 2]);
    expect(second.map((e) => e.rows)).toEqual([2]);
    expect(outcomes).toEqual([['api', { direction: 'push', tables: ['orders'] }]]);
    expect(events.filter((e) => e.event === 'run')).toEqual([expect.objectContaining({ trigger: 'api', direction: 'push' })]);

    // The slot is free again: the next request starts a new run.
    const c = scheduler.runNow({ direction: 'both' })!;
    expect(c.joined).toBe(false);
    await sleep(20); // runOnce has started and set `release` again
    release();
    expect((await c.outcome).kind).toBe('ran');
  });

  it('answers nothing once stopping', async () => {
    scheduler = new SyncScheduler({ cron: RARELY, direction: 'both', terminalId: 't', log: () => {}, runOnce: async (_s, r) => ran(r.direction) });
    await scheduler.stop();
    expect(scheduler.runNow({ direction: 'both' })).toBeUndefined();
  });
});
