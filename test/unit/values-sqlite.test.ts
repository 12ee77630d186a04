import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ColumnCodec,
  type Family,
  type SqliteValue,
  type TemporalForm,
  ValueError,
  affinityOf,
  fromPg,
  fromSqlite,
  same,
  toSqlite,
} from '../../src/engine/values/codec.ts';

/**
 * The codec against a real (in-memory) SQLite: what toSqlite returns is bound, SQLite applies the
 * column's affinity, and fromSqlite must read back a value equal to the one written. This checks
 * the codec's predictions about SQLite's conversions instead of trusting them.
 */

const db = new Database(':memory:');
db.defaultSafeIntegers(true);
afterAll(() => db.close());

let tableCount = 0;

/** Stores `value` in a fresh column declared `declaredType` and reads it back as the engine does. */
function storeAndLoad(declaredType: string, value: SqliteValue): SqliteValue {
  const table = `t${tableCount++}`;
  db.exec(`CREATE TABLE ${table} (v ${declaredType})`);
  db.prepare(`INSERT INTO ${table} (v) VALUES (?)`).run(value);
  const row = db.prepare(`SELECT v FROM ${table}`).get() as { v: SqliteValue };
  return row.v;
}

function codecFor(family: Family, declaredType: string, extra: Partial<ColumnCodec> = {}): ColumnCodec {
  return { family, affinity: affinityOf(declaredType), ...extra };
}

/** Postgres text -> wire -> SQLite (real) -> wire; returns both wires. */
function throughSqlite(c: ColumnCodec, declaredType: string, pgText: string): { wire: string; back: string } {
  const wire = fromPg(c, pgText) as string;
  const loaded = storeAndLoad(declaredType, toSqlite(c, wire));
  return { wire, back: fromSqlite(c, loaded) as string };
}

const DECLARED = ['TEXT', 'INTEGER', 'REAL', 'NUMERIC', 'BLOB', ''];

describe('round trips through real SQLite columns of every affinity', () => {
  const cases: [Family, string[]][] = [
    ['int', ['0', '-1', '9223372036854775807', '-9223372036854775808', '9007199254740993']],
    ['numeric', ['0.50', '12.50', '-0.00', '0.1', '12345678901234567890.123456789', '1e-7', 'NaN', '100']],
    ['float', ['0.30000000000000004', '-0', '1e+21', '5e-324', 'Infinity', '-Infinity', 'NaN']],
    ['bool', ['t', 'f']],
    ['text', ['👍🏽 漢字 e\u0301', '', '12.50', '007', ' x ']],
    ['uuid', ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']],
    ['bytea', ['\\x00ff00', '\\x', '\\x31323335']],
    ['json', ['{"b": 12345678901234567890, "a": [1, 2.50]}', '12.50', '"s"']],
    ['date', ['2024-02-29', '0044-03-15']],
    ['time', ['01:02:03.123456', '24:00:00', '12:00:00+05:30']],
    ['timestamptz', ['2026-11-24 01:18:19.123456+00', '1969-12-31 23:59:59.9995+00']],
    ['timestamp', ['2026-11-24 01:18:19.5']],
    ['other', ['pending']],
  ];

  for (const [family, values] of cases) {
    for (const declaredType of DECLARED) {
      it(`${family} in a column declared ${JSON.stringify(declaredType)}`, () => {
        const c = codecFor(family, declaredType);
        for (const pg of values) {
          let result: { wire: string; back: string };
          try {
            result = throughSqlite(c, declaredType, pg);
          } catch (err) {
            // Refusing is allowed (the row is reported); silently changing the value is not.
            expect(err, `${pg}`).toBeInstanceOf(ValueError);
            continue;
          }
          expect(same(c, result.back, result.wire), `${pg} came back as ${result.back}`).toBe(true);
        }
      });
    }
  }
});

describe('refusals happen exactly where SQLite would change the value', () => {
  it('numeric: refused iff storing the text would not read back equal', () => {
    const values = [
      '0.50', '12345678901234567890.123456789', '9223372036854775807', '9223372036854775808', '9007199254740993',
      '0.1', '0.10000000000000001', '123456789012345.6789', '-0.00', `1${'0'.repeat(400)}`, '1e-7',
    ];
    for (const declaredType of DECLARED) {
      const c = codecFor('numeric', declaredType);
      for (const pg of values) {
        const wire = fromPg('numeric', pg) as string;
        const rawBack = fromSqlite(c, storeAndLoad(declaredType, wire));
        const keeps = same('numeric', rawBack, wire);
        const refused = (() => {
          try {
            toSqlite(c, wire);
            return false;
          } catch {
            return true;
          }
        })();
        expect(refused, `${pg} in ${declaredType || 'untyped'} (read back ${rawBack})`).toBe(!keeps);
      }
    }
  });

  it('text: refused iff SQLite would store it as a number that reads back differently', () => {
    const values = [
      '12', '12.50', '12.5', '007', '-0', '0', '-12', ' 12', '12 ', '+12', '.5', '5.', '1e3', '1e+21', '1E3',
      '100000000000000000000', '9223372036854775807', '9223372036854775808', '9007199254740993',
      '0.30000000000000004', '0.1', '0x10', 'Infinity', 'NaN', '1e400', 'abc', '', '12abc', '1_000', '١٢',
    ];
    for (const declaredType of DECLARED) {
      const c = codecFor('text', declaredType);
      for (const text of values) {
        const rawBack = fromSqlite(c, storeAndLoad(declaredType, text));
        const refused = (() => {
          try {
            toSqlite(c, text);
            return false;
          } catch {
            return true;
          }
        })();
        expect(refused, `${JSON.stringify(text)} in ${declaredType || 'untyped'} (read back ${rawBack})`).toBe(
          rawBack !== text,
        );
      }
    }
  });

  it('float NaN is refused where SQLite would store NULL', () => {
    expect(storeAndLoad('REAL', Number.NaN)).toBeNull();
    expect(() => toSqlite(codecFor('float', 'REAL'), 'NaN')).toThrow(ValueError);
    expect(throughSqlite(codecFor('float', 'TEXT'), 'TEXT', 'NaN').back).toBe('NaN');
  });

  it('int beyond 2^53 is refused for a REAL column, which would round it', () => {
    expect(storeAndLoad('REAL', 9007199254740993n)).toBe(9007199254740992);
    expect(() => toSqlite(codecFor('int', 'REAL'), '9007199254740993')).toThrow(ValueError);
  });
});

describe('temporal forms in their natural column types', () => {
  const forms: [TemporalForm, string][] = [
    ['iso-ms-z', 'TEXT'],
    ['iso-ms', 'DATETIME'],
    ['sqlite-datetime', 'TIMESTAMP'],
    ['epoch-ms', 'INTEGER'],
    ['epoch-s', 'INTEGER'],
    ['epoch-s', 'REAL'],
  ];
  for (const [form, declaredType] of forms) {
    it(`${form} in ${declaredType}`, () => {
      const c = codecFor('timestamptz', declaredType, { form });
      for (const pg of ['2026-11-24 01:18:19.123456+00', '2026-11-24 01:18:19+00', '1969-12-31 23:59:59.001+00']) {
        const { wire, back } = throughSqlite(c, declaredType, pg);
        expect(same('timestamptz', back, wire), `${pg} -> ${back}`).toBe(true);
      }
    });
  }

  it('SQLite date functions read what iso-ms-z and sqlite-datetime write', () => {
    for (const form of ['iso-ms-z', 'iso-ms', 'sqlite-datetime'] as TemporalForm[]) {
      const stored = toSqlite({ family: 'timestamptz', affinity: 'TEXT', form }, '2026-11-24T01:18:19.123456Z');
      const row = db.prepare("SELECT strftime('%Y-%m-%d %H:%M:%f', ?) AS t").get(stored) as { t: string };
      expect(row.t, form).toBe('2026-11-24 01:18:19.123');
    }
  });
});
