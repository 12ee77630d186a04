import { describe, expect, it } from 'vitest';
import {
  type Affinity,
  type ColumnCodec,
  type Family,
  type SqliteValue,
  ValueError,
  compareVersion,
  fromPg,
  fromSqlite,
  same,
  toSqlite,
} from '../../src/engine/values/codec.ts';

/** int, numeric, float, bool, text, other, uuid, bytea: every accepted form and every refusal. */

const codec = (family: Family, affinity: Affinity = 'TEXT'): ColumnCodec => ({ family, affinity });
const read = (family: Family, value: SqliteValue, affinity: Affinity = 'TEXT') =>
  fromSqlite(codec(family, affinity), value);
const write = (family: Family, wire: string, affinity: Affinity = 'TEXT') => toSqlite(codec(family, affinity), wire);

describe('int', () => {
  it.each([
    [42n, '42'],
    [-42n, '-42'],
    [0n, '0'],
    [9223372036854775807n, '9223372036854775807'],
    [-9223372036854775808n, '-9223372036854775808'],
    [9007199254740993n, '9007199254740993'],
    [5, '5'],
    [5.0, '5'],
    [-0, '0'],
    [-17, '-17'],
    [2 ** 60, '1152921504606846976'], // an integral REAL: exact, not via String(n) ('1.15e18')
    ['42', '42'],
    ['  42  ', '42'],
    ['+42', '42'],
    ['-007', '-7'],
    ['-0', '0'],
    ['12.0', '12'],
    ['12.', '12'],
    ['-12.000', '-12'],
    ['9223372036854775807', '9223372036854775807'],
    ['9007199254740993', '9007199254740993'],
  ] as [SqliteValue, string][])('fromSqlite(%s) -> %s', (value, wire) => {
    expect(read('int', value)).toBe(wire);
  });

  it.each([
    5.5,
    -0.1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 63, // integral, but beyond int8
    9223372036854775808n,
    -9223372036854775809n,
    '9223372036854775808',
    '-9223372036854775809',
    '12.5',
    '12.01',
    '1e3',
    '0x10',
    '',
    '   ',
    'abc',
    '12abc',
    '1 2',
    '.0',
    Buffer.from('12'),
  ] as SqliteValue[])('fromSqlite(%s) throws ValueError', (value) => {
    expect(() => read('int', value)).toThrow(ValueError);
  });

  it('toSqlite gives a bigint, or text for a TEXT column', () => {
    expect(write('int', '9223372036854775807', 'INTEGER')).toBe(9223372036854775807n);
    expect(write('int', '-9223372036854775808', 'NUMERIC')).toBe(-9223372036854775808n);
    expect(write('int', '42', 'BLOB')).toBe(42n);
    expect(write('int', '42', 'TEXT')).toBe('42');
    expect(write('int', '9007199254740993', 'TEXT')).toBe('9007199254740993');
  });

  it('toSqlite refuses what SQLite cannot hold', () => {
    expect(() => write('int', '9223372036854775808', 'INTEGER')).toThrow(ValueError);
    expect(() => write('int', '-9223372036854775809', 'TEXT')).toThrow(ValueError);
    expect(() => write('int', 'abc', 'INTEGER')).toThrow(ValueError);
    // A REAL column would store 2^53+1 as the double 2^53.
    expect(() => write('int', '9007199254740993', 'REAL')).toThrow(ValueError);
    expect(write('int', '9007199254740992', 'REAL')).toBe(9007199254740992n);
  });

  it('same and compareVersion use exact integer arithmetic', () => {
    expect(same('int', '7', '007')).toBe(true);
    expect(same('int', '-0', '0')).toBe(true);
    expect(same('int', '9223372036854775807', '9223372036854775806')).toBe(false);
    expect(compareVersion('int', '10', '9')).toBe(1); // not string order
    expect(compareVersion('int', '-10', '-9')).toBe(-1);
    expect(compareVersion('int', '9223372036854775807', '9223372036854775806')).toBe(1);
    expect(compareVersion('int', '5', '5')).toBe(0);
  });

  it('fromPg passes Postgres integers through', () => {
    expect(fromPg('int', '-9223372036854775808')).toBe('-9223372036854775808');
  });
});

describe('numeric', () => {
  it.each([
    [12n, '12'],
    [-98765432109876543210n, '-98765432109876543210'],
    [0.5, '0.5'],
    [12.5, '12.5'],
    [1e-7, '0.0000001'],
    [-1.5e-10, '-0.00000000015'],
    [1e21, '1000000000000000000000'],
    [1.2345678901234568e20, '123456789012345680000'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-0, '0'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    ['12.50', '12.50'],
    ['  12.50  ', '12.50'],
    ['+5', '5'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['007.10', '7.10'],
    ['-0.00', '0.00'],
    ['1.250e1', '12.50'],
    ['1.5E2', '150'],
    ['1e-3', '0.001'],
    ['-2.5e+3', '-2500'],
    ['12345678901234567890.123456789', '12345678901234567890.123456789'],
    ['NaN', 'NaN'],
    ['nan', 'NaN'],
    ['Infinity', 'Infinity'],
    ['-infinity', '-Infinity'],
    ['-inf', '-Infinity'],
  ] as [SqliteValue, string][])('fromSqlite(%s) -> %s', (value, wire) => {
    expect(read('numeric', value)).toBe(wire);
  });

  it.each(['', ' ', '.', 'e5', '1e', '1,5', '1.2.3', '0x10', 'abc', '1 000', '--1', '1e999999', Buffer.from('1')] as SqliteValue[])(
    'fromSqlite(%s) throws ValueError',
    (value) => {
      expect(() => read('numeric', value)).toThrow(ValueError);
    },
  );

  it('toSqlite returns the exact wire text for every affinity whose conversion keeps the value', () => {
    for (const affinity of ['TEXT', 'BLOB', 'NUMERIC', 'INTEGER', 'REAL'] as Affinity[]) {
      expect(write('numeric', '12.50', affinity)).toBe('12.50');
      expect(write('numeric', '0.1', affinity)).toBe('0.1');
      expect(write('numeric', 'NaN', affinity)).toBe('NaN');
    }
    expect(write('numeric', '12345678901234567890.123456789', 'TEXT')).toBe('12345678901234567890.123456789');
    expect(write('numeric', '12345678901234567890.123456789', 'BLOB')).toBe('12345678901234567890.123456789');
    expect(write('numeric', '9223372036854775807', 'NUMERIC')).toBe('9223372036854775807');
  });

  it('toSqlite refuses a value a numeric-affinity column would round', () => {
    expect(() => write('numeric', '12345678901234567890.123456789', 'NUMERIC')).toThrow(ValueError);
    expect(() => write('numeric', '0.10000000000000000001', 'REAL')).toThrow(ValueError);
    expect(() => write('numeric', '9223372036854775808', 'INTEGER')).toThrow(ValueError);
    expect(() => write('numeric', '9007199254740993', 'REAL')).toThrow(ValueError);
    expect(() => write('numeric', `1${'0'.repeat(400)}`, 'NUMERIC')).toThrow(ValueError);
    expect(() => write('numeric', 'abc', 'TEXT')).toThrow(ValueError);
  });

  it('same compares values, not spellings, without floating point', () => {
    expect(same('numeric', '12.50', '12.5')).toBe(true);
    expect(same('numeric', '12.5', '12.500')).toBe(true);
    expect(same('numeric', '-0', '0')).toBe(true);
    expect(same('numeric', '-0.00', '0')).toBe(true);
    expect(same('numeric', '0100', '100.0')).toBe(true);
    expect(same('numeric', '1e2', '100')).toBe(true);
    expect(same('numeric', 'NaN', 'NaN')).toBe(true);
    expect(same('numeric', '0.1', '0.10000000000000001')).toBe(false); // equal as doubles
    expect(same('numeric', '1', '-1')).toBe(false);
    expect(same('numeric', 'Infinity', 'NaN')).toBe(false);
    expect(same('numeric', '12.5', '12.05')).toBe(false);
  });

  it('compareVersion orders exactly, with Postgres order for the special values', () => {
    expect(compareVersion('numeric', '9.99', '10')).toBe(-1); // string order would say 1
    expect(compareVersion('numeric', '-10', '-9.5')).toBe(-1);
    expect(compareVersion('numeric', '-0.001', '0')).toBe(-1);
    expect(compareVersion('numeric', '0.5', '0.49999999999999999999')).toBe(1);
    expect(compareVersion('numeric', '12.50', '12.5')).toBe(0);
    expect(compareVersion('numeric', '-Infinity', '-1e100')).toBe(-1);
    expect(compareVersion('numeric', 'Infinity', '1e100')).toBe(1);
    expect(compareVersion('numeric', 'NaN', 'Infinity')).toBe(1);
  });
});

describe('float', () => {
  it.each([
    [0.1, '0.1'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-0, '-0'],
    [1e21, '1e+21'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [3n, '3'],
    ['1.50', '1.5'],
    [' 2e3 ', '2000'],
    ['.5', '0.5'],
    ['-0', '-0'],
    ['NaN', 'NaN'],
    ['inf', 'Infinity'],
    ['-Infinity', '-Infinity'],
  ] as [SqliteValue, string][])('fromSqlite(%s) -> %s', (value, wire) => {
    expect(read('float', value)).toBe(wire);
  });

  it.each([
    // A double would round these: 2^53 + 1, more digits than a double keeps, beyond its range.
    9007199254740993n,
    '9007199254740993',
    '0.1000000000000000055511151231257827',
    '1e400',
    '1e-400',
  ] as SqliteValue[])('fromSqlite(%s) is refused, not rounded', (value) => {
    expect(() => read('float', value)).toThrow(/a double would round it/);
  });

  it.each(['', ' ', 'abc', '0x10', '1e', '1,5', '1_000', Buffer.from([1])] as SqliteValue[])(
    'fromSqlite(%s) throws ValueError',
    (value) => {
      expect(() => read('float', value)).toThrow(ValueError);
    },
  );

  it('fromPg normalises Postgres spelling to JS spelling', () => {
    expect(fromPg('float', '1.5e-07')).toBe('1.5e-7');
    expect(fromPg('float', '1e+21')).toBe('1e+21');
    expect(fromPg('float', '0.30000000000000004')).toBe('0.30000000000000004');
    expect(fromPg('float', 'NaN')).toBe('NaN');
    expect(fromPg('float', '-Infinity')).toBe('-Infinity');
  });

  it('toSqlite gives the exact double, or exact text for a TEXT column', () => {
    expect(write('float', '0.30000000000000004', 'REAL')).toBe(0.30000000000000004);
    expect(write('float', '-Infinity', 'REAL')).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(write('float', '-0', 'REAL'), -0)).toBe(true);
    expect(write('float', '0.30000000000000004', 'TEXT')).toBe('0.30000000000000004');
    expect(write('float', 'NaN', 'TEXT')).toBe('NaN');
  });

  it('toSqlite refuses NaN where SQLite would store NULL', () => {
    expect(() => write('float', 'NaN', 'REAL')).toThrow(ValueError);
    expect(() => write('float', 'NaN', 'NUMERIC')).toThrow(ValueError);
    expect(() => write('float', 'abc', 'REAL')).toThrow(ValueError);
  });

  it('same is double equality, with NaN equal to NaN', () => {
    expect(same('float', '0.1', '0.10')).toBe(true);
    expect(same('float', '1e+21', '1000000000000000000000')).toBe(true);
    expect(same('float', 'NaN', 'NaN')).toBe(true);
    expect(same('float', '-0', '0')).toBe(true);
    expect(same('float', '0.1', '0.30000000000000004')).toBe(false);
    expect(same('float', 'NaN', '0')).toBe(false);
  });

  it('compareVersion puts NaN last', () => {
    expect(compareVersion('float', '1.5', '10')).toBe(-1);
    expect(compareVersion('float', 'NaN', 'Infinity')).toBe(1);
    expect(compareVersion('float', 'Infinity', 'NaN')).toBe(-1);
    expect(compareVersion('float', 'NaN', 'NaN')).toBe(0);
  });
});

describe('bool', () => {
  it.each([
    [1n, 'true'],
    [0n, 'false'],
    [1, 'true'],
    [0, 'false'],
    ['true', 'true'],
    ['FALSE', 'false'],
    ['t', 'true'],
    ['F', 'false'],
    ['1', 'true'],
    ['0', 'false'],
    ['Yes', 'true'],
    ['no', 'false'],
    ['y', 'true'],
    ['N', 'false'],
    [' true ', 'true'],
  ] as [SqliteValue, string][])('fromSqlite(%s) -> %s', (value, wire) => {
    expect(read('bool', value)).toBe(wire);
  });

  it.each([2n, -1n, 2, 0.5, 'maybe', '', 'on', '2', 'tru', Buffer.from([1])] as SqliteValue[])(
    'fromSqlite(%s) throws ValueError',
    (value) => {
      expect(() => read('bool', value)).toThrow(ValueError);
    },
  );

  it('fromPg turns t/f into true/false', () => {
    expect(fromPg('bool', 't')).toBe('true');
    expect(fromPg('bool', 'f')).toBe('false');
  });

  it('toSqlite gives 1n/0n, or true/false text for a TEXT column', () => {
    expect(write('bool', 'true', 'INTEGER')).toBe(1n);
    expect(write('bool', 'false', 'NUMERIC')).toBe(0n);
    expect(write('bool', 'true', 'TEXT')).toBe('true');
    expect(write('bool', 'false', 'TEXT')).toBe('false');
    expect(() => write('bool', 'maybe', 'INTEGER')).toThrow(ValueError);
  });

  it('same accepts both spellings', () => {
    expect(same('bool', 't', 'true')).toBe(true);
    expect(same('bool', 'true', 'f')).toBe(false);
    expect(compareVersion('bool', 'false', 'true')).toBe(-1);
  });
});

describe('text and other', () => {
  it('fromSqlite keeps strings, and writes numbers as text', () => {
    expect(read('text', 'hello')).toBe('hello');
    expect(read('text', 12345678901234567890n)).toBe('12345678901234567890');
    expect(read('text', 1.5)).toBe('1.5');
    expect(read('text', Buffer.from('héllo 👋', 'utf8'))).toBe('héllo 👋');
    expect(read('text', Buffer.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('\ufeffa'); // BOM kept
    expect(read('other', 'pending')).toBe('pending');
  });

  it.each([
    ['NUL in a string', 'a\u0000b'],
    ['a lone high surrogate', 'a\ud83d'],
    ['a lone low surrogate', '\udc4db'],
    ['invalid UTF-8', Buffer.from([0x61, 0xff, 0x62])],
    ['an overlong encoding', Buffer.from([0xc0, 0x80])],
    ['a truncated sequence', Buffer.from([0xe2, 0x82])],
    ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['NUL in a blob', Buffer.from([0x61, 0x00])],
  ] as [string, SqliteValue][])('refuses %s', (_label, value) => {
    expect(() => read('text', value)).toThrow(ValueError);
    expect(() => read('other', value)).toThrow(ValueError);
  });

  it('toSqlite refuses text a numeric-affinity column would turn into a different number', () => {
    expect(write('text', '12', 'INTEGER')).toBe('12');
    expect(write('text', '0.1', 'REAL')).toBe('0.1');
    expect(write('text', 'abc', 'NUMERIC')).toBe('abc');
    expect(write('text', '12.50', 'TEXT')).toBe('12.50');
    expect(write('text', '12.50', 'BLOB')).toBe('12.50');
    for (const text of ['12.50', '007', '-0', ' 12', '1e3', '12.0']) {
      expect(() => write('text', text, 'NUMERIC'), text).toThrow(ValueError);
      expect(() => write('other', text, 'INTEGER'), text).toThrow(ValueError);
    }
  });

  it('is a pass-through both ways with string equality', () => {
    expect(fromPg('text', ' x ')).toBe(' x ');
    expect(write('text', 'x')).toBe('x');
    expect(write('other', 'pending')).toBe('pending');
    expect(same('text', 'a', 'A')).toBe(false);
    expect(same('text', 'é', 'e\u0301')).toBe(false); // no Unicode normalisation: byte-exact
    expect(same('other', 'x', 'x')).toBe(true);
  });
});

describe('uuid', () => {
  const canonical = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';

  it.each([
    canonical,
    'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
    'a0eebc999c0b4ef8bb6d6bb9bd380a11',
    'A0EEBC999C0B4EF8BB6D6BB9BD380A11',
    ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ',
    Buffer.from('a0eebc999c0b4ef8bb6d6bb9bd380a11', 'hex'),
  ] as SqliteValue[])('fromSqlite(%s) is canonical', (value) => {
    expect(read('uuid', value)).toBe(canonical);
  });

  it.each([
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111',
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
    'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    'a0eebc99-9c0b4ef8-bb6d-6bb9bd380a11-',
    '',
    Buffer.alloc(15),
    Buffer.alloc(17),
    12n,
  ] as SqliteValue[])('fromSqlite(%s) throws ValueError', (value) => {
    expect(() => read('uuid', value)).toThrow(ValueError);
  });

  it('toSqlite gives lowercase text, or 16 bytes for a BLOB column', () => {
    expect(write('uuid', canonical, 'TEXT')).toBe(canonical);
    expect(write('uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'NUMERIC')).toBe(canonical);
    const blob = write('uuid', canonical, 'BLOB');
    expect(Buffer.isBuffer(blob)).toBe(true);
    expect((blob as Buffer).length).toBe(16);
    expect(() => write('uuid', 'nope', 'TEXT')).toThrow(ValueError);
  });

  it('fromPg lowercases and same ignores case', () => {
    expect(fromPg('uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe(canonical);
    expect(same('uuid', canonical, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe(true);
    expect(same('uuid', canonical, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12')).toBe(false);
  });
});

describe('bytea', () => {
  it.each([
    [Buffer.from([0x00, 0xff, 0x10]), '\\x00ff10'],
    [new Uint8Array([0xde, 0xad, 0xbe, 0xef]), '\\xdeadbeef'],
    [Buffer.alloc(0), '\\x'],
    ['\\xDEADBEEF', '\\xdeadbeef'],
    ['\\x', '\\x'],
    ['abc', '\\x616263'],
    ['é', '\\xc3a9'],
    ['', '\\x'],
    ['\\xabc', '\\x5c78616263'], // odd digit count: not hex format, so its bytes
  ] as [SqliteValue, string][])('fromSqlite(%s) -> %s', (value, wire) => {
    expect(read('bytea', value)).toBe(wire);
  });

  it('reads a Uint8Array view at its own offset', () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5]);
    expect(read('bytea', new Uint8Array(backing.buffer, 1, 3) as unknown as Buffer)).toBe('\\x020304');
  });

  it.each([12n, 1.5, 'a\ud800'] as SqliteValue[])('fromSqlite(%s) throws ValueError', (value) => {
    expect(() => read('bytea', value)).toThrow(ValueError);
  });

  it('toSqlite gives a Buffer with the exact bytes', () => {
    const blob = write('bytea', '\\x00ff', 'BLOB') as Buffer;
    expect(Buffer.isBuffer(blob)).toBe(true);
    expect([...blob]).toEqual([0x00, 0xff]);
    expect([...(write('bytea', '\\xDEAD', 'BLOB') as Buffer)]).toEqual([0xde, 0xad]);
  });

  it.each(['\\xabc', 'deadbeef', '\\xzz', '\\x00 ff'])('toSqlite(%j) throws ValueError', (wire) => {
    expect(() => write('bytea', wire, 'BLOB')).toThrow(ValueError);
  });

  it('fromPg lowercases; same compares bytes', () => {
    expect(fromPg('bytea', '\\xDEADBEEF')).toBe('\\xdeadbeef');
    expect(same('bytea', '\\xDEADBEEF', '\\xdeadbeef')).toBe(true);
    expect(same('bytea', '\\x00', '\\x')).toBe(false);
    expect(compareVersion('bytea', '\\x01', '\\x0100')).toBe(-1);
  });
});
