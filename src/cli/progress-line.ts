import type { ProgressEvent } from '../engine/context.ts';
import { STEP_ARROW } from './arrows.ts';

/**
 * The spinner's line for a run's progress: rows done out of the total, a percentage and the time
 * left when the phase knows its total (a first push's scan, a full resync), e.g.
 * `push sqlite → postgres · products · 312,000 / 1,000,000 rows (31%) · about 12 s left`.
 * The time left is the rate so far applied to the rest; it is shown once there is a rate to go by.
 */
export function progressLine(now: () => number = Date.now): (e: ProgressEvent) => string {
  const started = new Map<string, number>();
  return (e) => {
    const id = `${e.step}\u0000${e.table}`;
    if (!started.has(id)) started.set(id, now());
    const head = `${STEP_ARROW[e.step]} · ${e.table} · `;
    if (e.total === undefined || e.total <= 0) return `${head}${count(e.rows)} rows`;
    const done = Math.min(e.rows, e.total);
    const pct = Math.floor((done / e.total) * 100);
    const elapsed = (now() - started.get(id)!) / 1000;
    const left = done > 0 && elapsed >= 1 ? ((e.total - done) * elapsed) / done : undefined;
    return `${head}${count(done)} / ${count(e.total)} rows (${pct}%)${left === undefined ? '' : ` · ${timeLeft(left)}`}`;
  };
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function timeLeft(seconds: number): string {
  if (seconds < 1) return 'almost done';
  if (seconds < 90) return `about ${Math.round(seconds)} s left`;
  if (seconds < 90 * 60) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}
