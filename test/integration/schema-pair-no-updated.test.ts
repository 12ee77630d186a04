import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { openSqlite } from '../support/db.ts';
import { expectInSync, expectNoTableErrors } from '../support/ledger.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// A ward's bed board (composite key) that the cloud's scheduler owns, and a price list the till
// owns; neither table has an updated-at column, so capture and conflicts cannot lean on one.
const PG = `
CREATE TABLE ward_bed (ward text NOT NULL, bed_no integer NOT NULL, patient text, PRIMARY KEY (ward, bed_no));
CREATE TABLE price_tag (sku text PRIMARY KEY, price numeric(8,2) NOT NULL, label text);
`;
const SQLITE = `
CREATE TABLE WardBed (Ward TEXT NOT NULL, BedNo INTEGER NOT NULL, Patient TEXT, PRIMARY KEY (Ward, BedNo));
CREATE TABLE PriceTag (Sku TEXT PRIMARY KEY, Price TEXT NOT NULL, Label TEXT);
`;
const TABLES = [
  { name: 'ward_bed', pk: ['ward', 'bed_no'], conflict: 'server-wins' },
  { name: 'price_tag', pk: 'sku', conflict: 'client-wins' },
];

describe('tables without updatedCol under server-wins and client-wins', () => {
  let pair: Pair;
  let till: PairTerminal;
  const local = () => openSqlite(till.sqlitePath);
  const bed = (ward: string, no: number) => {
    const db = local();
    try {
      return (db.prepare(`SELECT Patient FROM WardBed WHERE Ward = ? AND BedNo = ?`).get(ward, no) as { Patient: string | null }).Patient;
    } finally {
      db.close();
    }
  };
  const tag = (sku: string) => {
    const db = local();
    try {
      return db.prepare(`SELECT Price, Label FROM PriceTag WHERE Sku = ?`).get(sku);
    } finally {
      db.close();
    }
  };
  const pgBed = async (ward: string, no: number) => (await pair.db.query<{ patient: string | null }>(`SELECT patient FROM ward_bed WHERE ward = $1 AND bed_no = $2`, [ward, no]))[0]!.patient;
  const pgTag = async (sku: string) => (await pair.db.query(`SELECT price::text, label FROM price_tag WHERE sku = $1`, [sku]))[0];
  const cloudConflicts = (tbl: string) =>
    pair.db.query(`SELECT direction, key, policy, winner, local_row, server_row FROM possync.conflicts WHERE tbl = $1 ORDER BY id`, [tbl]);
  const localConflicts = (tbl: string) => {
    const db = local();
    try {
      return (db.prepare(`SELECT direction, key, policy, winner, local_row, server_row FROM _possync_conflicts WHERE tbl = ? ORDER BY rowid`).all(tbl) as Array<Record<string, string>>).map((c) => ({
        ...c,
        local_row: JSON.parse(c.local_row!) as unknown,
        server_row: JSON.parse(c.server_row!) as unknown,
      }));
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    pair = await createPair('no_updated', PG, SQLITE, { naming: 'snake', tables: TABLES });
    till = pair.terminal('ward-till');
    const db = local();
    db.prepare(`INSERT INTO WardBed VALUES ('A', 1, 'Ada'), ('A', 2, NULL), ('B', 1, 'Bo')`).run();
    db.prepare(`INSERT INTO PriceTag VALUES ('gauze', '3.50', 'Gauze'), ('tape', '1.20', 'Tape')`).run();
    db.close();
    expectNoTableErrors(await runSync(till.config, { direction: 'both' }));
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  it('an update on either side travels to the other', async () => {
    const db = local();
    db.prepare(`UPDATE WardBed SET Patient = 'Ari' WHERE Ward = 'A' AND BedNo = 2`).run();
    db.prepare(`UPDATE PriceTag SET Price = '3.75' WHERE Sku = 'gauze'`).run();
    db.close();
    const pushed = await runSync(till.config, { direction: 'push' });
    expectNoTableErrors(pushed);
    expect(pushed.tables.map((t) => [t.table, t.updated, t.conflicts])).toEqual([
      ['ward_bed', 1, 0],
      ['price_tag', 1, 0],
    ]);
    expect(await pgBed('A', 2)).toBe('Ari');
    expect(await pgTag('gauze')).toEqual({ price: '3.75', label: 'Gauze' });

    await pair.db.query(`UPDATE ward_bed SET patient = 'Bea' WHERE ward = 'B' AND bed_no = 1`);
    await pair.db.query(`UPDATE price_tag SET label = 'Surgical tape' WHERE sku = 'tape'`);
    const pulled = await runSync(till.config, { direction: 'pull' });
    expectNoTableErrors(pulled);
    expect(pulled.tables.map((t) => [t.table, t.updated, t.conflicts])).toEqual([
      ['ward_bed', 1, 0],
      ['price_tag', 1, 0],
    ]);
    expect(bed('B', 1)).toBe('Bea');
    expect(tag('tape')).toEqual({ Price: '1.20', Label: 'Surgical tape' });
    await expectInSync(till.config);
  });

  it('both sides edit one row, push first: server-wins keeps the cloud, client-wins takes the till; both recorded', async () => {
    await pair.db.query(`UPDATE ward_bed SET patient = 'cloud: Cy' WHERE ward = 'A' AND bed_no = 1`);
    await pair.db.query(`UPDATE price_tag SET price = 4.00 WHERE sku = 'gauze'`);
    const db = local();
    db.prepare(`UPDATE WardBed SET Patient = 'till: Ty' WHERE Ward = 'A' AND BedNo = 1`).run();
    db.prepare(`UPDATE PriceTag SET Price = '3.95' WHERE Sku = 'gauze'`).run();
    db.close();

    const r = await runSync(till.config, { direction: 'both' });
    expectNoTableErrors(r);
    expect(r.tables.filter((t) => t.step === 'push').map((t) => [t.table, t.conflicts])).toEqual([
      ['ward_bed', 1],
      ['price_tag', 1],
    ]);
    expect(await pgBed('A', 1)).toBe('cloud: Cy');
    expect(bed('A', 1)).toBe('cloud: Cy');
    expect(await pgTag('gauze')).toEqual({ price: '3.95', label: 'Gauze' });
    expect(tag('gauze')).toEqual({ Price: '3.95', Label: 'Gauze' });
    expect(await cloudConflicts('ward_bed')).toEqual([
      {
        direction: 'push',
        key: '["A","1"]',
        policy: 'server-wins',
        winner: 'server',
        local_row: { ward: 'A', bed_no: '1', patient: 'till: Ty' },
        server_row: { ward: 'A', bed_no: '1', patient: 'cloud: Cy' },
      },
    ]);
    expect(await cloudConflicts('price_tag')).toEqual([
      {
        direction: 'push',
        key: '["gauze"]',
        policy: 'client-wins',
        winner: 'local',
        local_row: { sku: 'gauze', price: '3.95', label: 'Gauze' },
        server_row: { sku: 'gauze', price: '4.00', label: 'Gauze' },
      },
    ]);
    await expectInSync(till.config);
  });

  it('both sides edit one row, pull first: the same winners, recorded on the terminal', async () => {
    await pair.db.query(`UPDATE ward_bed SET patient = 'cloud: Dee' WHERE ward = 'B' AND bed_no = 1`);
    await pair.db.query(`UPDATE price_tag SET price = 1.10 WHERE sku = 'tape'`);
    const db = local();
    db.prepare(`UPDATE WardBed SET Patient = 'till: Dan' WHERE Ward = 'B' AND BedNo = 1`).run();
    db.prepare(`UPDATE PriceTag SET Price = '1.25' WHERE Sku = 'tape'`).run();
    db.close();

    const pulled = await runSync(till.config, { direction: 'pull' });
    expectNoTableErrors(pulled);
    expect(pulled.tables.map((t) => [t.table, t.updated, t.conflicts])).toEqual([
      ['ward_bed', 1, 1],
      ['price_tag', 0, 1],
    ]);
    expect(bed('B', 1)).toBe('cloud: Dee');
    expect(tag('tape')).toEqual({ Price: '1.25', Label: 'Surgical tape' });
    expect(localConflicts('ward_bed')).toEqual([
      {
        direction: 'pull',
        key: '["B","1"]',
        policy: 'server-wins',
        winner: 'server',
        local_row: { ward: 'B', bed_no: '1', patient: 'till: Dan' },
        server_row: { ward: 'B', bed_no: '1', patient: 'cloud: Dee' },
      },
    ]);
    expect(localConflicts('price_tag')).toEqual([
      {
        direction: 'pull',
        key: '["tape"]',
        policy: 'client-wins',
        winner: 'local',
        local_row: { sku: 'tape', price: '1.25', label: 'Surgical tape' },
        server_row: { sku: 'tape', price: '1.10', label: 'Surgical tape' },
      },
    ]);

    // The push that follows sends the till's winning price, and not the bed edit that lost.
    const pushed = await runSync(till.config, { direction: 'push' });
    expectNoTableErrors(pushed);
    expect(pushed.tables.map((t) => [t.table, t.updated])).toEqual([
      ['ward_bed', 0],
      ['price_tag', 1],
    ]);
    expect(await pgBed('B', 1)).toBe('cloud: Dee');
    expect(await pgTag('tape')).toEqual({ price: '1.25', label: 'Surgical tape' });
    await expectInSync(till.config);
  });
});
