import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { openSqlite } from '../support/db.ts';
import { expectInSync, expectNoTableErrors } from '../support/ledger.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// A clinic's appointment slots. The till app stores times however its authors liked: ISO text
// without a zone, ISO text with Z, SQLite's own 'YYYY-MM-DD HH:MM:SS', Unix seconds in an
// INTEGER column, and local times with a UTC offset. The cloud has timestamp / timestamptz.
const PG = `
CREATE TABLE visit_slot (slot_id text PRIMARY KEY, starts_at timestamp(3) NOT NULL, iso_at timestamptz(3), space_at timestamptz(3),
  ends_at timestamptz(3), booked_at timestamptz(3));
`;
const SQLITE = `
CREATE TABLE VisitSlot (SlotId TEXT PRIMARY KEY, StartsAt DATETIME NOT NULL, IsoAt DATETIME, SpaceAt DATETIME, EndsAt INTEGER, BookedAt TEXT);
`;
const TABLES = [{ name: 'visit_slot', pk: 'slot_id', conflict: 'client-wins' }];
const epoch = (iso: string) => Date.parse(iso) / 1000;

describe('temporal values in the forms a till stores them', () => {
  let pair: Pair;
  let till: PairTerminal;
  beforeAll(async () => {
    pair = await createPair('temporal', PG, SQLITE, { naming: 'snake', tables: TABLES });
    till = pair.terminal('slots');
    const db = openSqlite(till.sqlitePath);
    const insert = db.prepare(`INSERT INTO VisitSlot VALUES (?, ?, ?, ?, ?, ?)`);
    // BookedAt holds the app's local time with its offset (Nairobi +03:00, and -05:30 for a branch abroad).
    insert.run('s1', '2026-11-20T08:00:00.000', '2026-11-20T08:00:00.000Z', '2026-11-20 08:00:00', epoch('2026-11-20T08:30:00Z'), '2026-11-19T10:00:00+03:00');
    insert.run('s2', '2026-11-20T09:00:00.500', '2026-11-20T09:00:00.500Z', '2026-11-20 09:00:00', epoch('2026-11-20T09:30:00Z'), '2026-11-19 10:00:00.123-05:30');
    db.close();
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  it('strings with a UTC offset are pushed as the instant they name, and stay as the till wrote them', async () => {
    const r = await runSync(till.config, { direction: 'both' });
    expectNoTableErrors(r);
    expect(r.status).toBe('success');
    const rows = await pair.db.query(
      `SELECT slot_id, to_char(starts_at, 'YYYY-MM-DD HH24:MI:SS.MS') AS starts, to_char(booked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS booked_utc,
              to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS ends_utc, to_char(space_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS space_utc
         FROM visit_slot ORDER BY slot_id`,
    );
    expect(rows).toEqual([
      { slot_id: 's1', starts: '2026-11-20 08:00:00.000', booked_utc: '2026-11-19 07:00:00.000', ends_utc: '2026-11-20 08:30:00', space_utc: '2026-11-20 08:00:00' },
      { slot_id: 's2', starts: '2026-11-20 09:00:00.500', booked_utc: '2026-11-19 15:30:00.123', ends_utc: '2026-11-20 09:30:00', space_utc: '2026-11-20 09:00:00' },
    ]);
    // The pull that followed did not respell the till's offsets, and nothing moves again.
    const db = openSqlite(till.sqlitePath);
    expect(db.prepare(`SELECT BookedAt FROM VisitSlot ORDER BY SlotId`).all()).toEqual([{ BookedAt: '2026-11-19T10:00:00+03:00' }, { BookedAt: '2026-11-19 10:00:00.123-05:30' }]);
    db.close();
    const again = await runSync(till.config, { direction: 'both' });
    expect(again.tables.map((t) => t.inserted + t.updated + t.deleted)).toEqual([0, 0]);
  });

  it('a pull writes each column in the form the till already uses, exactly', async () => {
    await pair.db.query(
      `INSERT INTO visit_slot VALUES ('s3', '2026-12-01 14:30:15.250', '2026-12-01 14:30:15.25+00', '2026-12-01 14:30:15+00', '2026-12-01 15:00:00+00', '2026-11-30 12:00:00+00')`,
    );
    await pair.db.query(`UPDATE visit_slot SET starts_at = '2026-11-20 08:05:00', ends_at = '2026-11-20 08:45:00+00', space_at = '2026-11-20 08:05:00.750+00' WHERE slot_id = 's1'`);
    const r = await runSync(till.config, { direction: 'pull' });
    expectNoTableErrors(r);
    expect(r.tables[0]).toMatchObject({ inserted: 1, updated: 1, rejected: 0 });
    const db = openSqlite(till.sqlitePath);
    const rows = db
      .prepare(`SELECT SlotId, StartsAt, IsoAt, SpaceAt, EndsAt, typeof(EndsAt) AS endsType, typeof(StartsAt) AS startsType, BookedAt FROM VisitSlot WHERE SlotId IN ('s1', 's3') ORDER BY SlotId`)
      .all();
    db.close();
    expect(rows).toEqual([
      {
        SlotId: 's1',
        StartsAt: '2026-11-20T08:05:00.000',
        IsoAt: '2026-11-20T08:00:00.000Z',
        SpaceAt: '2026-11-20 08:05:00.750',
        EndsAt: epoch('2026-11-20T08:45:00Z'),
        endsType: 'integer',
        startsType: 'text',
        BookedAt: '2026-11-19T10:00:00+03:00',
      },
      {
        SlotId: 's3',
        StartsAt: '2026-12-01T14:30:15.250',
        IsoAt: '2026-12-01T14:30:15.250Z',
        SpaceAt: '2026-12-01 14:30:15',
        EndsAt: epoch('2026-12-01T15:00:00Z'),
        endsType: 'integer',
        startsType: 'text',
        BookedAt: '2026-11-30T12:00:00.000Z',
      },
    ]);
    await expectInSync(till.config);
  });
});
