import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { SqliteGateway } from '../../src/db/sqlite/gateway.ts';
import { verifySchemas } from '../../src/engine/verify.ts';
import { createLedger, type Ledger } from '../support/ledger.ts';

// verify-schemas checks the conflict keys against both schemas: a counter must be a number on
// the cloud side, and versionCol must exist on both sides.
const PG = `CREATE TABLE goods (id uuid PRIMARY KEY, label text NOT NULL, stock numeric(12,3) NOT NULL, rev integer NOT NULL DEFAULT 0, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE goods (id TEXT PRIMARY KEY, label TEXT NOT NULL, stock TEXT NOT NULL, updated_at TEXT NOT NULL);`;

describe('verify-schemas and the conflict keys', () => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await createLedger('merge_verify', { extraPg: PG, extraSqlite: SQLITE });
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  const findings = async (table: Record<string, unknown>) => {
    const t = ledger.terminal(`till-${Math.random().toString(36).slice(2, 8)}`, { tables: [table] });
    const pg = await PgGateway.connect(t.config.postgresUrl);
    const sqlite = SqliteGateway.open(t.config.sqlitePath, { readonly: true });
    try {
      return (await verifySchemas(t.config, pg, sqlite.db)).filter((f) => f.severity === 'error').map((f) => f.message);
    } finally {
      sqlite.close();
      await pg.close();
    }
  };

  it('accepts a numeric counter', async () => {
    expect(await findings({ name: 'goods', pk: 'id', updatedCol: 'updated_at', counters: ['stock'] })).toEqual([]);
  });

  it('refuses a counter that is not a number, and one that does not exist', async () => {
    const errors = await findings({ name: 'goods', pk: 'id', updatedCol: 'updated_at', counters: ['label', 'missing'] });
    expect(errors).toEqual([
      expect.stringContaining('counter column "label" of "goods" is text'),
      expect.stringContaining('counter column "missing" does not exist in Postgres table "goods"'),
    ]);
  });

  it('refuses a versionCol the till lacks', async () => {
    const errors = await findings({ name: 'goods', pk: 'id', conflict: 'version', versionCol: 'rev' });
    expect(errors).toEqual([expect.stringContaining('versionCol "rev" has no SQLite counterpart in "goods"')]);
  });
});
