import { describe, expect, it } from 'vitest';
import {
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
import { parseJson } from '../../src/engine/values/json-tree.ts';
import { formatPgArray, parsePgArray } from '../../src/engine/values/pg-array.ts';

/** json/jsonb and one-dimensional arrays. */

const json: ColumnCodec = { family: 'json', affinity: 'TEXT' };
const arrayOf = (element: Family): ColumnCodec => ({ family: 'array', element, affinity: 'TEXT' });

describe('json', () => {
  it.each([
    '{"a":1}',
    ' { "a" : [1, 2.50, -3e2, true, false, null, "x"] } ',
    '[]',
    '{}',
    '"just a string"',
    '12345678901234567890',
    'null',
    'true',
    '"\\u00e9\\n\\"\\\\"',
    '{"emoji":"👍🏽","cjk":"漢字"}',
  ])('fromSqlite keeps valid JSON verbatim: %s', (text) => {
    expect(fromSqlite(json, text)).toBe(text);
    expect(toSqlite(json, text)).toBe(text);
  });

  it.each([
    '',
    ' ',
    '{a:1}',
    "{'a':1}",
    '[1,]',
    '{"a":1,}',
    '[1 2]',
    '1 2',
    'NaN',
    'Infinity',
    '01',
    '1.',
    '.5',
    '+1',
    '"unterminated',
    '"bad \\x escape"',
    '"raw\ttab"',
    '{"a" 1}',
    'tru',
    'nul',
    '[',
    '{"a":1}}',
    '"\ud800"', // raw lone surrogate in the JS string
  ])('fromSqlite refuses invalid JSON: %j', (text) => {
    expect(() => fromSqlite(json, text)).toThrow(ValueError);
  });

  it('writes numbers from SQLite as JSON text', () => {
    expect(fromSqlite(json, 12345678901234567890n)).toBe('12345678901234567890');
    expect(fromSqlite(json, 1.5)).toBe('1.5');
    expect(() => fromSqlite(json, Number.NaN)).toThrow(ValueError);
    expect(() => fromSqlite(json, Number.POSITIVE_INFINITY)).toThrow(ValueError);
    expect(() => fromSqlite(json, Buffer.from('{}'))).toThrow(ValueError);
  });

  it('the parser accepts exactly what JSON.parse accepts', () => {
    const samples = [
      '{"a":[1,{"b":null}]}', '[1e5, -0, 0.5E-3]', '"\\ud83d\\ude00"', '"\\uD800"', '[]', ' 1 ', '[-]', '[1e]',
      '[00]', '{"a":}', '"\\u12"', '["a",]', '\t\n\r 1', '\u00a01', '[1,2', 'true false', '{"__proto__":1}',
    ];
    for (const text of samples) {
      let native = true;
      try {
        JSON.parse(text);
      } catch {
        native = false;
      }
      let ours = true;
      try {
        parseJson(text);
      } catch {
        ours = false;
      }
      expect(ours, text).toBe(native);
    }
  });

  it('same ignores key order and whitespace (jsonb reorders and reformats)', () => {
    expect(same('json', '{"b":1,"a":[1,2]}', '{"a": [1, 2], "b": 1}')).toBe(true);
    expect(same('json', '{"a":{"y":1,"x":2}}', '{"a":{"x":2,"y":1}}')).toBe(true);
    expect(same('json', '{"a":1,"a":2}', '{"a":2}')).toBe(true); // jsonb keeps the last key
    expect(same('json', '"\\u00e9"', '"é"')).toBe(true);
    expect(same('json', '{"\\u0061":1}', '{"a":1}')).toBe(true);
  });

  it('same compares numbers exactly by value', () => {
    expect(same('json', '1.0', '1')).toBe(true);
    expect(same('json', '1e2', '100')).toBe(true);
    expect(same('json', '-0', '0')).toBe(true);
    expect(same('json', '{"n":12345678901234567890}', '{"n":12345678901234567891}')).toBe(false);
    expect(same('json', '0.1', '0.10000000000000001')).toBe(false);
  });

  it('same tells different structures apart', () => {
    expect(same('json', '[1,2]', '[2,1]')).toBe(false);
    expect(same('json', '{"a":1}', '{"a":1,"b":1}')).toBe(false);
    expect(same('json', '{"a":null}', '{}')).toBe(false);
    expect(same('json', '{"a":null}', '{"b":null}')).toBe(false);
    expect(same('json', 'null', 'false')).toBe(false);
    expect(same('json', '"1"', '1')).toBe(false);
    expect(same('json', '[]', '{}')).toBe(false);
    expect(same('json', '[[1]]', '[1]')).toBe(false);
    expect(same('json', 'true', 'false')).toBe(false);
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => fromSqlite(json, deep)).toThrow(ValueError);
    expect(same('json', deep, deep)).toBe(true); // identical strings, no parse needed
  });

  it('fromPg passes through; compareVersion falls back to text order', () => {
    expect(fromPg('json', '{"a": 1}')).toBe('{"a": 1}');
    expect(compareVersion('json', '"a"', '"b"')).toBe(-1);
  });
});

describe('array literals', () => {
  it.each([
    ['{}', []],
    ['{1,2,3}', ['1', '2', '3']],
    ['{"a b","x\\"y",NULL,"","NULL",null}', ['a b', 'x"y', null, '', 'NULL', null]],
    ['{ a , b c ,d }', ['a', 'b c', 'd']],
    ['{a\\,b,c\\\\d,\\ e\\ }', ['a,b', 'c\\d', ' e ']],
    ['{"{}","\\\\"}', ['{}', '\\']],
    ['{NULLx,xNULL}', ['NULLx', 'xNULL']],
    ['{\\NULL}', ['NULL']], // an escaped NULL is the string
    ['  {1}  ', ['1']],
    ['{"2026-11-24 01:18:19+00"}', ['2026-11-24 01:18:19+00']],
  ] as [string, (string | null)[]][])('parses %s', (text, items) => {
    expect(parsePgArray(text)).toEqual(items);
  });

  it.each([
    '',
    '1,2',
    '{',
    '{1,2',
    '{1,}',
    '{,1}',
    '{1,,2}',
    '{"a}',
    '{a"b"}',
    '{"a"b}',
    '{{1,2},{3,4}}',
    '[0:1]={1,2}',
    '{1}x',
    '{a\\}',
  ])('refuses %j', (text) => {
    expect(() => parsePgArray(text)).toThrow(ValueError);
  });

  it('formats like array_out: quotes only when needed', () => {
    expect(formatPgArray([])).toBe('{}');
    expect(formatPgArray(['1', '2'])).toBe('{1,2}');
    expect(formatPgArray(['a b', 'x"y', 'c,d', 'b\\s', null, '', 'NULL', 'null', '{x}', 'tab\there', 'é'])).toBe(
      '{"a b","x\\"y","c,d","b\\\\s",NULL,"","NULL","null","{x}","tab\there",é}',
    );
  });

  it('format then parse is the identity', () => {
    const items = ['a b', 'x"y', ',', '\\', '\\"', null, '', 'NULL', ' lead', 'trail ', '}{', '👍🏽', '\n'];
    expect(parsePgArray(formatPgArray(items))).toEqual(items);
  });
});

describe('arrays from SQLite', () => {
  it('converts a JSON array with proper quoting of every element', () => {
    expect(fromSqlite(arrayOf('text'), '["a b","x\\"y",null,"",",","\\\\","NULL","{}","plain"]')).toBe(
      '{"a b","x\\"y",NULL,"",",","\\\\","NULL","{}",plain}',
    );
    expect(fromSqlite(arrayOf('text'), '[]')).toBe('{}');
    expect(fromSqlite(arrayOf('text'), ' [ "a" , 1 , true ] ')).toBe('{a,1,true}');
  });

  it('keeps numbers exact (no JSON.parse)', () => {
    expect(fromSqlite(arrayOf('int'), '[1,-2,9223372036854775807,9007199254740993]')).toBe(
      '{1,-2,9223372036854775807,9007199254740993}',
    );
    expect(fromSqlite(arrayOf('numeric'), '[0.50,12345678901234567890.123456789,1e-7,"NaN"]')).toBe(
      '{0.50,12345678901234567890.123456789,0.0000001,NaN}',
    );
    expect(fromSqlite(arrayOf('float'), '[0.1,1e21]')).toBe('{0.1,1e+21}');
  });

  it('applies the element family rules to every element', () => {
    expect(fromSqlite(arrayOf('bool'), '[true,false,null,1,"t"]')).toBe('{true,false,NULL,true,true}');
    expect(fromSqlite(arrayOf('uuid'), '["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"]')).toBe(
      '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
    );
    expect(fromSqlite(arrayOf('timestamptz'), '["2026-11-24 01:18:19.5+00",1700000000]')).toBe(
      '{2026-11-24T01:18:19.500000Z,2023-11-14T22:13:20.000000Z}',
    );
    expect(fromSqlite(arrayOf('date'), '["2024-02-29"]')).toBe('{2024-02-29}');
    expect(fromSqlite(arrayOf('json'), '[{"a":1},[2,3],"\\"s\\"",4]')).toBe('{"{\\"a\\":1}","[2,3]","\\"s\\"",4}');
  });

  it('accepts an array literal that is already in Postgres form', () => {
    expect(fromSqlite(arrayOf('text'), '{a,"b c",NULL}')).toBe('{a,"b c",NULL}');
    expect(fromSqlite(arrayOf('int'), '{ 1 , 2 }')).toBe('{1,2}');
    expect(fromSqlite(arrayOf('bool'), '{t,f}')).toBe('{true,false}');
  });

  it.each([
    ['int', '[1.5]'],
    ['int', '["x"]'],
    ['int', '[1e3]'],
    ['bool', '[2]'],
    ['uuid', '["nope"]'],
    ['date', '["2023-02-29"]'],
    ['text', '["a\\u0000b"]'],
    ['text', '[["nested"]]'],
    ['text', '[{"a":1}]'],
    ['json', '["not json"]'],
    ['text', '{"a":1}'],
    ['text', '"abc"'],
    ['text', 'abc'],
    ['text', '[1,'],
    ['text', '{{1,2},{3,4}}'],
    ['text', '[1:2]={a,b}'],
    ['text', 12n],
    ['text', 1.5],
    ['text', Buffer.from('[]')],
  ] as [Family, SqliteValue][])('%s[] refuses %s', (element, value) => {
    expect(() => fromSqlite(arrayOf(element), value)).toThrow(ValueError);
  });
});

describe('arrays to SQLite', () => {
  it('writes JSON with elements typed by the element family', () => {
    expect(toSqlite(arrayOf('text'), '{"a b","x\\"y",NULL,"",",","\\\\"}')).toBe('["a b","x\\"y",null,"",",","\\\\"]');
    expect(toSqlite(arrayOf('int'), '{1,-2,9223372036854775807}')).toBe('[1,-2,9223372036854775807]');
    expect(toSqlite(arrayOf('numeric'), '{0.50,NaN,-Infinity,12345678901234567890.123456789}')).toBe(
      '[0.50,"NaN","-Infinity",12345678901234567890.123456789]',
    );
    expect(toSqlite(arrayOf('float'), '{1e+21,-0,1.5e-07,Infinity}')).toBe('[1e+21,-0,1.5e-7,"Infinity"]');
    expect(toSqlite(arrayOf('bool'), '{t,f,NULL}')).toBe('[true,false,null]');
    expect(toSqlite(arrayOf('uuid'), '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}')).toBe(
      '["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]',
    );
    expect(toSqlite(arrayOf('timestamptz'), '{"2026-11-24 01:18:19.123456+00"}')).toBe('["2026-11-24T01:18:19.123456Z"]');
    expect(toSqlite(arrayOf('json'), '{"{\\"a\\": 1}"}')).toBe('["{\\"a\\": 1}"]');
    expect(toSqlite(arrayOf('text'), '{}')).toBe('[]');
  });

  it('the JSON reads back to an equal array', () => {
    const cases: [Family, string][] = [
      ['text', '{"a b","x\\"y",NULL,"",",","\\\\","NULL",plain,"👍🏽"}'],
      ['int', '{9223372036854775807,-9223372036854775808,NULL}'],
      ['numeric', '{0.50,NaN,12345678901234567890.123456789,-0.00}'],
      ['float', '{0.30000000000000004,-Infinity,NaN}'],
      ['bool', '{t,f}'],
      ['timestamptz', '{"2026-11-24 01:18:19.123456+00",infinity}'],
      ['date', '{2024-02-29}'],
      ['json', '{"{\\"b\\": 2, \\"a\\": 1}",null}'],
      ['bytea', '{"\\\\x00ff"}'],
    ];
    for (const [element, pg] of cases) {
      const c = arrayOf(element);
      const wire = fromPg(c, pg);
      const back = fromSqlite(c, toSqlite(c, wire));
      expect(same(c, back, wire), `${element} ${pg}`).toBe(true);
      expect(same(c, back, pg), `${element} ${pg} vs Postgres text`).toBe(true);
    }
  });

  it('refuses what JSON cannot carry or the element rules reject', () => {
    expect(() => toSqlite(arrayOf('int'), '{{1,2},{3,4}}')).toThrow(ValueError);
    expect(() => toSqlite(arrayOf('int'), '[0:1]={1,2}')).toThrow(ValueError);
    expect(() => toSqlite(arrayOf('bool'), '{maybe}')).toThrow(ValueError);
    expect(() => toSqlite(arrayOf('int'), 'not an array')).toThrow(ValueError);
  });
});

describe('arrays: fromPg, same, compareVersion', () => {
  it('fromPg rewrites elements in wire spelling when the element family is known', () => {
    expect(fromPg(arrayOf('bool'), '{t,f,NULL}')).toBe('{true,false,NULL}');
    expect(fromPg(arrayOf('timestamptz'), '{"2026-11-24 01:18:19+00"}')).toBe('{2026-11-24T01:18:19.000000Z}');
    expect(fromPg('array', '{t,f}')).toBe('{t,f}');
    expect(fromPg(arrayOf('int'), '[0:1]={1,2}')).toBe('[0:1]={1,2}'); // kept, not silently rebased
  });

  it('same uses the element family when given one', () => {
    expect(same(arrayOf('bool'), '{t,f}', '{true,false}')).toBe(true);
    expect(same(arrayOf('numeric'), '{1.0,2.50}', '{1,2.5}')).toBe(true);
    expect(same(arrayOf('timestamptz'), '{"2026-11-24 01:18:19.123456+00"}', '{2026-11-24T01:18:19.123Z}')).toBe(true);
    expect(same(arrayOf('timestamptz'), '{"2026-11-24 01:18:19.123+00"}', '{2026-11-24T01:18:19.124Z}')).toBe(false);
    expect(same(arrayOf('int'), '{9007199254740993}', '{9007199254740992}')).toBe(false);
    expect(same(arrayOf('json'), '{"{\\"a\\":1,\\"b\\":2}"}', '{"{\\"b\\": 2, \\"a\\": 1}"}')).toBe(true);
  });

  it('without an element family, elements compare as text after unquoting', () => {
    expect(same('array', '{a,"b"}', '{"a",b}')).toBe(true);
    expect(same('array', '{ 1 , 2 }', '{1,2}')).toBe(true);
    expect(same('array', '{t}', '{true}')).toBe(false);
    expect(same('array', '{1.0}', '{1}')).toBe(false);
  });

  it('same distinguishes NULL, "NULL", empty, order and length', () => {
    const c = arrayOf('text');
    expect(same(c, '{a,NULL}', '{a,"NULL"}')).toBe(false);
    expect(same(c, '{""}', '{NULL}')).toBe(false);
    expect(same(c, '{}', '{""}')).toBe(false);
    expect(same(c, '{a,b}', '{b,a}')).toBe(false);
    expect(same(c, '{a}', '{a,a}')).toBe(false);
    expect(same(c, '{NULL}', '{NULL}')).toBe(true);
    expect(same(c, '{malformed', '{malformed')).toBe(true);
    expect(same(c, '{malformed', '{other')).toBe(false);
  });

  it('compareVersion falls back to text order', () => {
    expect(compareVersion(arrayOf('int'), '{1}', '{2}')).toBe(-1);
  });
});
