import { Option, type Command } from 'commander';
import type { Direction } from '../../config/types.ts';
import { validateCron } from '../../daemon/cron.ts';
import { createDaemonLog, type LogFormat } from '../../daemon/log.ts';
import { attemptRun } from '../../daemon/run-once.ts';
import { tcpProbe } from '../../daemon/reconnect.ts';
import { progressLogger } from '../../daemon/progress-log.ts';
import type { ProgressEvent } from '../../engine/context.ts';
import { SyncScheduler } from '../../daemon/scheduler.ts';
import { onStopSignal } from '../../util/cleanup.ts';
import { parseListen } from '../../server/address.ts';
import { resolveToken } from '../../server/auth.ts';
import { startControlServer } from '../../server/http.ts';
import { SyncMetrics } from '../../server/metrics.ts';
import { ReadinessTracker } from '../../server/readiness.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { STEP_ARROW } from '../arrows.ts';
import { backupFromFlags, withBackupOptions, type BackupFlags } from '../backup-options.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';

interface DaemonFlags extends ConfigFlags, BackupFlags {
  direction: Direction;
  cron?: string;
  listen?: string;
  logFormat: LogFormat;
}

/**
 * How long a stop may take before the process exits anyway. Below systemd's TimeoutStopSec and
 * the 10 s promised in --help; exiting mid-batch is safe because a batch commits whole or not at
 * all (the open transactions roll back when the connections close).
 */
const STOP_TIMEOUT_MS = 8_000;

/** How often the daemon knocks on an unreachable Postgres (a TCP connect, not a sync). */
const RECONNECT_PROBE_MS = 2_000;

export function registerDaemon(program: Command): void {
  withBackupOptions(
    withConfigOptions(
      program
        .command('daemon')
        .summary('sync on a schedule until stopped')
        .description(
          'Run as a long-lived service: sync once at start, then on every tick of the cron schedule, logging one line per run. ' +
            'It never runs two syncs at once on a terminal: a tick that comes while a run is still going, or while another process ' +
            '(a second daemon, a manual `possync trigger`) holds the terminal lock, is skipped and logged.\n\n' +
            'Failed runs back off exponentially with jitter, and ticks are skipped until the delay has passed: ' +
            'from 5 s up to 5 min when the cause clears by itself (a database that cannot be reached or stopped answering, a lock another program holds), from 30 s up to 30 min for other failures.\n\n' +
            'With --listen (or listen in the config) it also serves a control API and Prometheus metrics: POST /sync runs now or joins the run in progress ' +
            '(never overlapping a scheduled one), GET /status, /logs, /rejected, /conflicts answer the same JSON as the CLI, /metrics, /healthz, /readyz. ' +
            'Loopback needs no token; any other address requires POSSYNC_API_TOKEN or apiTokenFile.\n\n' +
            'SIGTERM or Ctrl-C stops scheduling, aborts the current run between batches (a batch commits whole or not at all, ' +
            'so no checkpoint is half written) and exits 0 within 10 s. A second Ctrl-C exits at once.\n\n' +
            `  push  = ${STEP_ARROW.push}\n  pull  = ${STEP_ARROW.pull}\n  both  = push, then pull`,
        )
        .addOption(new Option('-d, --direction <direction>', 'push, pull or both').choices(['push', 'pull', 'both']).default('both'))
        .option('--cron <expression>', 'schedule (overrides cron / SYNC_CRON); 5 fields, or 6 with seconds first')
        .addOption(new Option('--log-format <format>', 'human lines or JSON lines').choices(['human', 'json']).default('human'))
        .option('--listen <host:port>', 'serve the control API and /metrics here (overrides listen), e.g. 127.0.0.1:7070; other than loopback needs POSSYNC_API_TOKEN'),
    ),
  )
    .addHelpText(
      'after',
      `
Schedule (node-cron syntax, machine-local time):
  */5 * * * *        every five minutes
  0 * * * *          every hour, on the hour
  */30 * * * * *     every 30 seconds (six fields: seconds first)

Examples:
  $ possync daemon                                   uses cron from the config or SYNC_CRON
  $ possync daemon --cron '*/2 * * * *' --backup --backup-keep 10
  $ possync daemon --log-format json | tee -a /var/log/possync.jsonl
  $ possync daemon --listen 127.0.0.1:7070          control API: curl -X POST 127.0.0.1:7070/sync

Exit codes: 0 stopped by SIGTERM/SIGINT, 2 usage or config error (including an invalid or
missing cron expression, a --listen address other than loopback without a token, or a port
already taken). Runs that fail while the daemon is up are logged and retried;
they do not stop it.`,
    )
    .action(async (flags: DaemonFlags) => {
      const config = configFromFlags(flags);
      const cron = validateCron(flags.cron ?? config.cron);
      const backup = backupFromFlags(flags);
      const log = createDaemonLog(flags.logFormat);
      // Checked before anything runs: a bad address or a missing token is a usage error (exit 2).
      const api = apiSettings(config, flags.listen);
      const observers = api ? { metrics: new SyncMetrics(config), readiness: new ReadinessTracker(config) } : undefined;
      const scheduler = new SyncScheduler({
        cron,
        direction: flags.direction,
        terminalId: config.terminalId,
        // Progress goes to the log (long phases, every 10 s) and, with --listen, to API streams.
        runOnce: (signal, request, onProgress) => {
          const logged = progressLogger(log);
          const both = (e: ProgressEvent) => {
            logged(e);
            if (api) onProgress(e);
          };
          return attemptRun(config, { direction: request.direction, tables: request.tables, onProgress: both, backup }, signal);
        },
        log,
        // While Postgres cannot be reached: a TCP connect every 2 s, and a sync as soon as it answers.
        reconnect: { probe: tcpProbe(config.postgresUrl), intervalMs: RECONNECT_PROBE_MS },
        ...(observers && {
          onOutcome: (outcome, _trigger, request) => {
            observers.metrics.recordOutcome(outcome, request.direction);
            observers.readiness.record(outcome);
          },
        }),
      });
      const signalled = new Promise<NodeJS.Signals>((resolve) => onStopSignal(resolve));
      // Started first, stopped last: a port that is taken stops the daemon before any run.
      const server = api && observers ? await startControlServer({ config, ...api, scheduler, direction: flags.direction, ...observers }) : undefined;
      if (server) log({ event: 'listen', at: new Date().toISOString(), url: server.url, token: api!.token !== undefined });
      await scheduler.start();
      const signal = await signalled;
      let timer: NodeJS.Timeout | undefined;
      const forced = await Promise.race([
        // The scheduler first (its aborted run answers the API requests waiting on it), then the server.
        scheduler.stop().then(async () => {
          await server?.close();
          return false;
        }),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, true))),
      ]);
      clearTimeout(timer);
      log({ event: 'stop', at: new Date().toISOString(), signal, forced });
      // main() exits the process after this returns, also when a forced stop left a run behind.
    });
}

/** The control API's address and token (--listen > listen in the config), or undefined when off. */
function apiSettings(config: ResolvedConfig, flag: string | undefined) {
  const listen = flag ?? config.listen;
  if (listen === undefined || listen.trim() === '') return undefined;
  const address = parseListen(listen);
  return { address, token: resolveToken(address, process.env, config.apiTokenFile) };
}
