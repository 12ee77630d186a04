import { parentPort, workerData } from 'node:worker_threads';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { BucketTally, scanRange } from './till-chunks.ts';
import type { TillWorkerInput, TillWorkerOutput } from './till-parallel.ts';

// A worker thread's share of verify-data's till scan (till-parallel.ts): one rowid range, over a
// read-only connection of its own, hashed here so the main thread and the other workers run at
// the same time. The bundle builds this file as dist/verify-data-worker.mjs (scripts/build.mjs).

const input = workerData as TillWorkerInput;
const others: Array<number | bigint> = [];
let till: SqliteGateway | undefined;
try {
  // Opened as possync opens the till (busy timeout included), read-only.
  till = SqliteGateway.open(input.file, { readonly: true });
  const tally = new BucketTally(input.buckets);
  await scanRange(till.db, input.sql, input.ended, tally, input.range, (ids) => {
    for (const id of ids) others.push(id);
  });
  const parts = tally.toParts();
  const out: TillWorkerOutput = { ok: true, tally: parts, others };
  // Moved, not copied: the arrays are this thread's own (ArrayBuffers, never shared).
  const { sums, byRowid } = parts;
  parentPort!.postMessage(out, [sums.n, sums.s1, sums.s2, byRowid.rowids, byRowid.buckets].map((a) => a.buffer as ArrayBuffer));
} catch (err) {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; hint?: unknown };
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const out: TillWorkerOutput = { ok: false, name: text(e?.name) ?? 'Error', message: text(e?.message) ?? String(err), code: text(e?.code), hint: text(e?.hint) };
  parentPort!.postMessage(out);
} finally {
  till?.close();
}
