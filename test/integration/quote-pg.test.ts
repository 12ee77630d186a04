import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgIdent, pgLiteral } from '../../src/db/quote.ts';
import { createTestPg, type TestPg } from '../support/db.ts';

const HOSTILE = ['has"quote', '"; DROP TABLE victims; --', "it's", 'semi;colon', 'back\\slash', 'ünïcødé_名前_🎉', 'Mixed Case'];

describe('Postgres identifier quoting against a real server', () => {
  let db: TestPg;
  beforeAll(async () => {
    db = await createTestPg('quote');
    await db.query(`CREATE TABLE victims (id int)`);
  });
  afterAll(() => db.drop());

  it.each(HOSTILE)('a table and column named %j round-trip and cannot break out', async (name) => {
    await db.query(`CREATE TABLE ${pgIdent(name)} (${pgIdent(name)} text)`);
    await db.query(`INSERT INTO ${pgIdent(name)} (${pgIdent(name)}) VALUES (${pgLiteral(name)})`);
    expect(await db.query(`SELECT ${pgIdent(name)} AS v FROM ${pgIdent(name)}`)).toEqual([{ v: name }]);
    expect(await db.query(`SELECT to_regclass('public.victims') IS NOT NULL AS ok`)).toEqual([{ ok: true }]);
  });
});
