import { describe, expect, it } from 'vitest';
import { eachRow, lastRow, type CopyPage } from '../../src/db/postgres/copy-out.ts';

const page = (text: string | Buffer, width: number): CopyPage => {
  const data = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  let count = 0;
  for (const b of data) if (b === 10) count++;
  return { data, width, count };
};

const rows = (p: CopyPage) => {
  const out: Array<Array<string | null>> = [];
  eachRow(p, (row, i) => {
    expect(i).toBe(out.length);
    out.push([...row]);
  });
  return out;
};

describe('COPY text parsing', () => {
  it('splits rows and columns, with \\N as NULL and an empty string as an empty string', () => {
    expect(rows(page('a\tb\t\\N\n\t\\N\tc\n', 3))).toEqual([
      ['a', 'b', null],
      ['', null, 'c'],
    ]);
  });

  it('decodes every escape COPY writes, and those COPY FROM accepts', () => {
    expect(rows(page('\\\\N\tx\\ty\\nz\\r\\\\\t\\b\\f\\v\t\\101\\x41\\x4\\q\n', 4))).toEqual([['\\N', 'x\ty\nz\r\\', '\b\f\v', 'AA\x04q']]);
  });

  it('keeps multi-byte UTF-8 whole, also when its bytes come as octal escapes', () => {
    expect(rows(page('Ünïcødé — ok\t😀\t\\303\\234\n', 3))).toEqual([['Ünïcødé — ok', '😀', 'Ü']]);
  });

  it('refuses rows with too few or too many columns, and a torn last row', () => {
    expect(() => rows(page('a\tb\n', 3))).toThrow(/2 columns, expected 3/);
    expect(() => rows(page('a\tb\tc\td\n', 3))).toThrow(/more than 3 columns/);
    expect(() => rows({ data: Buffer.from('a\tb\tc'), width: 3, count: 0 })).toThrow(/inside a row/);
  });

  it('gives the last row of a page, or nothing for an empty page', () => {
    expect(lastRow(page('a\tb\nc\t\\N\n', 2))).toEqual(['c', null]);
    expect(lastRow(page('only\t1\n', 2))).toEqual(['only', '1']);
    expect(lastRow(page('', 2))).toBeUndefined();
    // One column holding an empty string: rows of a single newline.
    expect(lastRow(page('\n', 1))).toEqual(['']);
    expect(lastRow(page('a\n\n', 1))).toEqual(['']);
    expect(rows(page('\n\n', 1))).toEqual([[''], ['']]);
    expect(rows(page('', 2))).toEqual([]);
  });
});
