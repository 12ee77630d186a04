/**
 * Orders nodes so that every node comes after the nodes it depends on, with each cycle kept
 * together. Returns the strongly connected components (a lone node, or a group that depends on
 * itself around a cycle) in dependency order; nodes keep their input order inside a component,
 * and among components that could go in any order, the one whose first node came first in the
 * input goes first. Only real cycles are grouped: a node that merely depends on a cycle comes
 * after it, alone.
 *
 * Tarjan's algorithm finds the components; Kahn's algorithm orders them.
 */
export function componentOrder<T>(nodes: readonly T[], key: (n: T) => string, deps: (n: T) => readonly string[]): T[][] {
  const index = new Map(nodes.map((n, i) => [key(n), i]));
  const edges = nodes.map((n) => [...new Set(deps(n).map((d) => index.get(d)).filter((d): d is number => d !== undefined))]);
  const comp = tarjan(edges);
  const count = Math.max(-1, ...comp) + 1;
  const members: number[][] = Array.from({ length: count }, () => []);
  comp.forEach((c, i) => members[c]!.push(i));
  // Kahn's algorithm over the components: a component is ready once every component it depends
  // on is out; the ready one whose first node came first in the input goes next.
  const dependents: number[][] = Array.from({ length: count }, () => []);
  const waiting = new Array<number>(count).fill(0);
  members.forEach((m, c) => {
    for (const d of new Set(m.flatMap((i) => edges[i]!.map((e) => comp[e]!)))) {
      if (d === c) continue;
      dependents[d]!.push(c);
      waiting[c]!++;
    }
  });
  const first = (c: number) => members[c]![0]!;
  const ready = new MinHeap<number>((a, b) => first(a) - first(b));
  waiting.forEach((w, c) => w === 0 && ready.push(c));
  const out: T[][] = [];
  for (let c = ready.pop(); c !== undefined; c = ready.pop()) {
    out.push(members[c]!.map((i) => nodes[i]!));
    for (const d of dependents[c]!) if (--waiting[d]! === 0) ready.push(d);
  }
  return out;
}

class MinHeap<V> {
  private readonly items: V[] = [];
  constructor(private readonly less: (a: V, b: V) => number) {}

  push(v: V): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): V | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Component number of each node (iterative Tarjan, so a long FK chain cannot overflow the stack). */
function tarjan(edges: readonly number[][]): number[] {
  const n = edges.length;
  const order = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const comp = new Array<number>(n).fill(-1);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  let counter = 0;
  let components = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    const work: Array<[node: number, edge: number]> = [[root, 0]];
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, e] = frame;
      if (e < edges[v]!.length) {
        frame[1]++;
        const w = edges[v]![e]!;
        if (order[w] === -1) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v]!, order[w]!);
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]![0];
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === order[v]) {
        for (;;) {
          const w = stack.pop()!;
          onStack[w] = false;
          comp[w] = components;
          if (w === v) break;
        }
        components++;
      }
    }
  }
  return comp;
}
