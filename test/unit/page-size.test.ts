import { describe, expect, it } from 'vitest';
import { FIRST_PAGE_ROWS, GROWTH, PAGE_CHARS, PageSizer } from '../../src/engine/pull/page-size.ts';

/** The limits a sizer asks for over a table whose every row has `perRow` characters. */
function limits(maxRows: number, perRow: number, pages: number): number[] {
  const sizer = new PageSizer(maxRows);
  const out: number[] = [];
  for (let i = 0; i < pages; i++) {
    out.push(sizer.next);
    sizer.saw(sizer.next, sizer.next * perRow);
  }
  return out;
}

describe('PageSizer', () => {
  it('starts small and grows to the full page for narrow rows', () => {
    expect(limits(2_500, 110, 5)).toEqual([FIRST_PAGE_ROWS, FIRST_PAGE_ROWS * GROWTH, FIRST_PAGE_ROWS * GROWTH ** 2, 2_500, 2_500]);
  });

  it('keeps pages of wide rows near the character budget', () => {
    const perRow = 200_000; // a picture in a text column
    const seen = limits(2_500, perRow, 6);
    expect(seen[0]).toBe(FIRST_PAGE_ROWS);
    for (const rows of seen.slice(1)) expect(rows * perRow).toBeLessThanOrEqual(PAGE_CHARS);
    expect(seen.at(-1)).toBe(Math.floor(PAGE_CHARS / perRow));
  });

  it('asks for at least one row, even when one row is bigger than the budget', () => {
    expect(limits(2_500, PAGE_CHARS * 3, 3)).toEqual([FIRST_PAGE_ROWS, 1, 1]);
  });

  it('never asks for more than the page size it was given, and a short first page is the whole table', () => {
    expect(limits(10, 1, 3)).toEqual([10, 10, 10]);
    const sizer = new PageSizer(2_500);
    sizer.saw(0, 0);
    expect(sizer.next).toBe(FIRST_PAGE_ROWS);
  });

  it('follows rows that get narrower or wider from page to page', () => {
    const sizer = new PageSizer(2_500);
    sizer.saw(FIRST_PAGE_ROWS, FIRST_PAGE_ROWS * 1_000_000);
    expect(sizer.next).toBe(Math.floor(PAGE_CHARS / 1_000_000));
    sizer.saw(sizer.next, sizer.next * 10);
    expect(sizer.next).toBe(Math.floor(PAGE_CHARS / 1_000_000) * GROWTH);
  });
});
