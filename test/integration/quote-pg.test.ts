import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgIdent, pgLiteral, pgValueLiteral } from '../../src/db/quote.ts';
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

  // Keys and scope values go into COPY … TO STDOUT statements as literals (no parameters there).
  it.each(['on', 'off'])('data values as literals read back exactly with standard_conforming_strings %s', async (setting) => {
    const c = await db.pool.connect();
    try {
      await c.query(`SET standard_conforming_strings = ${setting}`);
      for (const value of [...HOSTILE, 'ends with a backslash\\', "\\'; DROP TABLE victims; --", '', 'tab\there']) {
        const { rows } = await c.query<{ v: string }>(`SELECT ${pgValueLiteral(value)}::text AS v`);
        expect(rows).toEqual([{ v: value }]);
      }
      expect((await c.query(`SELECT to_regclass('public.victims') IS NOT NULL AS ok`)).rows).toEqual([{ ok: true }]);
    } finally {
      c.release(true);
    }
  });
});
