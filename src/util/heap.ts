import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived its last full collection before it
 * collects again, in percent. Left to itself, V8 picks a factor of up to 4x on a machine with
 * memory to spare: a 1M-row first pull (live heap ~15-30 MB) then peaked at 175 MB RSS and the
 * compare of a till that already held every row at 200 MB, with old space at 65-95 MB. At 25%
 * the same runs peaked at 136-143 and 144-153 MB at the same speed (paired runs; 10% and 50%
 * measured the same within noise). possync's work is page after page of short-lived rows, so
 * collecting a small old generation more often costs next to nothing.
 */
export const HEAP_GROWING_PERCENT = 25;

const GROWING_FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * The V8 flags possync sets for itself: none the user already gave node on its command line
 * (`node --heap-growing-percent=N bin/possync.js`). Node refuses this flag in NODE_OPTIONS.
 */
export function heapFlags(execArgv: readonly string[]): string[] {
  return execArgv.some((a) => GROWING_FLAG.test(a)) ? [] : [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
}

/**
 * Applies heapFlags to this process. The growing factor is read each time V8 sets the next
 * collection's limit, so it takes effect when set at run time (the young generation's size is
 * fixed at start-up: node flags or NODE_OPTIONS set that one, see scripts/possync.service).
 */
export function tuneHeap(): void {
  for (const flag of heapFlags(process.execArgv)) v8.setFlagsFromString(flag);
}
