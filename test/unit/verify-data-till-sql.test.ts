import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { localRowsToWire } from '../../src/engine/convert.ts';
import type { ColumnPlan, SyncPlan, TablePlan } from '../../src/engine/plan/types.ts';
import type { Affinity, Family, TemporalForm } from '../../src/engine/values/codec.ts';
import type { Modifier } from '../../src/engine/values/fits.ts';
import { encode, endedColumns, rowHash } from '../../src/engine/verify-data/checksum.ts';
import { endsWithBar, normalText } from '../../src/engine/verify-data/normal-form.ts';
import { tillRowTextSql } from '../../src/engine/verify-data/till-sql.ts';

// verify-data's till scan lets SQLite build the row text for common spellings (till-sql.ts). For
// every value it gives a text for, the text must be the one the push's conversion gives
// (normal-form.ts), or one no cloud row can have (NUL in text, a timestamp Postgres never
// prints): such a row only makes its bucket differ, and the conversion then judges it. Values in
// other valid spellings must get no text (they are converted in JavaScript), and the common
// spellings must get one (or nothing is gained).

const db = new Database(':memory:');
afterAll(() => db.close());

function column(family: Family, affinity: Affinity, modifier?: Modifier, form?: TemporalForm): ColumnPlan {
  return { pg: 'v', sqlite: 'v', family, castType: family, codec: { family, affinity, ...(form ? { form } : {}) }, pgNotNull: false, modifier };
}

/** The SQLite text and the conversion's text of each value, in a one-column table. */
function both(c: ColumnPlan, values: unknown[]): Array<{ value: unknown; sqlite: string | null; converted: string | undefined }> {
  const t = { name: 'vals', sqliteName: 'vals', columns: [c], key: [c], localKey: ['v'], fks: [] } as unknown as TablePlan;
  const sql = tillRowTextSql(t);
  if (sql === undefined) throw new Error(`no SQLite text for ${c.family}`);
  // No declared type: SQLite keeps each value in the storage class it is given.
  db.exec(`DROP TABLE IF EXISTS vals; CREATE TABLE vals (v)`);
  const insert = db.prepare(`INSERT INTO vals VALUES (?)`);
  return values.map((value) => {
    db.exec('DELETE FROM vals');
    insert.run(value);
    const sqlite = (db.prepare(`SELECT ${sql} FROM vals AS t`).pluck().get() as string | null) ?? null;
    const raw = db.prepare(`SELECT * FROM vals`).safeIntegers(true).get() as Record<string, never>;
    const [conv] = localRowsToWire(db as never, { byName: new Map() } as unknown as SyncPlan, t, [raw]);
    return { value, sqlite, converted: conv!.ok ? encode([normalText(c.family, conv!.row.v ?? null)], [endsWithBar(c.family)]) : undefined };
  });
}

/** Whether Postgres (UTC, ISO) prints this text for a timestamptz truncated to milliseconds. */
function pgPrintsStamp(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,2}[1-9]))?\+00$/.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const back = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  back.setUTCFullYear(y);
  return y >= 1 && h <= 23 && back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCMinutes() === mi && back.getUTCSeconds() === s;
}

/** Whether Postgres prints this text for trim_scale of a numeric (with at most `scale` decimals). */
function pgPrintsNumeric(text: string, scale: number | undefined): boolean {
  const m = /^-?(?:0|[1-9]\d*)(?:\.(\d*[1-9]))?$/.exec(text);
  if (m) return text !== '-0' && (scale === undefined || (m[1] ?? '').length <= scale);
  return scale === undefined && /^(?:NaN|-?Infinity)$/.test(text);
}

const pgPrintsUuid = (text: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text);

/** The normal form in a column's part ('<bytes>:<text>', or '<text>|' for families ending with '|'). */
const unframed = (c: ColumnPlan, part: string) => (endsWithBar(c.family) ? part.slice(0, -1) : part.slice(part.indexOf(':') + 1));

/** A part no cloud value of the column can have. */
function noCloudText(c: ColumnPlan, part: string): boolean {
  const text = unframed(c, part);
  if (text.includes('\u0000')) return true;
  if (c.family === 'timestamptz') return !pgPrintsStamp(text);
  if (c.family === 'numeric') return !pgPrintsNumeric(text, c.modifier?.scale);
  if (c.family === 'uuid') return !pgPrintsUuid(text);
  return false;
}

/**
 * Every value with a SQLite text has the conversion's text, or one no cloud value can have; and
 * for families ending with '|', the part is a text that is not empty and holds no '|', then '|'
 * (NULL: '|' alone), so a row text splits into the same columns when read back.
 */
function expectAgreement(rows: ReturnType<typeof both>, c: ColumnPlan) {
  for (const r of rows) {
    if (endsWithBar(c.family) && r.sqlite !== null) expect(r.sqlite, String(r.value)).toMatch(r.value === null ? /^\|$/ : /^[^|]+\|$/);
    if (r.sqlite === null || r.sqlite === r.converted) continue;
    expect(noCloudText(c, r.sqlite), `${String(r.value)}: ${r.sqlite} vs ${r.converted}`).toBe(true);
  }
}

/** SQLite's text by value: strings, bigints and NULL as themselves, REALs and blobs marked as such. */
const textOf = (rows: ReturnType<typeof both>) =>
  Object.fromEntries(rows.map((r) => [typeof r.value === 'number' || Buffer.isBuffer(r.value) ? `${typeof r.value}:${String(r.value)}` : String(r.value), r.sqlite]));

describe('verify-data: the till row text SQLite builds', () => {
  it('int: INTEGER storage only', () => {
    const c = column('int', 'INTEGER');
    const rows = both(c, [0n, 1n, -5n, 9223372036854775807n, -9223372036854775808n, 12.0, 12.5, '12', ' 7', '12.00', null]);
    expectAgreement(rows, c);
    expect(textOf(rows)).toMatchObject({ '0': '0|', '-5': '-5|', '9223372036854775807': '9223372036854775807|', null: '|' });
    expect(rows.filter((r) => typeof r.value === 'string').every((r) => r.sqlite === null)).toBe(true);
  });

  it('numeric: plain decimals without trailing zeros, zero without a sign, scale checked', () => {
    const values = ['12.50', '12.5', '0.5', '0.50', '0.00', '-0.00', '-0.5', '-12.30', '7', '0', '10', '100.0', '100', '012.5', '+1', '1e5', '1E5', ' 1.5', '1.', '12.', '12..', '1.5.0', '.5', '-', '--1', '-0', '1.2.3', '1.5 ', '12.345', '12.340', 'NaN', 'Infinity', '-Infinity', 'nan', '', '1|5', '#1', '1|', 12n, -3n, 0n, 1.5, null];
    for (const scale of [undefined, 2, 0]) {
      const c = column('numeric', 'TEXT', scale === undefined ? undefined : { scale });
      const rows = both(c, values);
      expectAgreement(rows, c);
      const text = textOf(rows);
      expect(text).toMatchObject({ '12.50': '12.5|', '0.00': '0|', '-12.30': '-12.3|', '100.0': '100|', '100': '100|', '12': '12|', '7': '7|', '1.': null, '12.': null, '12..': null, '1.5.0': null, '1.2.3': null, '': null, '1|5': null, '1|': null });
      expect(text['#1']).toBe('#1|'); // read back as itself or as nothing: never as a cloud part
    }
  });

  it('bool: 0 and 1, true/false/t/f', () => {
    const c = column('bool', 'INTEGER');
    const rows = both(c, [0n, 1n, 2n, -1n, 'true', 't', 'false', 'f', 'yes', 'TRUE', ' t', 1.0, null]);
    expectAgreement(rows, c);
    expect(textOf(rows)).toMatchObject({ '0': 'false|', '1': 'true|', true: 'true|', f: 'false|', '2': null, null: '|' });
  });

  it('text, varchar(n), char(n): the text, within the declared length; NUL never matches a cloud text', () => {
    const values = ['abc', 'Ünïcødé', '', 'ab ', 'abcd', 'a\u0000b', '😀😀😀', 12n, 1.5, Buffer.from('abc'), null];
    for (const [family, modifier] of [['text', undefined], ['text', { length: 3 }], ['bpchar', { length: 3 }], ['bpchar', undefined], ['other', undefined]] as const) {
      const c = column(family, 'TEXT', modifier);
      const rows = both(c, values);
      expectAgreement(rows, c);
      expect(textOf(rows).abc, `${family} ${JSON.stringify(modifier)}`).toBe('3:abc');
      expect(textOf(rows)['😀😀😀']).toBe(modifier === undefined || modifier.length >= 3 ? '12:😀😀😀' : null);
    }
    expect(textOf(both(column('bpchar', 'TEXT', { length: 3 }), ['ab  ', 'abc   ', 'abcd ']))).toEqual({ 'ab  ': '2:ab', 'abc   ': '3:abc', 'abcd ': null });
  });

  it('uuid: the 8-4-4-4-12 spelling, lowercased', () => {
    const id = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const c = column('uuid', 'TEXT');
    const accented = `é${id.slice(1)}`; // 36 characters, 37 bytes
    const barred = `${id.slice(0, 8)}|${id.slice(9)}`; // 36 characters, one a '|'
    const rows = both(c, [id, id.toUpperCase(), `{${id}}`, id.replaceAll('-', ''), `${id} `, Buffer.from(id.replaceAll('-', ''), 'hex'), 'not a uuid', accented, barred, null]);
    expect(noCloudText(c, textOf(rows)[accented]!)).toBe(true); // a text, but none Postgres prints
    expect(textOf(rows)[barred]).toBe(null);
    expectAgreement(rows, c);
    expect(textOf(rows)[id]).toBe(`${id}|`);
    expect(textOf(rows)[id.toUpperCase()]).toBe(`${id}|`);
    // Braced, undashed, padded: converted in JavaScript (or, at 36 characters, a text Postgres never prints).
    expect(rows.filter((r) => r.sqlite !== null).length).toBe(4); // both cases, the accented one, and NULL
  });

  it('timestamptz: toISOString spellings of real instants, Postgres text at ms', () => {
    const values = [
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.500Z',
      '2026-01-01T12:34:56.120Z',
      '2024-02-29T23:59:59.999Z',
      '2026-02-29T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-01-31T00:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-10T00:00:00.000Z',
      '2026-01-00T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T23:60:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '0999-06-01T10:00:00.001Z',
      '2026-01-01 00:00:00',
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00.123456Z',
      '2026-01-01T00:00:00.000+02:00',
      '2026-01-01T00:00:0é.000Z', // the shape, but a letter where a digit goes
      '2026-01|01T00:00:00.000Z', // a '|' where a '-' goes
      '2026-01-01T00:00:|0.000Z', // a '|' where a digit goes
      '2026-01-01T12:34:56.100Z',
      '2026-01-01T12:34:56.010Z',
      1767225600000n,
      null,
    ];
    for (const [modifier, form] of [[undefined, 'iso-ms-z'], [{ scale: 3 }, 'iso-ms-z'], [{ scale: 0 }, 'iso-ms-z'], [{ scale: 2 }, 'iso-ms'], [undefined, 'sqlite-datetime']] as const) {
      const c = column('timestamptz', 'TEXT', modifier, form);
      const rows = both(c, values);
      expectAgreement(rows, c);
      const text = textOf(rows);
      expect(text['2026-01-01T00:00:00.000Z']).toBe('2026-01-01 00:00:00+00|');
      expect(text['2024-02-29T23:59:59.999Z']).toBe(modifier?.scale === 0 || modifier?.scale === 2 ? null : '2024-02-29 23:59:59.999+00|');
      expect(text['2026-01-01T00:00:00.500Z']).toBe(modifier?.scale === 0 ? null : '2026-01-01 00:00:00.5+00|');
      // Of the right shape but no real instant: a text, which Postgres never prints (checked above).
      for (const bad of ['2026-02-29T00:00:00.000Z', '2026-02-30T00:00:00.000Z', '2026-04-31T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '0000-01-01T00:00:00.000Z', '2026-01-01T00:00:0é.000Z']) {
        if (modifier?.scale !== 0 && modifier?.scale !== 2) expect(pgPrintsStamp(text[bad]!.slice(0, -1)), bad).toBe(false);
      }
      // Other spellings are converted in JavaScript.
      for (const other of ['2026-01-01 00:00:00', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.123456Z', '2026-01-01T00:00:00.000+02:00', '2026-01|01T00:00:00.000Z', '2026-01-01T00:00:|0.000Z']) expect(text[other], other).toBe(null);
      if (modifier?.scale === undefined || modifier.scale === 3) {
        expect(text['2026-01-01T12:34:56.120Z']).toBe('2026-01-01 12:34:56.12+00|');
        expect(text['2026-01-01T12:34:56.100Z']).toBe('2026-01-01 12:34:56.1+00|');
        expect(text['2026-01-01T12:34:56.010Z']).toBe('2026-01-01 12:34:56.01+00|');
      }
    }
    expect(['2024-02-29 23:59:59.999+00', '2026-01-01 00:00:00.5+00', '0001-01-01 00:00:00+00'].every(pgPrintsStamp)).toBe(true);
    expect(['0', '-12.5', '100', '0.001', 'NaN'].every((x) => pgPrintsNumeric(x, undefined))).toBe(true);
    // Epoch storage has no text from SQLite at all.
    expect(tillRowTextSql({ columns: [column('timestamptz', 'INTEGER', undefined, 'epoch-ms')], fks: [] } as unknown as TablePlan)).toBeUndefined();
  });

  it('a whole row: the parts in column order, hashed as rowHash hashes the converted row', () => {
    const cols = [column('uuid', 'TEXT'), column('text', 'TEXT'), column('numeric', 'TEXT', { scale: 2 }), column('bool', 'INTEGER'), column('timestamptz', 'TEXT', { scale: 3 }, 'iso-ms-z')].map((c, i) => ({ ...c, pg: `c${i}`, sqlite: `c${i}` }));
    const t = { name: 'r', sqliteName: 'r', columns: cols, key: [cols[0]], localKey: ['c0'], fks: [] } as unknown as TablePlan;
    db.exec('DROP TABLE IF EXISTS r; CREATE TABLE r (c0 TEXT, c1 TEXT, c2 TEXT, c3 INTEGER, c4 TEXT)');
    db.prepare('INSERT INTO r VALUES (?, ?, ?, ?, ?)').run('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', 'Ünïcødé', '12.50', 1, '2026-01-01T00:00:00.120Z');
    const text = db.prepare(`SELECT ${tillRowTextSql(t)} FROM r AS t`).pluck().get() as string;
    const raw = db.prepare('SELECT * FROM r').safeIntegers(true).get() as Record<string, never>;
    const [conv] = localRowsToWire(db as never, { byName: new Map() } as unknown as SyncPlan, t, [raw]);
    expect(conv!.ok).toBe(true);
    if (conv!.ok) expect(text).toBe(encode(cols.map((c) => normalText(c.family, conv!.row[c.pg] ?? null)), endedColumns(t)));
    if (conv!.ok) expect(rowHash(t, conv!.row)).toMatch(/^[0-9a-f]{32}$/);
  });
});
