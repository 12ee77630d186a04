import { describe, expect, it } from 'vitest';
import { fastIsoMsZToWire, fastPgTimestamptzToWire } from '../../src/engine/values/timestamp-fast.ts';
import { formatWireTimestamp, parseDateTime } from '../../src/engine/values/temporal.ts';
import { compareVersion, fromPg, fromSqlite, same, toSqlite } from '../../src/engine/values/codec.ts';

// The fast paths must agree with the general parser on every input they accept, and decline
// (undefined) everything else, so results never depend on which path ran.
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('timestamp fast paths', () => {
  it('agree with the general parser on random instants', () => {
    const rnd = lcg(7);
    for (let i = 0; i < 5000; i++) {
      const ms = Math.floor(-62135596800000 + rnd() * (253402300799999 + 62135596800000));
      const iso = new Date(ms).toISOString();
      if (iso.startsWith('+') || iso.startsWith('-')) continue;
      const general = formatWireTimestamp(parseDateTime(iso, 'timestamptz'), true);
      expect(fastIsoMsZToWire(iso)).toBe(general);
      const micros = String(Math.floor(rnd() * 1e6)).padStart(6, '0').replace(/0+$/, '');
      const pgText = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${micros ? `.${micros}` : ''}+00`;
      expect(fastPgTimestamptzToWire(pgText)).toBe(formatWireTimestamp(parseDateTime(pgText, 'timestamptz'), true));
    }
  });

  it('decline what they cannot vouch for', () => {
    for (const bad of ['2023-02-29T00:00:00.000Z', '2026-13-01T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '0000-01-01T00:00:00.000Z', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00.000Z']) {
      expect(fastIsoMsZToWire(bad)).toBeUndefined();
    }
    expect(fastPgTimestamptzToWire('2026-01-01 00:00:00+05:30')).toBeUndefined();
    expect(fastPgTimestamptzToWire('infinity')).toBeUndefined();
  });

  it('codec results are the same through fast and general paths', () => {
    const codec = { family: 'timestamptz' as const, affinity: 'TEXT' as const, form: 'iso-ms-z' as const };
    expect(fromSqlite(codec, '2026-11-24T01:18:19.123Z')).toBe('2026-11-24T01:18:19.123000Z');
    expect(fromSqlite(codec, '2026-11-24 01:18:19.123')).toBe('2026-11-24T01:18:19.123000Z');
    expect(fromPg('timestamptz', '2026-11-24 01:18:19.123456+00')).toBe('2026-11-24T01:18:19.123456Z');
    expect(toSqlite(codec, '2026-11-24T01:18:19.123456Z')).toBe('2026-11-24T01:18:19.123Z');
    expect(same('timestamptz', '2026-11-24T01:18:19.123456Z', '2026-11-24T01:18:19.123000Z')).toBe(true);
    expect(compareVersion('timestamptz', '2026-11-24T01:18:19.124000Z', '2026-11-24T01:18:19.123999Z')).toBe(1);
    expect(fromSqlite({ family: 'uuid', affinity: 'TEXT' }, 'ABCDEF00-0000-4000-8000-000000000001')).toBe('abcdef00-0000-4000-8000-000000000001');
  });
});
