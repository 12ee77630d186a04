import { describe, expect, it } from 'vitest';
import {
  type ColumnCodec,
  type Family,
  type SqliteValue,
  type Wire,
  ValueError,
  affinityOf,
  compareVersion,
  familyOf,
  fromPg,
  fromSqlite,
  same,
  toSqlite,
} from '../../src/engine/values/codec.ts';

/**
 * The public entry: family and affinity mapping, NULL in every family, and the exact round trip
 * Postgres text -> wire -> SQLite -> wire for the values most likely to be damaged on the way.
 */

const ALL_FAMILIES: Family[] = [
  'text', 'bpchar', 'uuid', 'int', 'numeric', 'float', 'bool', 'timestamptz', 'timestamp', 'date', 'time', 'json',
  'bytea', 'array', 'other',
];

const codec = (family: Family, extra: Partial<ColumnCodec> = {}): ColumnCodec => ({
  family,
  affinity: 'TEXT',
  ...extra,
});

/** Postgres text -> wire -> SQLite value -> wire, as the engine does on pull then push. */
function roundTrip(c: ColumnCodec, pgText: string): { wire: Wire; stored: SqliteValue; back: Wire } {
  const wire = fromPg(c, pgText);
  const stored = toSqlite(c, wire);
  const back = fromSqlite(c, stored);
  return { wire, stored, back };
}

describe('familyOf', () => {
  const cases: [string, string, Family][] = [
    ['smallint', 'int2', 'int'],
    ['integer', 'int4', 'int'],
    ['bigint', 'int8', 'int'],
    ['numeric', 'numeric', 'numeric'],
    ['real', 'float4', 'float'],
    ['double precision', 'float8', 'float'],
    ['boolean', 'bool', 'bool'],
    ['text', 'text', 'text'],
    ['character varying', 'varchar', 'text'],
    // char(n) has its own family: trailing blanks carry no meaning (bpchar.ts).
    ['character', 'bpchar', 'bpchar'],
    ['"char"', 'char', 'text'],
    ['USER-DEFINED', 'citext', 'text'],
    ['name', 'name', 'text'],
    ['uuid', 'uuid', 'uuid'],
    ['timestamp with time zone', 'timestamptz', 'timestamptz'],
    ['timestamp without time zone', 'timestamp', 'timestamp'],
    ['date', 'date', 'date'],
    ['time without time zone', 'time', 'time'],
    ['time with time zone', 'timetz', 'time'],
    ['json', 'json', 'json'],
    ['jsonb', 'jsonb', 'json'],
    ['bytea', 'bytea', 'bytea'],
    ['USER-DEFINED', 'order_status', 'other'],
    ['interval', 'interval', 'other'],
    ['money', 'money', 'other'],
    ['inet', 'inet', 'other'],
  ];
  it.each(cases)('%s (%s) -> %s', (dataType, udtName, family) => {
    expect(familyOf({ dataType, udtName })).toEqual({ family });
  });

  it('maps arrays with the element family from elementUdtName', () => {
    expect(familyOf({ dataType: 'ARRAY', udtName: '_int4', elementUdtName: 'int4' })).toEqual({
      family: 'array',
      element: 'int',
    });
    expect(familyOf({ dataType: 'ARRAY', udtName: '_whatever', elementUdtName: 'timestamptz' })).toEqual({
      family: 'array',
      element: 'timestamptz',
    });
  });

  it('derives the element from udt_name without the underscore', () => {
    expect(familyOf({ dataType: 'ARRAY', udtName: '_text' })).toEqual({ family: 'array', element: 'text' });
    expect(familyOf({ dataType: 'ARRAY', udtName: '_uuid' })).toEqual({ family: 'array', element: 'uuid' });
    expect(familyOf({ dataType: 'ARRAY', udtName: '_mood' })).toEqual({ family: 'array', element: 'other' });
  });

  it('treats a leading underscore as an array even if data_type is odd, and is case-insensitive', () => {
    expect(familyOf({ dataType: 'array', udtName: '_BOOL' })).toEqual({ family: 'array', element: 'bool' });
    expect(familyOf({ dataType: 'bigint', udtName: 'INT8' })).toEqual({ family: 'int' });
  });
});

describe('affinityOf (SQLite datatype3 §3.1, rules in order)', () => {
  const cases: [string, string][] = [
    ['INT', 'INTEGER'],
    ['integer', 'INTEGER'],
    ['TINYINT', 'INTEGER'],
    ['BIGINT', 'INTEGER'],
    ['UNSIGNED BIG INT', 'INTEGER'],
    ['INT2', 'INTEGER'],
    ['CHARACTER(20)', 'TEXT'],
    ['VARCHAR(255)', 'TEXT'],
    ['NVARCHAR(100)', 'TEXT'],
    ['TEXT', 'TEXT'],
    ['CLOB', 'TEXT'],
    ['BLOB', 'BLOB'],
    ['', 'BLOB'],
    ['REAL', 'REAL'],
    ['DOUBLE', 'REAL'],
    ['DOUBLE PRECISION', 'REAL'],
    ['FLOAT', 'REAL'],
    ['NUMERIC', 'NUMERIC'],
    ['DECIMAL(10,5)', 'NUMERIC'],
    ['BOOLEAN', 'NUMERIC'],
    ['DATE', 'NUMERIC'],
    ['DATETIME', 'NUMERIC'],
    ['TIMESTAMP', 'NUMERIC'],
    ['UUID', 'NUMERIC'],
    ['JSON', 'NUMERIC'],
    // The order matters: these are the documented quirks.
    ['FLOATING POINT', 'INTEGER'], // contains "INT"
    ['CHARINT', 'INTEGER'], // rule 1 before rule 2
    ['STRING', 'NUMERIC'], // not TEXT
    ['BLOBTEXT', 'TEXT'], // rule 2 before rule 3
    ['DOUBLE TEXT', 'TEXT'],
  ];
  it.each(cases)('%j -> %s', (declared, affinity) => {
    expect(affinityOf(declared)).toBe(affinity);
  });
});

describe('NULL in every family', () => {
  it.each(ALL_FAMILIES)('%s', (family) => {
    const c = codec(family, family === 'array' ? { element: 'int' } : {});
    expect(fromPg(family, null)).toBeNull();
    expect(fromSqlite(c, null)).toBeNull();
    expect(toSqlite(c, null)).toBeNull();
    expect(same(family, null, null)).toBe(true);
    expect(compareVersion(family, null, null)).toBe(0);
  });

  it.each(ALL_FAMILIES)('%s: null differs from every value and sorts oldest', (family) => {
    expect(same(family, null, '1')).toBe(false);
    expect(same(family, '1', null)).toBe(false);
    expect(same(family, null, '')).toBe(false);
    expect(compareVersion(family, null, '1')).toBeLessThan(0);
    expect(compareVersion(family, '1', null)).toBeGreaterThan(0);
  });
});

describe('same() and compareVersion() never throw', () => {
  it('compares unparseable values as strings', () => {
    expect(same('int', 'abc', 'abc')).toBe(true);
    expect(same('int', 'abc', 'abd')).toBe(false);
    expect(same('timestamptz', 'garbage', '2026-01-01T00:00:00.000000Z')).toBe(false);
    expect(compareVersion('int', 'abc', 'abd')).toBe(-1);
    expect(compareVersion('timestamptz', 'b', 'a')).toBe(1);
  });

  it('ValueError is an Error with its own name', () => {
    try {
      fromSqlite(codec('int'), 'twelve');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValueError);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe('ValueError');
      expect((err as Error).message).toContain('twelve');
    }
  });
});

describe('exact round trips: Postgres text -> wire -> SQLite -> wire', () => {
  describe('numeric', () => {
    it.each(['0.50', '12345678901234567890.123456789', '-0.00', '0', '-123.4500', 'NaN'])('%s in a TEXT column', (pg) => {
      const { wire, stored, back } = roundTrip(codec('numeric'), pg);
      expect(wire).toBe(pg);
      expect(stored).toBe(pg); // exactly the digits Postgres gave, trailing zeros included
      expect(same('numeric', back, wire)).toBe(true);
    });

    it('keeps the exact text in a TEXT column (no trailing-zero or sign games)', () => {
      expect(roundTrip(codec('numeric'), '0.50').back).toBe('0.50');
      expect(roundTrip(codec('numeric'), '12345678901234567890.123456789').back).toBe(
        '12345678901234567890.123456789',
      );
      // Postgres itself prints negative zero as zero.
      expect(roundTrip(codec('numeric'), '-0.00').back).toBe('0.00');
    });

    it('detects a lossy change of a single digit', () => {
      expect(same('numeric', '12345678901234567890.123456789', '12345678901234567890.123456788')).toBe(false);
      expect(same('numeric', '12345678901234567890.123456789', '12345678901234567890.12345679')).toBe(false);
      expect(same('numeric', '12345678901234567890.123456789', '12345678901234567000')).toBe(false);
    });
  });

  describe('int8', () => {
    const cases = ['9223372036854775807', '-9223372036854775808', '9007199254740993', '-9007199254740993', '0'];
    it.each(cases)('%s in an INTEGER column stays a bigint', (pg) => {
      const { wire, stored, back } = roundTrip(codec('int', { affinity: 'INTEGER' }), pg);
      expect(wire).toBe(pg);
      expect(stored).toBe(BigInt(pg));
      expect(typeof stored).toBe('bigint');
      expect(back).toBe(pg);
      expect(same('int', back, wire)).toBe(true);
    });

    it.each(cases)('%s in a TEXT column stays text', (pg) => {
      const { stored, back } = roundTrip(codec('int'), pg);
      expect(stored).toBe(pg);
      expect(back).toBe(pg);
    });

    it('2^53+1 is not confused with 2^53 (no Number() on the way)', () => {
      expect(same('int', '9007199254740993', '9007199254740992')).toBe(false);
      expect(compareVersion('int', '9007199254740993', '9007199254740992')).toBe(1);
      expect(fromSqlite(codec('int'), 9007199254740993n)).toBe('9007199254740993');
    });
  });

  describe('timestamptz with microseconds', () => {
    it('is equal at millisecond precision after SQLite drops the microseconds', () => {
      const { wire, stored, back } = roundTrip(codec('timestamptz'), '2026-11-24 01:18:19.123456+00');
      expect(wire).toBe('2026-11-24T01:18:19.123456Z');
      expect(stored).toBe('2026-11-24T01:18:19.123Z');
      expect(back).toBe('2026-11-24T01:18:19.123000Z');
      expect(same('timestamptz', back, wire)).toBe(true);
      expect(compareVersion('timestamptz', back, wire)).toBe(0);
    });

    it('truncates rather than rounds (.123999 stays in .123)', () => {
      const { stored, back, wire } = roundTrip(codec('timestamptz'), '2026-11-24 01:18:19.123999+00');
      expect(stored).toBe('2026-11-24T01:18:19.123Z');
      expect(same('timestamptz', back, wire)).toBe(true);
    });

    it('is not equal when the milliseconds differ', () => {
      const a = fromPg('timestamptz', '2026-11-24 01:18:19.123999+00');
      const b = fromPg('timestamptz', '2026-11-24 01:18:19.124000+00');
      expect(same('timestamptz', a, b)).toBe(false);
      expect(compareVersion('timestamptz', a, b)).toBe(-1);
    });

    it('survives every storage form', () => {
      for (const form of ['iso-ms-z', 'iso-ms', 'sqlite-datetime', 'epoch-ms', 'epoch-s'] as const) {
        const c = codec('timestamptz', { form, affinity: form.startsWith('epoch') ? 'INTEGER' : 'TEXT' });
        const { wire, back } = roundTrip(c, '2026-11-24 01:18:19.123456+00');
        expect(same('timestamptz', back, wire), form).toBe(true);
        expect(back, form).toBe('2026-11-24T01:18:19.123000Z');
      }
    });
  });

  describe('bool', () => {
    it.each([
      ['t', 'INTEGER', 1n, 'true'],
      ['f', 'INTEGER', 0n, 'false'],
      ['t', 'NUMERIC', 1n, 'true'],
      ['t', 'TEXT', 'true', 'true'],
      ['f', 'TEXT', 'false', 'false'],
    ] as const)('%s in a %s column', (pg, affinity, storedValue, wireValue) => {
      const { wire, stored, back } = roundTrip(codec('bool', { affinity }), pg);
      expect(wire).toBe(wireValue);
      expect(stored).toBe(storedValue);
      expect(back).toBe(wireValue);
    });
  });

  describe('json', () => {
    it('jsonb text with sorted keys equals the SQLite original', () => {
      const original = '{"z": 1, "a": {"y": [1, 2, {"k": "v"}], "b": 12345678901234567890}}';
      const fromSqliteWire = fromSqlite(codec('json'), original);
      expect(fromSqliteWire).toBe(original); // verbatim
      const jsonbText = '{"a": {"b": 12345678901234567890, "y": [1, 2, {"k": "v"}]}, "z": 1}';
      const wire = fromPg('json', jsonbText);
      expect(same('json', wire, fromSqliteWire)).toBe(true);
      const { back } = roundTrip(codec('json'), jsonbText);
      expect(back).toBe(jsonbText);
    });

    it('big numbers that a double would merge stay different', () => {
      expect(same('json', '{"n": 12345678901234567890}', '{"n": 12345678901234567891}')).toBe(false);
      expect(same('json', '[9007199254740993]', '[9007199254740992]')).toBe(false);
    });
  });

  describe('bytea', () => {
    it('keeps 0x00 and 0xff', () => {
      const { wire, stored, back } = roundTrip(codec('bytea', { affinity: 'BLOB' }), '\\x00ff00ff7f80');
      expect(wire).toBe('\\x00ff00ff7f80');
      expect(Buffer.isBuffer(stored)).toBe(true);
      expect([...(stored as Buffer)]).toEqual([0x00, 0xff, 0x00, 0xff, 0x7f, 0x80]);
      expect(back).toBe(wire);
    });

    it('keeps an empty value distinct from NULL', () => {
      const { stored, back } = roundTrip(codec('bytea', { affinity: 'BLOB' }), '\\x');
      expect((stored as Buffer).length).toBe(0);
      expect(back).toBe('\\x');
    });
  });

  describe('uuid', () => {
    it('upper-case SQLite text equals the Postgres value', () => {
      const local = fromSqlite(codec('uuid'), 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11');
      const server = fromPg('uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
      expect(local).toBe(server);
      expect(same('uuid', local, server)).toBe(true);
    });

    it('round trips through a BLOB column as 16 bytes', () => {
      const { stored, back } = roundTrip(codec('uuid', { affinity: 'BLOB' }), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
      expect((stored as Buffer).toString('hex')).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
      expect(back).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    });
  });

  describe('text', () => {
    it.each([
      'emoji 👍🏽 family 👨‍👩‍👧',
      '漢字かなカナ',
      'e\u0301 (combining acute)',
      'שלום עולם (RTL) مرحبا',
      '\ufeffleading BOM',
      '',
      ' padded ',
      'line\nbreak\ttab',
    ])('%j passes byte-exact', (pg) => {
      const { wire, stored, back } = roundTrip(codec('text'), pg);
      expect(wire).toBe(pg);
      expect(stored).toBe(pg);
      expect(back).toBe(pg);
    });

    it('refuses NUL and invalid UTF-8', () => {
      expect(() => fromSqlite(codec('text'), 'a\u0000b')).toThrow(ValueError);
      expect(() => fromSqlite(codec('text'), Buffer.from([0x61, 0xff]))).toThrow(ValueError);
    });
  });

  describe('arrays', () => {
    it('text[] with quotes, commas, backslashes, NULL and empty strings', () => {
      const c = codec('array', { element: 'text' });
      const pg = '{"a b","x\\"y","c,d","back\\\\slash",NULL,"","NULL",plain}';
      const { wire, stored, back } = roundTrip(c, pg);
      expect(wire).toBe(pg);
      expect(JSON.parse(stored as string)).toEqual(['a b', 'x"y', 'c,d', 'back\\slash', null, '', 'NULL', 'plain']);
      expect(back).toBe(pg);
      expect(same(c, back, wire)).toBe(true);
    });

    it('int8[] keeps values beyond 2^53', () => {
      const c = codec('array', { element: 'int' });
      const { stored, back } = roundTrip(c, '{9223372036854775807,-9223372036854775808,9007199254740993,NULL}');
      expect(stored).toBe('[9223372036854775807,-9223372036854775808,9007199254740993,null]');
      expect(back).toBe('{9223372036854775807,-9223372036854775808,9007199254740993,NULL}');
    });

    it('bool[] from Postgres spelling equals the SQLite JSON', () => {
      const c = codec('array', { element: 'bool' });
      const { wire, stored, back } = roundTrip(c, '{t,f,NULL}');
      expect(stored).toBe('[true,false,null]');
      expect(same(c, back, wire)).toBe(true);
      expect(same(c, back, '{t,f,NULL}')).toBe(true);
    });
  });

  describe('dates', () => {
    it('2024-02-29 is a date; 2023-02-29 is not', () => {
      expect(roundTrip(codec('date'), '2024-02-29').back).toBe('2024-02-29');
      expect(() => fromSqlite(codec('date'), '2023-02-29')).toThrow(ValueError);
      expect(() => toSqlite(codec('date'), '2023-02-29')).toThrow(ValueError);
    });

    it('round trips through epoch storage', () => {
      const c = codec('date', { form: 'epoch-s', affinity: 'INTEGER' });
      const { stored, back } = roundTrip(c, '2024-02-29');
      expect(stored).toBe(BigInt(Date.UTC(2024, 1, 29) / 1000));
      expect(back).toBe('2024-02-29');
    });
  });
});
