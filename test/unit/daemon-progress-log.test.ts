import { describe, expect, it } from 'vitest';
import type { DaemonEvent } from '../../src/daemon/events.ts';
import { humanLine } from '../../src/daemon/log.ts';
import { progressLogger } from '../../src/daemon/progress-log.ts';

describe("progress of long phases in the daemon's log", () => {
  it('one line per table at most every 10 s and when it is done; nothing for work without a total', () => {
    let t = 0;
    const lines: DaemonEvent[] = [];
    const log = progressLogger((e) => lines.push(e), () => t);
    log({ step: 'push', table: 'products', rows: 50_000, total: 1_000_000 });
    t = 4_000;
    log({ step: 'push', table: 'products', rows: 100_000, total: 1_000_000 });
    t = 10_500;
    log({ step: 'push', table: 'products', rows: 300_000, total: 1_000_000 });
    t = 12_000;
    log({ step: 'push', table: 'products', rows: 350_000, total: 1_000_000 });
    log({ step: 'pull', table: 'clients', rows: 120 });
    t = 30_000;
    log({ step: 'push', table: 'products', rows: 1_000_000, total: 1_000_000 });
    expect(lines.map((l) => (l.event === 'progress' ? [l.table, l.rows] : l.event))).toEqual([
      ['products', 300_000],
      ['products', 1_000_000],
    ]);
    expect(humanLine(lines[0]!)).toBe('1970-01-01T00:00:10.500Z push sqlite → postgres · products · 300,000 / 1,000,000 rows (30%)');
  });
});
