import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_PAGE_ROWS, PAGE_CHARS } from '../../src/engine/pull/page-size.ts';
import { createLedger, expectInSync, expectNoTableErrors, localRows, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// A full resync reads pages of up to 2,500 rows; rows carrying a picture or a long document in a
// text column must not make a page hundreds of megabytes. Each page reports progress once, so
// the gaps between progress events are the pages' sizes in rows.
const WIDE = 200_000; // characters of body per row
const ROWS = 90;

describe('a full resync of wide rows', () => {
  let ledger: Ledger;
  let writer: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('pull_wide', { batchSize: 500 });
    writer = ledger.terminal('till-w');
    const insert = writer.local.prepare(`INSERT INTO notes (id, body, updated_at) VALUES (?, ?, '2026-01-01 10:00:00.000')`);
    writer.local.transaction(() => {
      for (let n = 1; n <= ROWS; n++) insert.run(uid(n), String.fromCharCode(97 + (n % 26)).repeat(WIDE - 3) + String(n).padStart(3, '0'));
    })();
    expectNoTableErrors(await writer.sync('push'));
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  /** Rows per page of the till's pull of notes, from its progress events; `inserted`: rows new to it. */
  async function pagesOfPull(till: Terminal, inserted: number): Promise<number[]> {
    const seen: number[] = [];
    const result = await till.sync('pull', {
      onProgress: (ev) => {
        if (ev.step === 'pull' && ev.table === 'notes') seen.push(ev.rows);
      },
    });
    expectNoTableErrors(result);
    expect(totals(result, { step: 'pull', table: 'notes' })).toMatchObject({ inserted, deleted: 0, conflicts: 0 });
    return seen.map((rows, i) => rows - (seen[i - 1] ?? 0));
  }

  function expectBounded(pages: number[]): void {
    expect(pages.reduce((a, b) => a + b, 0)).toBe(ROWS);
    expect(pages[0]).toBe(FIRST_PAGE_ROWS);
    // Every page after the first is sized from the one before: within the character budget.
    for (const rows of pages.slice(1)) expect(rows * WIDE).toBeLessThanOrEqual(PAGE_CHARS);
  }

  it('into an empty till: pages within the budget, every row whole', async () => {
    const empty = ledger.terminal('till-e');
    expectBounded(await pagesOfPull(empty, ROWS));
    const bodies = localRows(empty.local, 'notes').map((r) => r.body as string);
    expect(bodies).toHaveLength(ROWS);
    expect(bodies.every((b) => b.length === WIDE)).toBe(true);
    await expectInSync(empty.config);
  });

  it('into the till that holds them already (compared row by row): pages within the budget, nothing rewritten', async () => {
    expectBounded(await pagesOfPull(writer, 0));
    await expectInSync(writer.config);
  });
});
