import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { onFirstUse } from '../util/on-first-use.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { RunOutcome } from '../daemon/outcome.ts';
import type { RunResult } from '../engine/result.ts';
import { buildStatus, type StatusReport } from '../engine/status/report.ts';
import { countConflictOutcomes } from './conflict-outcomes.ts';

/** Gauges read at scrape time are reused for this long, so several scrapers cost one read. */
const GAUGE_CACHE_MS = 5_000;

const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * The daemon's Prometheus metrics (GET /metrics; README "Metrics" lists every one).
 *   counters and the histogram: updated from every attempt's outcome, scheduled or API-triggered
 *     (recordOutcome, called by the scheduler); they start at zero when the daemon starts.
 *   gauges: read at scrape time from the terminal database and the cloud (the same reads as
 *     `possync status`), so they are right also after a restart or a manual `possync trigger`.
 */
// The daemon alone has metrics: one-shot commands never load prom-client.
const promClient = onFirstUse<typeof import('prom-client')>('prom-client');

export class SyncMetrics {
  readonly registry: Registry;
  private readonly config: ResolvedConfig;
  private gaugesAt = 0;
  private refreshing: Promise<void> | undefined;

  private readonly runs: Counter<'direction' | 'status'>;
  private readonly pushed: Counter<'table'>;
  private readonly pulled: Counter<'table'>;
  private readonly conflicts: Counter<'table' | 'step' | 'outcome'>;
  private readonly failures: Counter<'code' | 'table'>;
  private readonly retries: Counter<'step'>;
  private readonly retryCauses: Counter<'cause'>;
  private readonly duration: Histogram<'direction'>;
  private readonly lastSuccess: Gauge<'step'>;
  private readonly held: Gauge<'kind' | 'step'>;
  private readonly pending: Gauge<'table'>;
  private readonly unpulledAge: Gauge<'table'>;
  private readonly fenceLag: Gauge<'table'>;
  private readonly fenceHeld: Gauge;
  private readonly cloudReachable: Gauge;

  constructor(config: ResolvedConfig) {
    const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = promClient();
    this.config = config;
    this.registry = new Registry();
    const registers = [this.registry];
    this.runs = new Counter({ name: 'possync_runs_total', help: 'Sync attempts by direction and outcome (success, partial, failed, aborted; error: could not start; locked: another process held the terminal)', labelNames: ['direction', 'status'], registers });
    this.pushed = new Counter({ name: 'possync_rows_pushed_total', help: 'Rows written to Postgres by pushes (inserted + updated + deleted), by table', labelNames: ['table'], registers });
    this.pulled = new Counter({ name: 'possync_rows_pulled_total', help: 'Rows written to the terminal database by pulls (inserted + updated + deleted), by table', labelNames: ['table'], registers });
    this.conflicts = new Counter({ name: 'possync_conflicts_total', help: 'Conflicts recorded, by table, step and outcome (the side that won: local, server; unknown when the record was pruned)', labelNames: ['table', 'step', 'outcome'], registers });
    this.failures = new Counter({ name: 'possync_failures_total', help: 'Failures by error code: runs that stopped or could not start (table=""), and tables that failed within a run', labelNames: ['code', 'table'], registers });
    this.retries = new Counter({ name: 'possync_retries_total', help: 'Push batches and pulls redone after a deadlock, a serialization failure or a lock wait past lockTimeoutSeconds, by step', labelNames: ['step'], registers });
    this.retryCauses = new Counter({ name: 'possync_retry_causes_total', help: 'The same retries by cause (deadlock, serialization, lock_timeout)', labelNames: ['cause'], registers });
    this.duration = new Histogram({ name: 'possync_run_duration_seconds', help: 'Duration of sync runs that started, by direction', labelNames: ['direction'], buckets: DURATION_BUCKETS, registers });
    this.lastSuccess = new Gauge({ name: 'possync_last_success_timestamp_seconds', help: 'Unix time of the last successful run that included the step (push, pull); absent before the first', labelNames: ['step'], registers });
    this.held = new Gauge({ name: 'possync_held_rows', help: 'Rows held back on this terminal, by kind (deferred: waiting for a parent; rejected: refused) and step', labelNames: ['kind', 'step'], registers });
    this.pending = new Gauge({ name: 'possync_pending_local_changes', help: 'Local changes captured and not pushed yet, by table', labelNames: ['table'], registers });
    this.unpulledAge = new Gauge({ name: 'possync_pull_lag_seconds', help: 'Age of the oldest cloud change this terminal has not pulled yet, by table (0: none); absent when unknown', labelNames: ['table'], registers });
    this.fenceLag = new Gauge({ name: 'possync_pull_fence_lag_transactions', help: 'Writing transactions of others that changed the table since this terminal\'s pull checkpoint; absent when unknown', labelNames: ['table'], registers });
    this.fenceHeld = new Gauge({ name: 'possync_pull_fence_held_seconds', help: 'How long the open transaction holding back the server\'s pull fence has been open (0: none); absent when the cloud is unreachable', registers });
    this.cloudReachable = new Gauge({ name: 'possync_cloud_reachable', help: '1 when Postgres answered the last scrape\'s status read, else 0', registers });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one attempt (the scheduler's onOutcome). Never throws. */
  recordOutcome(outcome: RunOutcome, direction: string): void {
    if (outcome.kind === 'locked') {
      this.runs.inc({ direction, status: 'locked' });
      return;
    }
    if (outcome.kind === 'error') {
      this.runs.inc({ direction, status: 'error' });
      this.failures.inc({ code: outcome.error.code, table: '' });
      return;
    }
    this.recordResult(outcome.result);
  }

  recordResult(r: RunResult): void {
    if (r.dryRun) return;
    const aborted = r.errorCode === 'ABORTED';
    this.runs.inc({ direction: r.direction, status: aborted ? 'aborted' : r.status });
    this.duration.observe({ direction: r.direction }, r.durationMs / 1000);
    if (r.errorCode && !aborted) this.failures.inc({ code: r.errorCode, table: '' });
    for (const t of r.tables) {
      const rows = t.inserted + t.updated + t.deleted;
      (t.step === 'push' ? this.pushed : this.pulled).inc({ table: t.table }, rows);
      if (t.status === 'error') this.failures.inc({ code: t.errorCode ?? 'SYNC_FAILED', table: t.table });
    }
    for (const step of ['push', 'pull'] as const) if (r.retries[step] > 0) this.retries.inc({ step }, r.retries[step]);
    for (const [cause, n] of [['deadlock', r.retries.deadlock], ['serialization', r.retries.serialization], ['lock_timeout', r.retries.lockTimeout]] as const) if (n > 0) this.retryCauses.inc({ cause }, n);
    if (r.tables.some((t) => t.conflicts > 0)) {
      // Who won is in the conflict records, not the result: read back after the run (only then).
      void countConflictOutcomes(this.config, r)
        .then((counts) => {
          for (const c of counts) this.conflicts.inc({ table: c.table, step: c.step, outcome: c.outcome }, c.count);
        })
        .catch(() => {
          for (const t of r.tables) if (t.conflicts > 0) this.conflicts.inc({ table: t.table, step: t.step, outcome: 'unknown' }, t.conflicts);
        });
    }
  }

  /** The exposition text, with the scrape-time gauges refreshed first. */
  async render(): Promise<string> {
    await this.refreshGauges();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private refreshGauges(): Promise<void> {
    if (Date.now() - this.gaugesAt < GAUGE_CACHE_MS) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        this.setGauges(await buildStatus(this.config));
      } catch {
        // The terminal database cannot be opened: the counters still go out; the gauges are dropped
        // rather than left stale.
        for (const g of [this.lastSuccess, this.held, this.pending, this.unpulledAge, this.fenceLag, this.fenceHeld]) g.reset();
        this.cloudReachable.set(0);
      } finally {
        this.gaugesAt = Date.now();
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private setGauges(s: StatusReport): void {
    this.lastSuccess.reset();
    for (const step of ['push', 'pull'] as const) {
      const run = s.lastSuccess[step];
      if (run) this.lastSuccess.set({ step }, Date.parse(run.finishedAt ?? run.startedAt) / 1000);
    }
    this.held.reset();
    for (const kind of ['deferred', 'rejected'] as const) for (const step of ['push', 'pull'] as const) this.held.set({ kind, step }, s.held.filter((h) => h.kind === kind && h.side === step).length);
    this.pending.reset();
    this.unpulledAge.reset();
    this.fenceLag.reset();
    for (const t of s.tables) {
      if (t.direction !== 'pull') this.pending.set({ table: t.table }, t.pendingPush);
      if (t.fenceLag) {
        this.fenceLag.set({ table: t.table }, t.fenceLag.transactions);
        this.unpulledAge.set({ table: t.table }, t.fenceLag.oldestChangeAgeSeconds ?? 0);
      }
    }
    this.fenceHeld.reset();
    this.cloudReachable.set(s.cloud.reachable ? 1 : 0);
    if (s.cloud.reachable) this.fenceHeld.set(s.cloud.currentFence.heldBy?.ageSeconds ?? 0);
  }
}
