import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { inSync } from '../../src/engine/compare.ts';
import { describeDiff, expectNoTableErrors, sidesDiff } from '../support/ledger.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// A clinic's till written by a team that mixes camelCase, PascalCase, acronyms and digits, against
// a snake_case cloud. Two decoys tempt the snake convention: a SQLite table ClinicRoom (the real
// one is tblRooms, named by sqliteName) and a column VisitNote (the real one is Memo, by columnMap).
const PG = `
CREATE TABLE patient_visit (visit_id uuid PRIMARY KEY, patient_name text NOT NULL, http_status smallint, address_line2 text,
  isbn13 bigint, due_date date, visit_note text, updated_at timestamptz(3) NOT NULL);
CREATE TABLE clinic_room (room_id text PRIMARY KEY, room_label text NOT NULL);
CREATE TABLE order_item (order_id text NOT NULL, line_no integer NOT NULL, qty integer NOT NULL CHECK (qty > 0), PRIMARY KEY (order_id, line_no));
`;
const SQLITE = `
CREATE TABLE patientVisit (visitId TEXT PRIMARY KEY, patientName TEXT NOT NULL, HTTPStatus INTEGER, AddressLine2 TEXT,
  ISBN13 INTEGER, dueDate DATE, VisitNote TEXT, Memo TEXT, updatedAt DATETIME NOT NULL);
CREATE TABLE ClinicRoom (RoomId TEXT PRIMARY KEY, RoomLabel TEXT NOT NULL);
CREATE TABLE tblRooms (RoomId TEXT PRIMARY KEY, RoomLabel TEXT NOT NULL);
CREATE TABLE OrderItem (OrderId TEXT NOT NULL, LineNo INTEGER NOT NULL, Qty INTEGER NOT NULL, PRIMARY KEY (OrderId, LineNo));
`;
const TABLES = [
  { name: 'patient_visit', pk: 'visit_id', updatedCol: 'updated_at', columnMap: { Memo: 'visit_note' } },
  { name: 'clinic_room', sqliteName: 'tblRooms', pk: 'room_id', conflict: 'server-wins' },
  { name: 'order_item', pk: ['order_id', 'line_no'], conflict: 'client-wins' },
];
const V1 = '00000000-0000-4000-8000-0000000000a1';
const V2 = '00000000-0000-4000-8000-0000000000a2';

describe('naming: snake convention, explicit names winning over it, labels naming both sides', () => {
  let pair: Pair;
  let till: PairTerminal;
  const cli = (...args: string[]) => runCli([...args, '-c', till.configPath]);
  beforeAll(async () => {
    pair = await createPair('naming', PG, SQLITE, { naming: 'snake', batchSize: 50, tables: TABLES });
    till = pair.terminal('front-desk');
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  it('camelCase, acronyms and digits match; sqliteName and columnMap beat the convention; the trigger summary names both sides', async () => {
    const local = openSqlite(till.sqlitePath);
    local.prepare(`INSERT INTO patientVisit VALUES (?, 'Amina', 404, 'Flat 2', 9780306406157, '2026-12-01', 'decoy note', 'real note', '2026-11-20T08:00:00.000Z')`).run(V1);
    local.prepare(`INSERT INTO tblRooms VALUES ('R1', 'Room one')`).run();
    local.prepare(`INSERT INTO ClinicRoom VALUES ('DECOY', 'never synced')`).run();
    local.prepare(`INSERT INTO OrderItem VALUES ('O1', 1, 2), ('O1', 2, 0)`).run(); // qty 0 breaks the cloud's CHECK
    local.close();

    const r = await cli('trigger', '--direction', 'both');
    expect(r.code).toBe(1); // one row rejected
    for (const label of ['patientVisit → patient_visit', 'tblRooms → clinic_room', 'OrderItem → order_item']) expect(r.stdout).toContain(label);
    expect(r.stdout).not.toContain('ClinicRoom');
    expect(r.stdout).toMatch(/push order_item:\(O1, 2\): new row for relation "order_item" violates check constraint/);

    expect(await pair.db.query(`SELECT visit_id::text, patient_name, http_status, address_line2, isbn13::text, due_date::text, visit_note FROM patient_visit`)).toEqual([
      { visit_id: V1, patient_name: 'Amina', http_status: 404, address_line2: 'Flat 2', isbn13: '9780306406157', due_date: '2026-12-01', visit_note: 'real note' },
    ]);
    expect(await pair.db.query(`SELECT room_id, room_label FROM clinic_room`)).toEqual([{ room_id: 'R1', room_label: 'Room one' }]);
    expect(await pair.db.query(`SELECT order_id, line_no, qty FROM order_item`)).toEqual([{ order_id: 'O1', line_no: 1, qty: 2 }]);
  });

  it('pulls back into the explicitly named table and column, leaving the decoys alone', async () => {
    await pair.db.query(`INSERT INTO patient_visit VALUES ($1, 'Tomás', 503, NULL, 9781861972712, '2026-12-24', 'cloud note', '2026-11-21T08:00:00Z')`, [V2]);
    await pair.db.query(`UPDATE patient_visit SET visit_note = 'edited in the cloud', http_status = 200, updated_at = '2026-11-21T09:00:00Z' WHERE visit_id = $1`, [V1]);
    await pair.db.query(`INSERT INTO clinic_room VALUES ('R2', 'Room two')`);
    const r = await runSync(till.config, { direction: 'pull' });
    expectNoTableErrors(r);
    expect(r.tables.map((t) => [t.label, t.inserted, t.updated])).toEqual([
      ['patientVisit → patient_visit', 1, 1],
      ['tblRooms → clinic_room', 1, 0],
      ['OrderItem → order_item', 0, 0],
    ]);
    const local = openSqlite(till.sqlitePath);
    expect(local.prepare(`SELECT visitId, patientName, HTTPStatus, AddressLine2, ISBN13, dueDate, VisitNote, Memo FROM patientVisit ORDER BY visitId`).all()).toEqual([
      { visitId: V1, patientName: 'Amina', HTTPStatus: 200, AddressLine2: 'Flat 2', ISBN13: 9780306406157, dueDate: '2026-12-01', VisitNote: 'decoy note', Memo: 'edited in the cloud' },
      { visitId: V2, patientName: 'Tomás', HTTPStatus: 503, AddressLine2: null, ISBN13: 9781861972712, dueDate: '2026-12-24', VisitNote: null, Memo: 'cloud note' },
    ]);
    expect(local.prepare(`SELECT RoomId FROM tblRooms ORDER BY RoomId`).all()).toEqual([{ RoomId: 'R1' }, { RoomId: 'R2' }]);
    expect(local.prepare(`SELECT RoomId FROM ClinicRoom`).all()).toEqual([{ RoomId: 'DECOY' }]);
    // The decoy table has no capture triggers: possync only watches synced tables.
    expect(local.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'ClinicRoom'`).get()).toEqual({ n: 0 });
    local.close();
    // Everything but the rejected order line (still held) matches value by value.
    const diffs = await sidesDiff(till.config);
    expect(diffs.filter((d) => !inSync(d)).map(describeDiff)).toEqual(['order_item: sqlite 2 rows, pg 1 rows; onlyLocal 1 e.g. ["O1","2"]; onlyCloud 0; different 0']);
  });

  it('status and logs name both sides of a renamed table', async () => {
    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/tblRooms → clinic_room\s+0\s/);
    expect(status.stdout).toMatch(/OrderItem → order_item\s+0\s+\S+\s+0\s+1\s/);
    const json = JSON.parse((await cli('status', '--json')).stdout) as { tables: Array<{ table: string; sqliteTable: string }> };
    expect(json.tables.map((t) => [t.sqliteTable, t.table])).toEqual([
      ['patientVisit', 'patient_visit'],
      ['tblRooms', 'clinic_room'],
      ['OrderItem', 'order_item'],
    ]);

    const logs = await cli('logs', '--limit', '5');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/tblRooms → clinic_room 1 applied/);
    expect(logs.stdout).toMatch(/OrderItem → order_item 1 applied, 1 rejected/);

    // The rejected listing names the table by its config (Postgres) name and the key as the
    // cloud sees it; see the report for the SQLite name (not shown there yet).
    const rejected = await cli('rejected');
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toMatch(/order_item\s+\(O1, 2\)\s+rejected/);
  });
});
