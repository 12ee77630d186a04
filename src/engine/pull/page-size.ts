/**
 * How many rows the next page of a full resync asks for, so that a page holds about
 * `PAGE_CHARS` characters of column text whatever the table's rows weigh. A products table with
 * ~110 characters a row reaches the full page on its fourth page (16, 128, 1,024, 2,500 rows);
 * one whose rows carry a 200 KB picture in a text column gets ~20 rows a page instead of 2,500
 * (half a gigabyte, twice, as two pages are in memory at once).
 *
 * The first page is small, since nothing is known of the rows yet; each later page is sized by
 * the average row of the page before it, growing at most `GROWTH` times a page so that a table
 * whose first rows are small does not jump straight to a full page of wide ones. A table whose
 * rows get much wider from one page to the next can still give one page above the budget.
 */
export const PAGE_CHARS = 4 * 1024 * 1024;
export const FIRST_PAGE_ROWS = 16;
export const GROWTH = 8;

export class PageSizer {
  private rows: number;

  constructor(private readonly maxRows: number) {
    this.rows = Math.max(1, Math.min(FIRST_PAGE_ROWS, maxRows));
  }

  /** Rows to ask for in the next page. */
  get next(): number {
    return this.rows;
  }

  /** Records a page that came back full (`rows` rows, `chars` characters of column text). */
  saw(rows: number, chars: number): void {
    if (rows <= 0) return;
    const perRow = Math.max(1, chars / rows);
    const fits = Math.floor(PAGE_CHARS / perRow);
    this.rows = Math.max(1, Math.min(this.maxRows, this.rows * GROWTH, fits));
  }
}
