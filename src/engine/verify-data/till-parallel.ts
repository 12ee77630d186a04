import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PossyncError, type ErrorCode } from '../../errors.ts';
import type { ChunkRange, TallyParts } from './till-chunks.ts';

/**
 * verify-data's till scan split over worker threads: the till's CPU builds and hashes row texts
 * (till-sql.ts, till-chunks.ts), which on one thread takes several times what Postgres needs for
 * its side, so each worker takes one rowid range over its own read-only connection, and the main
 * thread meanwhile only keeps the cloud's transaction alive.
 *
 * Each worker reads its range in a snapshot of its own, not one shared snapshot. That is sound for
 * the same reason the till scan can run beside the POS app at all: a row edited during the scan
 * is edited with a change-log entry written in the same transaction (capture triggers), and the
 * change log is read after every worker has finished (tillInFlight), so such a row is left out as
 * in flight whichever version a worker saw. A row no one edits is the same in every snapshot.
 */

export interface TillWorkerInput {
  file: string;
  sql: string;
  /** Which columns end with '|' in the row text (checksum.ts endedColumns). */
  ended: boolean[];
  buckets: number;
  range: ChunkRange;
}

export type TillWorkerOutput =
  | { ok: true; tally: TallyParts; others: Array<number | bigint> }
  | { ok: false; name: string; message: string; code: string | undefined; hint: string | undefined };

type WorkerShare = Extract<TillWorkerOutput, { ok: true }>;

/**
 * How a worker is started: from the bundle (dist/verify-data-worker.mjs, beside dist/possync.mjs),
 * or from the sources through till-worker-dev.mjs when possync runs unbundled (tests, scripts). Undefined
 * when the bundle's worker file is missing: the caller then scans on its own thread. Looked up once.
 */
let starter: { start: ((data: TillWorkerInput) => Worker) | undefined } | undefined;
function workerStarter(): ((data: TillWorkerInput) => Worker) | undefined {
  starter ??= { start: findWorker() };
  return starter.start;
}

function findWorker(): ((data: TillWorkerInput) => Worker) | undefined {
  const self = import.meta.url;
  if (self.endsWith('.ts')) return (data) => new Worker(new URL('./till-worker-dev.mjs', self), { workerData: data });
  const bundled = new URL('./verify-data-worker.mjs', self);
  if (!fs.existsSync(fileURLToPath(bundled))) return undefined;
  return (data) => new Worker(bundled, { workerData: data });
}

/**
 * A worker's failure as the main thread's scan would have thrown it: possync's own errors (the
 * till cannot be opened: SQLITE_UNREACHABLE, exit 3) with their code and hint, SQLite's with
 * theirs (SQLITE_BUSY, SQLITE_IOERR…), which the run's error handling maps as usual.
 */
function workerError(out: Extract<TillWorkerOutput, { ok: false }>): Error {
  if (out.name === 'PossyncError' && out.code) return new PossyncError(out.code as ErrorCode, out.message, { hint: out.hint });
  return Object.assign(new Error(out.message), { name: out.name, code: out.code });
}

/** Whether the till scan can use worker threads here. */
export const workersAvailable = (): boolean => workerStarter() !== undefined;

/**
 * `count` ranges covering every rowid: the span [lo, hi] cut in equal parts, the first open below
 * and the last open above (a row the app inserts meanwhile is in flight, but is read all the same).
 */
export function rowidRanges(lo: bigint, hi: bigint, count: number): ChunkRange[] {
  const span = hi - lo + 1n;
  const n = BigInt(count);
  const ranges: ChunkRange[] = [];
  for (let i = 0n; i < n; i++) {
    ranges.push({ from: i === 0n ? -(2n ** 63n) : lo - 1n + (span * i) / n, to: i === n - 1n ? 2n ** 63n - 1n : lo - 1n + (span * (i + 1n)) / n });
  }
  return ranges;
}

/**
 * Runs one worker per range and returns their shares. `waiting` runs about every 250 ms while they
 * work (the caller keeps its Postgres transaction from sitting idle). A worker's failure fails the
 * scan with the worker's error (workerError), and the other workers are stopped.
 */
export async function scanInWorkers(input: Omit<TillWorkerInput, 'range'>, ranges: readonly ChunkRange[], waiting: () => Promise<void>): Promise<WorkerShare[]> {
  const start = workerStarter();
  if (!start) throw new Error('verify-data: the worker file is missing (dist/verify-data-worker.mjs)');
  const workers: Worker[] = [];
  const shares = Promise.all(
    ranges.map(
      (range) =>
        new Promise<WorkerShare>((resolve, reject) => {
          const worker = start({ ...input, range });
          workers.push(worker);
          worker.once('message', (out: TillWorkerOutput) => {
            if (out.ok) resolve(out);
            else reject(workerError(out));
          });
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`verify-data: a till scan worker exited (code ${code}) before it answered`)));
        }),
    ),
  );
  const finished = shares.then(
    () => true,
    () => true,
  );
  try {
    while (!(await Promise.race([finished, new Promise<false>((resolve) => setTimeout(resolve, 250, false))]))) await waiting();
    return await shares;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
