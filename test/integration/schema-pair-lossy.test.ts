import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { openSqlite } from '../support/db.ts';
import { expectNoTableErrors } from '../support/ledger.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// A shop whose cloud was built with "small" types: money in real (float4), a weight in double
// precision, a label in varchar(8), a shelf code in char(4) (blank-padded), a sale time kept to
// hundredths. The till keeps amounts as REAL, the weight as decimal text, everything else as TEXT.
// No value may be altered on the way in either direction: a value the other side cannot hold
// exactly is refused with the reason (held, listed by `possync rejected`), the rest goes through.
const PG = `
CREATE TABLE price_tag (tag_id text PRIMARY KEY, amount real, weight double precision, label varchar(8), shelf char(4),
  sold_at timestamp(2), updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE PriceTag (TagId TEXT PRIMARY KEY, Amount REAL, Weight TEXT, Label TEXT, Shelf TEXT, SoldAt TEXT, UpdatedAt TEXT NOT NULL);
`;
const TABLES = [{ name: 'price_tag', pk: 'tag_id', updatedCol: 'updated_at' }];
const AT = '2026-11-20T08:00:00.000Z';

type Row = [id: string, amount: number | null, weight: string | null, label: string | null, shelf: string | null, soldAt: string | null];
const GOOD: Row[] = [
  ['good-1', 12.5, '0.25', 'tea', 'A1', '2026-11-20T08:00:00.120'],
  ['good-2', 0.1, '1.5', 'abcdefgh', 'B2  ', '2026-11-20T08:00:00.000'],
  ['good-3', 1234.56, null, '🎉🎉🎉🎉🎉🎉🎉🎉', 'C3      ', null],
];
const BAD: Array<{ row: Row; reason: RegExp }> = [
  { row: ['bad-float4', 1234.5678, null, null, null, null], reason: /^price_tag:.*: .*real \(float4\).*stored as 1234\.5677.* \(column Amount\)$/ },
  { row: ['bad-float8', null, '0.1000000000000000055511151231257827', null, null, null], reason: /^price_tag:.*: .*a double would round it to 0\.1.* \(column Weight\)$/ },
  { row: ['bad-varchar', null, null, 'abcdefghi', null, null], reason: /^price_tag:.*: .*value too long for type character varying\(8\): it is 9 characters long.* \(column Label\)$/ },
  { row: ['bad-blanks', null, null, 'abcdefgh  ', null, null], reason: /^price_tag:.*: .*cut the trailing blanks silently.* \(column Label\)$/ },
  { row: ['bad-char', null, null, null, 'ABCDE', null], reason: /^price_tag:.*: .*character\(4\).* \(column Shelf\)$/ },
  { row: ['bad-time', null, null, null, null, '2026-11-20T08:00:00.125'], reason: /^price_tag:.*: .*fraction digits .*\(2\).* \(column SoldAt\)$/ },
];

function seedTill(t: PairTerminal, rows: readonly Row[]): void {
  const db = openSqlite(t.sqlitePath);
  try {
    const insert = db.prepare(`INSERT INTO PriceTag VALUES (?, ?, ?, ?, ?, ?, '${AT}')`);
    for (const r of rows) insert.run(...r);
  } finally {
    db.close();
  }
}

function tillRows(t: PairTerminal): Array<Record<string, unknown>> {
  const db = openSqlite(t.sqlitePath);
  try {
    return db.prepare(`SELECT TagId, Amount, Weight, Label, Shelf, SoldAt FROM PriceTag ORDER BY TagId`).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

function held(t: PairTerminal): Array<{ side: string; kind: string; display: string; reason: string }> {
  const db = openSqlite(t.sqlitePath);
  try {
    return db.prepare(`SELECT side, kind, display, reason FROM _possync_held ORDER BY display`).all() as Array<{ side: string; kind: string; display: string; reason: string }>;
  } finally {
    db.close();
  }
}

const cloudRows = (pair: Pair) =>
  pair.db.query(`SELECT tag_id, amount::text, weight::text, label, shelf, shelf::text AS shelf_text, sold_at::text, octet_length(shelf) AS shelf_bytes FROM price_tag WHERE tag_id <> 'cloud-0' ORDER BY tag_id`);

describe.each([
  ['into an empty cloud (bulk COPY path)', false],
  ['into a cloud that has rows (row-by-row path)', true],
])('lossy type pairs, push %s', (_label, cloudHasRows) => {
  let pair: Pair;
  let till: PairTerminal;
  beforeAll(async () => {
    pair = await createPair(cloudHasRows ? 'lossy_rows' : 'lossy_bulk', PG, SQLITE, { naming: 'snake', tables: TABLES });
    // Another writer's row makes the table non-empty, which rules COPY out.
    if (cloudHasRows) await pair.db.query(`INSERT INTO price_tag (tag_id, updated_at) VALUES ('cloud-0', now())`);
    till = pair.terminal('till-1');
    seedTill(till, [...GOOD, ...BAD.map((b) => b.row)]);
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it('pushes the values that fit exactly and holds every other with its reason', async () => {
    const r = await runSync(till.config, { direction: 'push' });
    expectNoTableErrors(r);
    expect(r.tables[0]).toMatchObject({ inserted: GOOD.length, rejected: BAD.length });
    expect(await cloudRows(pair)).toEqual([
      { tag_id: 'good-1', amount: '12.5', weight: '0.25', label: 'tea', shelf: 'A1  ', shelf_text: 'A1', sold_at: '2026-11-20 08:00:00.12', shelf_bytes: 4 },
      { tag_id: 'good-2', amount: '0.1', weight: '1.5', label: 'abcdefgh', shelf: 'B2  ', shelf_text: 'B2', sold_at: '2026-11-20 08:00:00', shelf_bytes: 4 },
      // Trailing blanks beyond char(4) carry no meaning: Postgres keeps C3 padded to 4.
      { tag_id: 'good-3', amount: '1234.56', weight: null, label: '🎉🎉🎉🎉🎉🎉🎉🎉', shelf: 'C3  ', shelf_text: 'C3', sold_at: null, shelf_bytes: 4 },
    ]);
    const list = held(till);
    expect(list).toHaveLength(BAD.length);
    for (const b of BAD) {
      expect(list.find((h) => h.display === `price_tag:${b.row[0]}`)).toMatchObject({ side: 'push', kind: 'rejected', reason: expect.stringMatching(b.reason) as unknown });
    }
  });

  it('the next runs change nothing: no pull writes a rounded value back, char padding is no change', async () => {
    const before = tillRows(till);
    const again = await runSync(till.config, { direction: 'both' });
    expectNoTableErrors(again);
    const push = again.tables.find((t) => t.step === 'push')!;
    const pull = again.tables.find((t) => t.step === 'pull')!;
    expect(push).toMatchObject({ inserted: 0, updated: 0, rejected: BAD.length });
    expect(pull).toMatchObject({ inserted: cloudHasRows ? 1 : 0, updated: 0 });
    // The till keeps exactly what it had: 1234.5678, the padded 'B2  ', 'C3      '.
    expect(tillRows(till).filter((r) => r.TagId !== 'cloud-0')).toEqual(before);
    expect(tillRows(till).find((r) => r.TagId === 'bad-float4')!.Amount).toBe(1234.5678);
    expect(tillRows(till).find((r) => r.TagId === 'good-3')!.Shelf).toBe('C3      ');
  });
});

describe('lossy type pairs, pull onto an empty till', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await createPair('lossy_pull', PG, SQLITE, { naming: 'snake', tables: TABLES });
    await pair.db.query(`INSERT INTO price_tag VALUES
      ('cloud-1', 1234.5678, 0.1, 'abcdefgh', 'XY', '2026-11-20 08:00:00.12', '${AT}'),
      ('cloud-2', 3.4e38, 1e300, '🎉', 'WXYZ', '2026-11-20 08:00:00', '${AT}')`);
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it('every real, double, char(n) value lands as Postgres shows it, and goes back unchanged', async () => {
    const till = pair.terminal('till-2');
    const r = await runSync(till.config, { direction: 'pull' });
    expectNoTableErrors(r);
    expect(r.tables[0]).toMatchObject({ inserted: 2, rejected: 0 });
    // A real prints as its shortest text (1234.5677): that is the cloud's value, and a double holds it.
    expect(tillRows(till)).toEqual([
      { TagId: 'cloud-1', Amount: 1234.5677, Weight: '0.1', Label: 'abcdefgh', Shelf: 'XY', SoldAt: '2026-11-20T08:00:00.120' },
      { TagId: 'cloud-2', Amount: 3.4e38, Weight: '1e+300', Label: '🎉', Shelf: 'WXYZ', SoldAt: '2026-11-20T08:00:00.000' },
    ]);
    const back = await runSync(till.config, { direction: 'both' });
    expectNoTableErrors(back);
    expect(back.tables.map((t) => [t.step, t.inserted, t.updated, t.rejected])).toEqual([
      ['push', 0, 0, 0],
      ['pull', 0, 0, 0],
    ]);
    expect(held(till)).toEqual([]);
    // An edit on the till goes back exactly; the real still holds it.
    const db = openSqlite(till.sqlitePath);
    db.prepare(`UPDATE PriceTag SET Amount = 19.99, Shelf = 'Q9  ', UpdatedAt = '2026-11-21T08:00:00.000Z' WHERE TagId = 'cloud-1'`).run();
    db.close();
    const edit = await runSync(till.config, { direction: 'push' });
    expect(edit.tables[0]).toMatchObject({ updated: 1, rejected: 0 });
    expect(await pair.db.query(`SELECT amount::text, shelf::text FROM price_tag WHERE tag_id = 'cloud-1'`)).toEqual([{ amount: '19.99', shelf: 'Q9' }]);
  });
});
