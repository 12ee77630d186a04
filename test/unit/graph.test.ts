import { describe, expect, it } from 'vitest';
import { componentOrder } from '../../src/util/graph.ts';

type Node = { name: string; deps: string[] };
const order = (nodes: Node[]) => componentOrder(nodes, (n) => n.name, (n) => n.deps).map((c) => c.map((n) => n.name));

describe('componentOrder (FK order by strongly connected components)', () => {
  it('puts parents first and keeps input order where free', () => {
    expect(order([{ name: 'c', deps: ['b'] }, { name: 'x', deps: [] }, { name: 'b', deps: ['a'] }, { name: 'a', deps: [] }])).toEqual([['x'], ['a'], ['b'], ['c']]);
  });

  it('groups only a real cycle; a table depending on it comes after it, however it sorts', () => {
    // aaa depends on the cycle employee <-> branch but is not part of it; zzz is free.
    const nodes = [
      { name: 'aaa_child', deps: ['employee'] },
      { name: 'branch', deps: ['employee'] },
      { name: 'employee', deps: ['branch', 'company'] },
      { name: 'company', deps: [] },
      { name: 'zzz', deps: [] },
    ];
    expect(order(nodes)).toEqual([['company'], ['branch', 'employee'], ['aaa_child'], ['zzz']]);
  });

  it('keeps two separate cycles apart, and a self-reference is no cycle of tables', () => {
    const nodes = [
      { name: 'a', deps: ['b'] },
      { name: 'b', deps: ['a'] },
      { name: 'c', deps: ['d', 'a'] },
      { name: 'd', deps: ['c'] },
      { name: 'self', deps: ['self'] },
    ];
    expect(order(nodes)).toEqual([['a', 'b'], ['c', 'd'], ['self']]);
  });

  it('ignores dependencies on nodes it was not given', () => {
    expect(order([{ name: 'a', deps: ['not_synced'] }, { name: 'b', deps: ['a'] }])).toEqual([['a'], ['b']]);
  });

  it('handles a chain of 20,000 without overflowing the stack', () => {
    const nodes = Array.from({ length: 20_000 }, (_, i) => ({ name: `t${i}`, deps: i === 0 ? [] : [`t${i - 1}`] })).reverse();
    const out = order(nodes);
    expect(out).toHaveLength(20_000);
    expect(out[0]).toEqual(['t0']);
    expect(out[19_999]).toEqual(['t19999']);
  });
});
