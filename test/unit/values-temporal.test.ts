import { describe, expect, it } from 'vitest';
import {
  type Affinity,
  type ColumnCodec,
  type Family,
  type SqliteValue,
  type TemporalForm,
  ValueError,
  compareVersion,
  detectTemporalForm,
  fromPg,
  fromSqlite,
  same,
  toSqlite,
} from '../../src/engine/values/codec.ts';

/** timestamptz, timestamp, date, time and storage-form detection. */

const codec = (family: Family, form?: TemporalForm, affinity: Affinity = 'TEXT'): ColumnCodec =>
  form === undefined ? { family, affinity } : { family, affinity, form };
const read = (family: Family, value: SqliteValue, form?: TemporalForm) => fromSqlite(codec(family, form), value);
const write = (family: Family, wire: string, form?: TemporalForm) => toSqlite(codec(family, form), wire);

// 2026-11-24T01:18:19.123Z, computed independently of the code under test.
const SAMPLE_MS = Date.UTC(2026, 10, 24, 1, 18, 19, 123);

describe('timestamptz from SQLite text', () => {
  it.each([
    ['2026-11-24T01:18:19.123456Z', '2026-11-24T01:18:19.123456Z'],
    ['2026-11-24T01:18:19Z', '2026-11-24T01:18:19.000000Z'],
    ['2026-11-24 01:18:19', '2026-11-24T01:18:19.000000Z'], // no zone means UTC
    ['2026-11-24T01:18:19.123', '2026-11-24T01:18:19.123000Z'],
    ['2026-11-24 01:18:19.1', '2026-11-24T01:18:19.100000Z'],
    ['2026-11-24T01:18', '2026-11-24T01:18:00.000000Z'],
    ['2026-11-24T01:18:19.123456789Z', '2026-11-24T01:18:19.123456Z'], // truncated, not rounded
    ['2026-11-24T01:18:19.999999999Z', '2026-11-24T01:18:19.999999Z'],
    ['2026-11-24T01:18:19.123+05:30', '2026-11-23T19:48:19.123000Z'],
    ['2026-11-24T01:18:19.123+0530', '2026-11-23T19:48:19.123000Z'],
    ['2026-11-24T01:18:19+05', '2026-11-23T20:18:19.000000Z'],
    ['2026-11-24T01:18:19-08:00', '2026-11-24T09:18:19.000000Z'],
    ['2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00.000000Z'], // crosses a year
    ['2026-11-24', '2026-11-24T00:00:00.000000Z'],
    ['  2026-11-24T01:18:19Z  ', '2026-11-24T01:18:19.000000Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000000Z'],
    ['0044-03-15T12:00:00Z', '0044-03-15T12:00:00.000000Z'], // not 1944 (Date.UTC's trap)
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
    ['1969-12-31T23:59:59.9995Z', '1969-12-31T23:59:59.999500Z'],
    ['infinity', 'infinity'],
    ['-infinity', '-infinity'],
  ])('%s -> %s', (text, wire) => {
    expect(read('timestamptz', text)).toBe(wire);
  });

  it.each([
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '2023-02-29T00:00:00Z',
    '2100-02-29',
    '2026-11-24T24:00:00Z',
    '2026-11-24T23:60:00Z',
    '2026-11-24T23:59:60Z',
    '2026-11-24T1:18:19Z',
    '2026-11-24T01:18:19.Z',
    '2026-11-24T01:18:19.1234567890Z',
    '2026-11-24T01:18:19+24:00',
    '2026-11-24T01:18:19+05:60',
    '2026-11-24T01:18:19 Z',
    '2026-11-24Z',
    '2026-11-24T',
    '26-11-24',
    '2026/11/24',
    '20261124',
    'Nov 24 2026',
    '2026-11-24T01:18:19.123Zjunk',
    '0000-01-01',
    '10000-01-01',
    '0001-01-01T00:30:00+01:00', // year 0 in UTC
    '9999-12-31T23:30:00-01:00', // year 10000 in UTC
    '',
    'now',
    Buffer.from('2026-11-24'),
  ] as SqliteValue[])('%s throws ValueError', (value) => {
    expect(() => read('timestamptz', value)).toThrow(ValueError);
  });
});

describe('timestamptz from SQLite epochs', () => {
  it.each([
    [1700000000n, undefined, '2023-11-14T22:13:20.000000Z'],
    [1700000000000n, undefined, '2023-11-14T22:13:20.000000Z'],
    [1700000000123n, undefined, '2023-11-14T22:13:20.123000Z'],
    [1700000000, undefined, '2023-11-14T22:13:20.000000Z'],
    [1700000000.123456, undefined, '2023-11-14T22:13:20.123456Z'],
    [1700000000123.456, undefined, '2023-11-14T22:13:20.123456Z'],
    [99999999999n, undefined, '5138-11-16T09:46:39.000000Z'], // just below 1e11: seconds
    [100000000000n, undefined, '1973-03-03T09:46:40.000000Z'], // 1e11: milliseconds
    [5n, 'epoch-s', '1970-01-01T00:00:05.000000Z'],
    [5n, 'epoch-ms', '1970-01-01T00:00:00.005000Z'],
    [5n, 'iso-ms-z', '1970-01-01T00:00:05.000000Z'], // a number in a text column: heuristic
    [-1n, undefined, '1969-12-31T23:59:59.000000Z'],
    [-1n, 'epoch-ms', '1969-12-31T23:59:59.999000Z'],
    [-0.0005, 'epoch-s', '1969-12-31T23:59:59.999500Z'],
    [-0.0000005, 'epoch-s', '1969-12-31T23:59:59.999999Z'], // truncated towards the past
    [253402300799n, 'epoch-s', '9999-12-31T23:59:59.000000Z'],
    [-62135596800n, 'epoch-s', '0001-01-01T00:00:00.000000Z'],
    ['1700000000.5', 'epoch-s', '2023-11-14T22:13:20.500000Z'], // digits in a TEXT epoch column
    ['1700000000123', 'epoch-ms', '2023-11-14T22:13:20.123000Z'],
  ] as [SqliteValue, TemporalForm | undefined, string][])('%s (%s) -> %s', (value, form, wire) => {
    expect(read('timestamptz', value, form)).toBe(wire);
  });

  it('converts a fractional REAL without float error (.123 stays .123000)', () => {
    // 1795483099.123 * 1000 is 1795483099122.9998 in floating point.
    expect(read('timestamptz', SAMPLE_MS / 1000, 'epoch-s')).toBe('2026-11-24T01:18:19.123000Z');
  });

  it.each([
    [253402300800n, 'epoch-s'],
    [-62135596801n, 'epoch-s'],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [1e300, undefined],
    [9223372036854775807n, undefined],
  ] as [SqliteValue, TemporalForm | undefined][])('%s (%s) throws ValueError', (value, form) => {
    expect(() => read('timestamptz', value, form)).toThrow(ValueError);
  });
});

describe('timestamptz from Postgres', () => {
  it.each([
    ['2026-11-24 01:18:19.123456+00', '2026-11-24T01:18:19.123456Z'],
    ['2026-11-24 01:18:19+00', '2026-11-24T01:18:19.000000Z'],
    ['2026-11-24 01:18:19.5+05:30', '2026-11-23T19:48:19.500000Z'],
    ['1900-01-01 00:00:00+00:53:28', '1899-12-31T23:06:32.000000Z'],
    ['infinity', 'infinity'],
    ['-infinity', '-infinity'],
  ])('%s -> %s', (pg, wire) => {
    expect(fromPg('timestamptz', pg)).toBe(wire);
  });

  it('passes through Postgres text outside years 0001-9999, which toSqlite then refuses', () => {
    for (const pg of ['0044-03-15 12:00:00+00 BC', '10000-01-01 00:00:00+00']) {
      expect(fromPg('timestamptz', pg)).toBe(pg);
      expect(() => write('timestamptz', pg)).toThrow(ValueError);
    }
  });
});

describe('timestamptz to SQLite', () => {
  const wire = '2026-11-24T01:18:19.123456Z';

  it.each([
    ['iso-ms-z', '2026-11-24T01:18:19.123Z'],
    ['iso-ms', '2026-11-24T01:18:19.123'],
    ['sqlite-datetime', '2026-11-24 01:18:19.123'],
    ['epoch-ms', BigInt(SAMPLE_MS)],
    ['epoch-s', SAMPLE_MS / 1000],
  ] as [TemporalForm, SqliteValue][])('%s -> %s', (form, stored) => {
    expect(write('timestamptz', wire, form)).toBe(stored);
  });

  it('defaults to iso-ms-z', () => {
    expect(write('timestamptz', wire)).toBe('2026-11-24T01:18:19.123Z');
  });

  it('writes whole seconds as integers and omits a zero fraction in sqlite-datetime', () => {
    expect(write('timestamptz', '2026-11-24T01:18:19.000999Z', 'epoch-s')).toBe(BigInt(Date.UTC(2026, 10, 24, 1, 18, 19) / 1000));
    expect(write('timestamptz', '2026-11-24T01:18:19.000999Z', 'sqlite-datetime')).toBe('2026-11-24 01:18:19');
    expect(write('timestamptz', '2026-11-24T01:18:19.005Z', 'sqlite-datetime')).toBe('2026-11-24 01:18:19.005');
    expect(write('timestamptz', '2026-11-24T01:18:19.000999Z', 'iso-ms-z')).toBe('2026-11-24T01:18:19.000Z');
  });

  it('truncates microseconds: .999999 never becomes the next second', () => {
    expect(write('timestamptz', '2026-12-31T23:59:59.999999Z', 'iso-ms-z')).toBe('2026-12-31T23:59:59.999Z');
    expect(write('timestamptz', '2026-12-31T23:59:59.999999Z', 'epoch-ms')).toBe(BigInt(Date.UTC(2026, 11, 31, 23, 59, 59, 999)));
  });

  it('handles instants before 1970', () => {
    expect(write('timestamptz', '1969-12-31T23:59:59.999500Z', 'epoch-ms')).toBe(-1n);
    expect(write('timestamptz', '1969-12-31T23:59:59.999500Z', 'epoch-s')).toBe(-0.001);
    expect(write('timestamptz', '1969-12-31T23:59:58Z', 'epoch-s')).toBe(-2n);
    expect(write('timestamptz', '0044-03-15T12:00:00.000000Z', 'iso-ms-z')).toBe('0044-03-15T12:00:00.000Z');
  });

  it('accepts Postgres text as well as wire text', () => {
    expect(write('timestamptz', '2026-11-24 01:18:19.123456+00', 'iso-ms')).toBe('2026-11-24T01:18:19.123');
  });

  it('writes infinity as text, and refuses it for epoch columns', () => {
    expect(write('timestamptz', 'infinity', 'iso-ms-z')).toBe('infinity');
    expect(write('timestamptz', '-infinity', 'sqlite-datetime')).toBe('-infinity');
    expect(() => write('timestamptz', 'infinity', 'epoch-ms')).toThrow(ValueError);
    expect(() => write('timestamptz', '-infinity', 'epoch-s')).toThrow(ValueError);
  });

  it('every form reads back to the same millisecond', () => {
    for (const form of ['iso-ms-z', 'iso-ms', 'sqlite-datetime', 'epoch-ms', 'epoch-s'] as TemporalForm[]) {
      for (const w of [wire, '1969-12-31T23:59:59.999500Z', '0044-03-15T12:00:00.001000Z', '2026-11-24T01:18:19.000000Z']) {
        const back = read('timestamptz', write('timestamptz', w, form), form);
        expect(same('timestamptz', back, w), `${form} ${w}`).toBe(true);
      }
    }
  });
});

describe('timestamptz equality and ordering at millisecond precision', () => {
  it('equal when only microseconds differ', () => {
    expect(same('timestamptz', '2026-11-24T01:18:19.123000Z', '2026-11-24T01:18:19.123999Z')).toBe(true);
    expect(same('timestamptz', '2026-11-24 01:18:19.123456+00', '2026-11-24T01:18:19.123Z')).toBe(true);
  });

  it('different when milliseconds differ, at either edge', () => {
    expect(same('timestamptz', '2026-11-24T01:18:19.122999Z', '2026-11-24T01:18:19.123000Z')).toBe(false);
    expect(same('timestamptz', '2026-11-24T01:18:19.123999Z', '2026-11-24T01:18:19.124000Z')).toBe(false);
  });

  it('equal for the same instant in different zones', () => {
    expect(same('timestamptz', '2026-11-24 06:48:19.5+05:30', '2026-11-24T01:18:19.500Z')).toBe(true);
    expect(compareVersion('timestamptz', '2026-11-24 06:48:19+05:30', '2026-11-24 01:18:19+00')).toBe(0);
  });

  it('orders by instant, not by text', () => {
    expect(compareVersion('timestamptz', '2026-11-24 06:00:00+05:30', '2026-11-24 01:00:00+00')).toBe(-1);
    expect(compareVersion('timestamptz', '2026-11-24T01:18:19.124Z', '2026-11-24T01:18:19.123999Z')).toBe(1);
    expect(compareVersion('timestamptz', '0999-01-01T00:00:00Z', '1000-01-01T00:00:00Z')).toBe(-1);
    expect(compareVersion('timestamptz', 'infinity', '9999-12-31T00:00:00Z')).toBe(1);
    expect(compareVersion('timestamptz', '-infinity', '0001-01-01T00:00:00Z')).toBe(-1);
    expect(compareVersion('timestamptz', 'infinity', 'infinity')).toBe(0);
  });
});

describe('timestamp (without time zone)', () => {
  it('fromPg has no Z', () => {
    expect(fromPg('timestamp', '2026-11-24 01:18:19.5')).toBe('2026-11-24T01:18:19.500000');
    expect(fromPg('timestamp', '2026-11-24 01:18:19')).toBe('2026-11-24T01:18:19.000000');
    expect(fromPg('timestamp', 'infinity')).toBe('infinity');
  });

  it('fromSqlite converts a zoned string to UTC wall time', () => {
    expect(read('timestamp', '2026-11-24T01:18:19+02:00')).toBe('2026-11-23T23:18:19.000000');
    expect(read('timestamp', '2026-11-24T01:18:19Z')).toBe('2026-11-24T01:18:19.000000');
    expect(read('timestamp', '2026-11-24 01:18:19.123456')).toBe('2026-11-24T01:18:19.123456');
    expect(read('timestamp', 1700000000n)).toBe('2023-11-14T22:13:20.000000');
    expect(read('timestamp', '2026-11-24')).toBe('2026-11-24T00:00:00.000000');
    expect(() => read('timestamp', '2026-02-30 00:00:00')).toThrow(ValueError);
  });

  it('toSqlite defaults to iso-ms and honours the other forms', () => {
    const wire = '2026-11-24T01:18:19.123456';
    expect(write('timestamp', wire)).toBe('2026-11-24T01:18:19.123');
    expect(write('timestamp', wire, 'iso-ms-z')).toBe('2026-11-24T01:18:19.123Z');
    expect(write('timestamp', wire, 'sqlite-datetime')).toBe('2026-11-24 01:18:19.123');
    expect(write('timestamp', wire, 'epoch-ms')).toBe(BigInt(SAMPLE_MS));
  });

  it('same and compareVersion at millisecond precision', () => {
    expect(same('timestamp', '2026-11-24 01:18:19.1239', '2026-11-24T01:18:19.123')).toBe(true);
    expect(same('timestamp', '2026-11-24 01:18:19.124', '2026-11-24T01:18:19.123')).toBe(false);
    expect(compareVersion('timestamp', '2026-11-24 01:18:19.124', '2026-11-24T01:18:19.123')).toBe(1);
  });
});

describe('date', () => {
  it.each([
    ['2024-02-29', undefined, '2024-02-29'],
    ['2000-02-29', undefined, '2000-02-29'],
    ['2024-02-29T00:00:00Z', undefined, '2024-02-29'],
    ['2024-02-29 00:00:00', undefined, '2024-02-29'],
    ['2024-02-29T00:00:00.000Z', undefined, '2024-02-29'],
    ['2024-03-01T05:30:00+05:30', undefined, '2024-03-01'], // midnight UTC
    ['0044-03-15', undefined, '0044-03-15'],
    [1709164800n, undefined, '2024-02-29'],
    [1709164800000n, undefined, '2024-02-29'],
    [1709164800, 'epoch-s', '2024-02-29'],
    [0n, 'epoch-ms', '1970-01-01'],
    [-86400n, 'epoch-s', '1969-12-31'],
    ['infinity', undefined, 'infinity'],
  ] as [SqliteValue, TemporalForm | undefined, string][])('fromSqlite(%s, %s) -> %s', (value, form, wire) => {
    expect(read('date', value, form)).toBe(wire);
  });

  it.each([
    '2023-02-29',
    '2100-02-29',
    '2024-13-01',
    '2024-04-31',
    '2024-02-29T00:00:01Z',
    '2024-02-29T00:00:00.001',
    '2024-02-29T00:00:00.000001',
    '2024-02-29T00:00:00+01:00', // 23:00 the day before in UTC
    '2024-03-01T00:00:00+05:30', // local midnight, but 18:30 UTC
    1709164801n,
    1709164800001n,
    'garbage',
    Buffer.from('2024-02-29'),
  ] as SqliteValue[])('fromSqlite(%s) throws ValueError', (value) => {
    expect(() => read('date', value)).toThrow(ValueError);
  });

  it('fromPg', () => {
    expect(fromPg('date', '2024-02-29')).toBe('2024-02-29');
    expect(fromPg('date', 'infinity')).toBe('infinity');
    expect(fromPg('date', '0044-03-15 BC')).toBe('0044-03-15 BC');
  });

  it('toSqlite writes text unless the form is an epoch', () => {
    expect(write('date', '2024-02-29')).toBe('2024-02-29');
    expect(write('date', '2024-02-29', 'iso-ms-z')).toBe('2024-02-29');
    expect(write('date', '2024-02-29', 'sqlite-datetime')).toBe('2024-02-29');
    expect(write('date', '2024-02-29', 'epoch-ms')).toBe(1709164800000n);
    expect(write('date', '2024-02-29', 'epoch-s')).toBe(1709164800n);
    expect(write('date', '1969-12-31', 'epoch-s')).toBe(-86400n);
    expect(write('date', 'infinity')).toBe('infinity');
    expect(() => write('date', 'infinity', 'epoch-s')).toThrow(ValueError);
    expect(() => write('date', '2023-02-29')).toThrow(ValueError);
    expect(() => write('date', '0044-03-15 BC')).toThrow(ValueError);
  });

  it('same and compareVersion', () => {
    expect(same('date', '2024-02-29', '2024-02-29')).toBe(true);
    expect(same('date', '2024-02-29', '2024-03-01')).toBe(false);
    expect(compareVersion('date', '2024-02-28', '2024-02-29')).toBe(-1);
    expect(compareVersion('date', 'infinity', '2024-02-29')).toBe(1);
  });
});

describe('time', () => {
  it.each([
    ['01:02:03', '01:02:03'],
    ['01:02', '01:02:00'],
    ['01:02:03.5', '01:02:03.5'], // fraction kept as given
    ['01:02:03.500', '01:02:03.500'],
    ['01:02:03.123456', '01:02:03.123456'],
    ['01:02:03.1234567', '01:02:03.123456'],
    ['00:00:00', '00:00:00'],
    ['23:59:59.999999', '23:59:59.999999'],
    ['24:00:00', '24:00:00'], // Postgres's end of day
    ['01:02:03Z', '01:02:03+00'],
    ['01:02:03+05:30', '01:02:03+05:30'],
    ['01:02:03+0530', '01:02:03+05:30'],
    ['01:02:03-08', '01:02:03-08'],
    ['01:02:03.25+05:00', '01:02:03.25+05'],
    [' 01:02:03 ', '01:02:03'],
  ])('fromSqlite(%s) -> %s', (value, wire) => {
    expect(read('time', value)).toBe(wire);
    expect(write('time', wire)).toBe(wire);
  });

  it.each([
    '25:00:00',
    '24:00:01',
    '24:00:00.000001',
    '12:60:00',
    '12:00:60',
    '1:02:03',
    '01:02:03.',
    '01:02:03+16:00',
    '01:02:03+05:60',
    '01-02-03',
    '',
    3600n,
    3600,
    Buffer.from('01:02:03'),
  ] as SqliteValue[])('fromSqlite(%s) throws ValueError', (value) => {
    expect(() => read('time', value)).toThrow(ValueError);
  });

  it('fromPg passes Postgres text through in wire spelling', () => {
    expect(fromPg('time', '01:02:03.123456')).toBe('01:02:03.123456');
    expect(fromPg('time', '01:02:03+05:30')).toBe('01:02:03+05:30');
    expect(fromPg('time', '01:02:03+00')).toBe('01:02:03+00');
  });

  it('same ignores trailing fraction zeros and treats a missing zone as UTC', () => {
    expect(same('time', '01:02:03.5', '01:02:03.500000')).toBe(true);
    expect(same('time', '01:02:03', '01:02:03.000')).toBe(true);
    expect(same('time', '12:00:00', '12:00:00+00')).toBe(true);
    expect(same('time', '01:02:03.5', '01:02:03.50001')).toBe(false);
    // timetz equality needs the same offset, as in Postgres.
    expect(same('time', '12:00:00+01', '11:00:00+00')).toBe(false);
  });

  it('compareVersion orders by time', () => {
    expect(compareVersion('time', '09:00:00', '10:00:00')).toBe(-1);
    expect(compareVersion('time', '10:00:00.000001', '10:00:00')).toBe(1);
    expect(compareVersion('time', '24:00:00', '23:59:59.999999')).toBe(1);
  });
});

describe('detectTemporalForm', () => {
  it.each([
    [[1700000000n], 'epoch-s'],
    [[1700000000000n], 'epoch-ms'],
    [[1700000000n, 1700000000000n], 'epoch-ms'],
    [[1.7e9], 'epoch-s'],
    [[1.7e12], 'epoch-ms'],
    [[-1.7e12], 'epoch-ms'],
    [[99999999999n], 'epoch-s'],
    [[100000000000n], 'epoch-ms'],
    [['2026-11-24T01:18:19.123Z'], 'iso-ms-z'],
    [['2026-11-24T01:18:19Z'], 'iso-ms-z'],
    [['2026-11-24T01:18:19.123'], 'iso-ms'],
    [['2026-11-24T01:18:19+05:30'], 'iso-ms-z'],
    [['2026-11-24 01:18:19'], 'sqlite-datetime'],
    [['2026-11-24 01:18:19.123'], 'sqlite-datetime'],
    [[null, '2026-11-24 01:18:19', null], 'sqlite-datetime'],
    [['2026-11-24T01:18:19Z', '2026-11-24 01:18:19', '2026-11-24 01:18:20'], 'sqlite-datetime'],
    [['2026-11-24T01:18:19Z', '2026-11-24 01:18:19'], 'iso-ms-z'], // tie: first seen
    [['2026-11-24', '2026-11-24T01:18:19'], 'iso-ms'], // a bare date says nothing
    [[1700000000n, 1700000001n, '2026-11-24T01:18:19Z'], 'epoch-s'],
  ] as [SqliteValue[], TemporalForm][])('%s -> %s', (samples, form) => {
    expect(detectTemporalForm('timestamptz', 'TEXT', samples)).toBe(form);
  });

  it('falls back on the declared type when samples say nothing', () => {
    expect(detectTemporalForm('timestamptz', 'INTEGER', [])).toBe('epoch-ms');
    expect(detectTemporalForm('timestamp', 'BIGINT', [null])).toBe('epoch-ms');
    expect(detectTemporalForm('timestamptz', 'TEXT', [])).toBe('iso-ms-z');
    expect(detectTemporalForm('timestamptz', 'DATETIME', [null, null])).toBe('iso-ms-z');
    expect(detectTemporalForm('timestamp', 'TEXT', [])).toBe('iso-ms');
    expect(detectTemporalForm('timestamp', '', ['2026-11-24'])).toBe('iso-ms');
    expect(detectTemporalForm('date', 'DATE', ['2026-11-24'])).toBe('iso-ms-z');
    expect(detectTemporalForm('date', 'INTEGER', [Buffer.from('x')])).toBe('epoch-ms');
  });

  it('detects epoch storage of dates', () => {
    expect(detectTemporalForm('date', 'INTEGER', [1709164800n])).toBe('epoch-s');
    expect(detectTemporalForm('date', 'INTEGER', [1709164800000n])).toBe('epoch-ms');
  });
});
