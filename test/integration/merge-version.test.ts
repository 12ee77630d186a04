import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, createLedger, expectInSync, expectNoTableErrors, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// conflict "version": the apps raise `version` on every edit and possync only compares it. The
// higher version wins; equal versions with different content are a true conflict and go to the
// table's fallback (client-wins here, so a tie is visibly not the default server-wins). Met by a
// push and by a pull.
const PG = `CREATE TABLE docs (id uuid PRIMARY KEY, body text NOT NULL, version integer NOT NULL, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE docs (id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL);`;
const DOCS = { name: 'docs', pk: 'id', updatedCol: 'updated_at', conflict: 'version', versionCol: 'version', fallback: 'client-wins' };

const CASES = [
  { n: 1, local: 3, server: 2, want: 'local' },
  { n: 2, local: 2, server: 5, want: 'server' },
  { n: 3, local: 4, server: 4, want: 'local' }, // a true tie: the fallback (client-wins) decides
] as const;

describe('conflict "version"', () => {
  let ledger: Ledger;
  let a: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('merge_version', { extraPg: PG, extraSqlite: SQLITE, extraTables: [DOCS] });
    a = ledger.terminal('till-a');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  for (const decidedBy of ['push', 'pull'] as const) {
    it(`the higher version wins and a tie goes to the fallback (decided by ${decidedBy})`, async () => {
      const offset = decidedBy === 'push' ? 0 : 10;
      for (const c of CASES) await ledger.db.query(`INSERT INTO docs VALUES ($1, 'v1', 1, $2)`, [uid(c.n + offset), at(0)]);
      expectNoTableErrors(await a.sync('both'));
      for (const c of CASES) {
        // The stamps say the opposite of the versions, so lww would have picked the other side.
        a.local.prepare(`UPDATE docs SET body = 'till', version = ?, updated_at = ? WHERE id = ?`).run(c.local, at(c.want === 'local' ? 1000 : 3000), uid(c.n + offset));
        await ledger.db.query(`UPDATE docs SET body = 'cloud', version = $2, updated_at = $3 WHERE id = $1`, [uid(c.n + offset), c.server, at(c.want === 'local' ? 3000 : 1000)]);
      }
      expectNoTableErrors(await a.sync(decidedBy === 'push' ? 'both' : 'pull'));
      expectNoTableErrors(await a.sync('both'));
      expectNoTableErrors(await a.sync('both'));
      for (const c of CASES) {
        const [row] = await ledger.db.query<{ body: string; version: number }>(`SELECT body, version FROM docs WHERE id = $1`, [uid(c.n + offset)]);
        const want = c.want === 'local' ? { body: 'till', version: c.local } : { body: 'cloud', version: c.server };
        expect(row, `case ${c.n}`).toEqual(want);
        expect(a.local.prepare(`SELECT body, version FROM docs WHERE id = ?`).get(uid(c.n + offset))).toEqual(want);
      }
      await expectInSync(a.config);
      const policies = decidedBy === 'push'
        ? await ledger.db.query<{ policy: string }>(`SELECT DISTINCT policy FROM possync.conflicts WHERE tbl = 'docs'`)
        : (a.local.prepare(`SELECT DISTINCT policy FROM _possync_conflicts WHERE tbl = 'docs'`).all() as Array<{ policy: string }>);
      expect(policies).toEqual([{ policy: 'version/client-wins' }]);
    });
  }
});
