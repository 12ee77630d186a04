import { describe, expect, it } from 'vitest';
import { fromPg, toSqlite, ValueError, type Affinity, type ColumnCodec, type Family, type TemporalForm } from '../../src/engine/values/codec.ts';
import { pgToSqlite } from '../../src/engine/values/pg-to-sqlite.ts';

// pgToSqlite's shortcuts must return exactly what toSqlite(fromPg(…)) returns (or throw the same
// ValueError) on every input, whatever path answers, so a first pull writes the bytes the
// general path would.
function composed(codec: ColumnCodec, text: string | null): { value?: unknown; error?: string } {
  try {
    return { value: toSqlite(codec, fromPg(codec, text)) };
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    return { error: 'ValueError' };
  }
}

function fused(codec: ColumnCodec, text: string | null): { value?: unknown; error?: string } {
  try {
    return { value: pgToSqlite(codec)(text) };
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    return { error: 'ValueError' };
  }
}

const AFFINITIES: Affinity[] = ['TEXT', 'INTEGER', 'REAL', 'NUMERIC', 'BLOB'];

const SAMPLES: Partial<Record<Family, string[]>> = {
  text: ['', 'abc', '12', '12.0', '007', ' 12', '1e3', 'Ünïcødé — ok', '\t\n\\', 'NULL', '9223372036854775808'],
  other: ['happy', '42', '4.50'],
  uuid: ['3f2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5b', '3F2B8C1E-9A4D-4E6F-8B7A-0C1D2E3F4A5B', '3f2b8c1e9a4d4e6f8b7a0c1d2e3f4a5b', '{3f2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5b}', 'not-a-uuid', '3f2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5g'],
  bool: ['t', 'f', 'true', 'false', 'TRUE', ' yes', '1', '0', 'maybe'],
  int: ['0', '-0', '7', '-7', '+7', '007', '719', '123456789012345', '1234567890123456', '9007199254740993', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '12.00', ' 12', 'x'],
  numeric: ['0', '12.30', '-0.5', '756.03', '.5', '1.', '1e3', 'NaN', 'Infinity', '-Infinity', '123456789012345678901234567890.123456789', '9007199254740993', '12.345678901234567890', 'abc', ''],
  timestamptz: [
    '2026-01-11 03:48:39+00',
    '2026-01-11 03:48:39.5+00',
    '2026-01-11 03:48:39.12+00',
    '2026-01-11 03:48:39.123+00',
    '2026-01-11 03:48:39.123456+00',
    '2026-01-11 03:48:39.999999+00',
    '0000-01-01 00:00:00+00',
    '0001-01-01 00:00:00+00',
    '9999-12-31 23:59:59.999999+00',
    '2026-01-11 03:48:39+05:30',
    '2026-02-30 00:00:00+00',
    '0044-03-15 12:00:00+00 BC',
    'infinity',
    '-infinity',
  ],
};

const FORMS: Array<TemporalForm | undefined> = [undefined, 'iso-ms-z', 'iso-ms', 'sqlite-datetime', 'epoch-ms', 'epoch-s'];

describe('pgToSqlite', () => {
  it('agrees with toSqlite(fromPg(…)) for every family, affinity and sample, NULL included', () => {
    let compared = 0;
    for (const [family, samples] of Object.entries(SAMPLES) as Array<[Family, string[]]>) {
      for (const affinity of AFFINITIES) {
        for (const form of family === 'timestamptz' ? FORMS : [undefined]) {
          const codec: ColumnCodec = form === undefined ? { family, affinity } : { family, affinity, form };
          for (const text of [null, ...samples]) {
            expect(fused(codec, text), `${family}/${affinity}/${form ?? '-'}: ${JSON.stringify(text)}`).toEqual(composed(codec, text));
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('agrees on random timestamps and integers', () => {
    let s = 12345;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const stamp: ColumnCodec = { family: 'timestamptz', affinity: 'TEXT' };
    const int: ColumnCodec = { family: 'int', affinity: 'INTEGER' };
    for (let i = 0; i < 3000; i++) {
      const iso = new Date(Math.floor(rnd() * 253402300799999)).toISOString();
      const micros = String(Math.floor(rnd() * 1e6)).padStart(6, '0').slice(0, 1 + Math.floor(rnd() * 6));
      const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${rnd() < 0.2 ? '' : `.${micros}`}+00`;
      expect(fused(stamp, text)).toEqual(composed(stamp, text));
      const n = `${rnd() < 0.5 ? '-' : ''}${Math.floor(rnd() * 10 ** Math.floor(1 + rnd() * 18))}`;
      expect(fused(int, n)).toEqual(composed(int, n));
    }
  });

  it('takes the shortcut for what Postgres prints', () => {
    expect(pgToSqlite({ family: 'timestamptz', affinity: 'TEXT' })('2026-01-11 03:48:39.5+00')).toBe('2026-01-11T03:48:39.500Z');
    expect(pgToSqlite({ family: 'bool', affinity: 'INTEGER' })('true')).toBe(1n);
    expect(pgToSqlite({ family: 'int', affinity: 'INTEGER' })('719')).toBe(719n);
    expect(pgToSqlite({ family: 'numeric', affinity: 'TEXT' })('12.30')).toBe('12.30');
  });
});
