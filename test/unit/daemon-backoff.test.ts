import { describe, expect, it } from 'vitest';
import { BACKOFF, nextDelay, type FailureKind } from '../../src/daemon/backoff.ts';

describe('nextDelay (daemon backoff)', () => {
  const kinds: FailureKind[] = ['unreachable', 'sync'];

  it('is 0 before any failure', () => {
    for (const kind of kinds) {
      expect(nextDelay(kind, 0, 0.5)).toBe(0);
      expect(nextDelay(kind, -3, 0.5)).toBe(0);
      expect(nextDelay(kind, Number.NaN, 0.5)).toBe(0);
    }
  });

  it('doubles per failure between half and all of the step (equal jitter)', () => {
    for (const kind of kinds) {
      const { baseMs } = BACKOFF[kind];
      for (let n = 1; n <= 4; n++) {
        const step = baseMs * 2 ** (n - 1);
        expect(nextDelay(kind, n, 0)).toBe(step / 2);
        expect(nextDelay(kind, n, 0.999999)).toBeCloseTo(step, -1);
        expect(nextDelay(kind, n, 0.5)).toBe((step * 3) / 4);
      }
    }
  });

  it('never decreases as failures pile up, for the same random number', () => {
    for (const kind of kinds) {
      for (const r of [0, 0.3, 0.99]) {
        let previous = 0;
        for (let n = 1; n <= 60; n++) {
          const d = nextDelay(kind, n, r);
          expect(d).toBeGreaterThanOrEqual(previous);
          previous = d;
        }
      }
    }
  });

  it('is capped, also after a very long outage (no overflow to Infinity)', () => {
    for (const kind of kinds) {
      const { capMs } = BACKOFF[kind];
      for (const n of [20, 1000, 1e9]) {
        const d = nextDelay(kind, n, 0.999);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeLessThanOrEqual(capMs);
        expect(d).toBeGreaterThanOrEqual(capMs / 2);
      }
    }
  });

  it('retries an unreachable database sooner than a sync failure', () => {
    for (let n = 1; n <= 10; n++) expect(nextDelay('unreachable', n, 0.5)).toBeLessThan(nextDelay('sync', n, 0.5));
    expect(nextDelay('unreachable', 1, 0)).toBe(2_500);
    expect(BACKOFF.unreachable.capMs).toBe(5 * 60_000);
    expect(BACKOFF.sync.capMs).toBe(30 * 60_000);
  });

  it('clamps a random number outside [0, 1)', () => {
    expect(nextDelay('sync', 1, -5)).toBe(nextDelay('sync', 1, 0));
    expect(nextDelay('sync', 1, 7)).toBe(nextDelay('sync', 1, 1));
    expect(nextDelay('sync', 1, Number.NaN)).toBe(nextDelay('sync', 1, 0));
  });
});
