import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/progress-line.ts';

describe('progressLine (the spinner line a person plans by)', () => {
  it('shows rows out of the total, a percentage and the time left at the rate so far', () => {
    let t = 0;
    const line = progressLine(() => t);
    expect(line({ step: 'push', table: 'products', rows: 0, total: 1_000_000 })).toBe('push sqlite → postgres · products · 0 / 1,000,000 rows (0%)');
    t = 10_000;
    expect(line({ step: 'push', table: 'products', rows: 250_000, total: 1_000_000 })).toBe('push sqlite → postgres · products · 250,000 / 1,000,000 rows (25%) · about 30 s left');
    t = 400_000;
    expect(line({ step: 'push', table: 'products', rows: 500_000, total: 1_000_000 })).toBe('push sqlite → postgres · products · 500,000 / 1,000,000 rows (50%) · about 7 min left');
  });

  it('counts each table from its own start, never past 100%, and plain rows without a total', () => {
    let t = 0;
    const line = progressLine(() => t);
    line({ step: 'pull', table: 'a', rows: 0, total: 10 });
    t = 5_000;
    expect(line({ step: 'pull', table: 'b', rows: 5, total: 10 })).toBe('pull postgres → sqlite · b · 5 / 10 rows (50%)');
    expect(line({ step: 'pull', table: 'a', rows: 12, total: 10 })).toBe('pull postgres → sqlite · a · 10 / 10 rows (100%) · almost done');
    expect(line({ step: 'pull', table: 'c', rows: 6_168 })).toBe('pull postgres → sqlite · c · 6,168 rows');
  });
});
