import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapFlags } from '../../src/util/heap.ts';

describe('heapFlags', () => {
  it('sets the old generation growing factor when nobody chose one', () => {
    expect(heapFlags([])).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
    expect(heapFlags(['--enable-source-maps', '--max-semi-space-size=4'])).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
  });

  it("leaves the user's own choice on node's command line alone, dashes or underscores", () => {
    expect(heapFlags(['--heap-growing-percent=80'])).toEqual([]);
    expect(heapFlags(['--max-semi-space-size=4', '--heap_growing_percent=0'])).toEqual([]);
    expect(heapFlags(['--heap-growing-percent'])).toEqual([]);
  });

  it('is not fooled by a flag that only starts the same way', () => {
    expect(heapFlags(['--heap-growing-percentage=5'])).toHaveLength(1);
  });
});
