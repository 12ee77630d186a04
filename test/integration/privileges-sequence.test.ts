import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgIdent } from '../../src/db/quote.ts';
import type { Finding } from '../../src/engine/verify.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// assignKey "cloud" draws keys with nextval() on the key's sequence, which wants USAGE (or UPDATE)
// on it. A role with every row right but not that one is named by verify-schemas with the GRANT,
// and a push of a till-created row fails that table with exit 2 and the same GRANT; after the
// GRANT both are clean and the row arrives under the cloud's key.
const PG = `CREATE TABLE orders (id serial PRIMARY KEY, note text NOT NULL, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT NOT NULL, updated_at TEXT NOT NULL);`;
const ROLE = `possync_t_seq_${randomBytes(3).toString('hex')}`;
const PASSWORD = 'possync-test-pw';

describe('assignKey "cloud" needs USAGE on the key sequence', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let configPath: string;
  let sqlitePath: string;
  const env = () => {
    const u = new URL(db.url);
    u.username = ROLE;
    u.password = PASSWORD;
    return { DATABASE_URL: u.toString() };
  };

  beforeAll(async () => {
    db = await createTestPg('priv_seq');
    await db.query(PG);
    tmp = tempDir();
    sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    configPath = path.join(tmp.dir, 'possync.config.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({ sqlite: { path: sqlitePath }, terminalId: 'till-seq', tables: [{ name: 'orders', pk: 'id', updatedCol: 'updated_at', assignKey: 'cloud' }] }),
    );
    // The owner (the suite's superuser) installs once; the everyday role gets every row right.
    const install = await runCli(['trigger', '-d', 'both', '-c', configPath], { env: { DATABASE_URL: db.url } });
    expect(install.code, install.stderr).toBe(0);
    await db.query(`CREATE ROLE ${pgIdent(ROLE)} LOGIN PASSWORD '${PASSWORD}'`);
    await db.query(`GRANT USAGE ON SCHEMA public, possync TO ${pgIdent(ROLE)};
      GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO ${pgIdent(ROLE)};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA possync TO ${pgIdent(ROLE)};`);
  });
  afterAll(async () => {
    await db.query(`DROP OWNED BY ${pgIdent(ROLE)}; DROP ROLE IF EXISTS ${pgIdent(ROLE)}`).catch(() => undefined);
    await db.drop();
    tmp.cleanup();
  });

  it('verify-schemas names the sequence and the GRANT; a push of a new till row fails with it (exit 2); after the GRANT all is clean', async () => {
    const v = await runCli(['verify-schemas', '--json', '-c', configPath], { env: env() });
    expect(v.code).toBe(1);
    const findings = (JSON.parse(v.stdout) as { findings: Finding[] }).findings.filter((f) => f.code === 'privilege-missing');
    expect(findings.map((f) => [f.table, f.fix])).toEqual([['orders', `GRANT USAGE ON SEQUENCE public.orders_id_seq TO "${ROLE}";`]]);

    const till = openSqlite(sqlitePath);
    till.prepare(`INSERT INTO orders (id, note, updated_at) VALUES (1, 'till order', '2026-12-01T10:00:00.000Z')`).run();
    till.close();
    const r = await runCli(['trigger', '-d', 'both', '--json', '-c', configPath], { env: env() });
    expect(r.code).toBe(2);
    const push = (JSON.parse(r.stdout) as { tables: Array<{ table: string; step: string; status: string; error?: string; errorCode?: string }> }).tables.find((t) => t.step === 'push')!;
    expect(push).toMatchObject({ table: 'orders', status: 'error', errorCode: 'PERMISSION' });
    expect(push.error).toContain('orders_id_seq');
    expect(push.error).toContain('GRANT');

    await db.query(`GRANT USAGE ON SEQUENCE orders_id_seq TO ${pgIdent(ROLE)}`);
    const clean = await runCli(['verify-schemas', '--json', '-c', configPath], { env: env() });
    expect(clean.code).toBe(0);
    const ok = await runCli(['trigger', '-d', 'both', '-c', configPath], { env: env() });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await db.query(`SELECT note FROM orders`)).toEqual([{ note: 'till order' }]);
  });

  it("a role that may not write possync.system_settings (where tills register their tables) stops with exit 2 and the GRANT, not pg's raw error", async () => {
    await db.query(`REVOKE INSERT, UPDATE ON possync.system_settings FROM ${pgIdent(ROLE)}`);
    try {
      const r = await runCli(['trigger', '-d', 'both', '-c', configPath], { env: env() });
      expect(r.code).toBe(2);
      const line = r.stderr.trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toContain('system_settings');
      expect(line).toMatch(/GRANT [A-Z, ]*(INSERT|UPDATE)[A-Z, ]* ON "possync"\."system_settings"/);
    } finally {
      await db.query(`GRANT INSERT, UPDATE ON possync.system_settings TO ${pgIdent(ROLE)}`);
    }
    const ok = await runCli(['trigger', '-d', 'both', '-c', configPath], { env: env() });
    expect(ok.code, ok.stderr).toBe(0);
  });
});
