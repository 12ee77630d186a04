import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureDdl } from '../../src/db/postgres/possync-schema.ts';
import { pgIdent } from '../../src/db/quote.ts';
import type { Finding } from '../../src/engine/verify.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { createClinic, seedClinic, uuid, type Clinic } from '../support/clinic.ts';
import { createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// Least privilege (issue 18): possync's Postgres role is not a superuser, other roles write the
// synced tables, and a role that lacks a privilege gets told which one and the GRANT to run.
// Roles are cluster-wide: each gets a unique name and is dropped in afterAll.

const PASSWORD = 'possync-test-pw';
const suffix = randomBytes(3).toString('hex');
const roleName = (what: string) => `possync_t_${what}_${suffix}`;
const ROOT = path.resolve(import.meta.dirname, '../..');
const CLEAN = '✓ 3 tables: both databases match the config';
const STACK = /\bat .*\.(ts|js|mjs):\d+/;

function urlAs(url: string, role: string, password = PASSWORD): string {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return u.toString();
}

async function asRole<T>(url: string, role: string, fn: (c: pg.Client) => Promise<T>, password = PASSWORD): Promise<T> {
  const c = new pg.Client({ connectionString: urlAs(url, role, password) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function createRoles(db: TestPg, roles: string[]): Promise<void> {
  for (const r of roles) await db.query(`CREATE ROLE ${pgIdent(r)} LOGIN PASSWORD '${PASSWORD}'`);
}

/** DROP OWNED in the test's database (objects and grants), the database, then the roles. */
async function dropRoles(db: TestPg | undefined, roles: string[], drop: () => Promise<void>): Promise<void> {
  if (db) await db.query(`DROP OWNED BY ${roles.map(pgIdent).join(', ')} CASCADE`).catch(() => {});
  await drop();
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  try {
    for (const r of roles) await admin.query(`DROP ROLE IF EXISTS ${pgIdent(r)}`);
  } finally {
    await admin.end();
  }
}

function ownTables(db: TestPg, owner: string): Promise<unknown> {
  return db.query(['clinics', 'patients', 'visits'].map((t) => `ALTER TABLE ${t} OWNER TO ${pgIdent(owner)};`).join('\n'));
}

const oneLine = (r: CliResult) => r.stderr.trim().split('\n');

async function report(c: Clinic, env: Record<string, string>): Promise<{ code: number | null; findings: Finding[] }> {
  const r = await runCli(['verify-schemas', '--json', '-c', c.configPath], { env });
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: Finding[] }).findings };
}

describe('a non-superuser owner installs; other roles keep writing the synced tables', () => {
  const OWNER = roleName('owner');
  const WRITER = roleName('backoffice');
  let c: Clinic;
  let env: Record<string, string>;
  const trigger = (direction: string) => runCli(['trigger', '-d', direction, '-c', c.configPath], { env });
  const asWriter = <T>(fn: (w: pg.Client) => Promise<T>) => asRole(c.pg.url, WRITER, fn);

  beforeAll(async () => {
    c = await createClinic('priv_owner');
    await createRoles(c.pg, [OWNER, WRITER]);
    await c.pg.query(`GRANT CREATE ON DATABASE ${pgIdent(c.pg.name)} TO ${pgIdent(OWNER)}`);
    await ownTables(c.pg, OWNER);
    // The back office: plain row rights on the app tables, nothing on anything of possync's.
    await c.pg.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON clinics, patients, visits TO ${pgIdent(WRITER)}`);
    await seedClinic(c);
    env = { TEST_PG_URL: urlAs(c.pg.url, OWNER) };
  });
  afterAll(() => dropRoles(c?.pg, [OWNER, WRITER], () => c?.cleanup() ?? Promise.resolve()));

  it('(a) the owner installs possync and syncs both ways; the capture functions run as their owner, not the caller', async () => {
    const r = await trigger('both');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const till = openSqlite(c.sqlitePath);
    try {
      expect(till.prepare(`SELECT name FROM clinics ORDER BY name`).all()).toEqual([{ name: 'Lakeside' }, { name: 'Northside' }]);
    } finally {
      till.close();
    }
    expect(await c.pg.query(`SELECT name FROM clinics ORDER BY name`)).toEqual([{ name: 'Lakeside' }, { name: 'Northside' }]);

    const [schema] = await c.pg.query<{ owner: string }>(`SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'possync'`);
    expect(schema?.owner).toBe(OWNER);
    const fns = await c.pg.query<{ owner: string; definer: boolean; config: string[]; public_execute: boolean }>(
      `SELECT proowner::regrole::text AS owner, prosecdef AS definer, proconfig AS config, has_function_privilege('public', oid, 'EXECUTE') AS public_execute
         FROM pg_proc WHERE pronamespace = 'possync'::regnamespace`,
    );
    expect(fns).toHaveLength(6);
    for (const f of fns) expect(f).toEqual({ owner: OWNER, definer: true, config: ['search_path=pg_catalog, pg_temp'], public_execute: false });

    const verify = await runCli(['verify-schemas', '-c', c.configPath], { env });
    expect(verify.code).toBe(0);
    expect(verify.stdout.trim()).toBe(CLEAN);
  });

  it('(b) a role with row rights only writes the synced tables after install; its rows reach the till and the till\'s reach it', async () => {
    await asWriter(async (w) => {
      await w.query(`INSERT INTO clinics VALUES ($1, 'Back office clinic', '2026-11-05T08:00:00Z')`, [uuid(3)]);
      await w.query(`UPDATE patients SET full_name = 'Amina N. Njoroge', updated_at = '2026-11-05T08:00:00Z' WHERE id = $1`, [uuid(11)]);
      // Its transaction's own settings reach the definer function: a marked bulk write is not logged.
      await w.query(`BEGIN; SET LOCAL possync.bulk = 'on'; UPDATE clinics SET updated_at = updated_at WHERE id = '${uuid(1)}'; COMMIT;`);
      // It still has no rights on possync's objects: the capture functions write the log for it.
      await expect(w.query(`SELECT count(*) FROM possync.changes`)).rejects.toThrow(/permission denied for schema possync/);
    });
    const logged = await c.pg.query<{ tbl: string; keys: string[][] }>(`SELECT tbl, keys FROM possync.changes WHERE origin IS NULL ORDER BY xid DESC LIMIT 2`);
    expect(logged).toEqual([
      { tbl: 'public.patients', keys: [[uuid(11)]] },
      { tbl: 'public.clinics', keys: [[uuid(3)]] },
    ]);

    const pulled = await trigger('pull');
    expect(pulled.code).toBe(0);
    const till = openSqlite(c.sqlitePath);
    try {
      expect(till.prepare(`SELECT name FROM clinics WHERE id = ?`).get(uuid(3))).toEqual({ name: 'Back office clinic' });
      expect(till.prepare(`SELECT full_name FROM patients WHERE id = ?`).get(uuid(11))).toEqual({ full_name: 'Amina N. Njoroge' });
      till.prepare(`INSERT INTO clinics VALUES (?, 'Till clinic', '2026-11-06T08:00:00.000Z')`).run(uuid(4));
    } finally {
      till.close();
    }
    expect((await trigger('push')).code).toBe(0);
    await asWriter(async (w) => {
      expect((await w.query(`SELECT name FROM clinics WHERE id = $1`, [uuid(4)])).rows).toEqual([{ name: 'Till clinic' }]);
      await w.query(`DELETE FROM visits`);
    });
  });

  it('an older install (capture with the caller\'s rights) is what broke other writers: verify-schemas names them, and a run upgrades it', async () => {
    // What possync installed before SECURITY DEFINER: the same body, run with the writer's rights.
    const clinics = captureDdl('public', 'clinics', ['id']);
    await c.pg.query(`CREATE OR REPLACE FUNCTION possync.${clinics.functionName}() RETURNS trigger LANGUAGE plpgsql AS $f$${clinics.functions[0]!.body}$f$`);
    await asWriter((w) => expect(w.query(`INSERT INTO clinics VALUES ($1, 'Refused', '2026-11-07T08:00:00Z')`, [uuid(5)])).rejects.toThrow(/permission denied for schema possync/));

    const before = await report(c, env);
    expect(before.code).toBe(1);
    expect(before.findings.filter((f) => f.table === 'clinics').map((f) => f.code).sort()).toEqual(['capture-other-writers', 'capture-stale']);
    const writers = before.findings.find((f) => f.code === 'capture-other-writers')!;
    expect(writers.message).toContain(`"${WRITER}"`);
    expect(writers.message).not.toContain(`"${OWNER}"`);
    expect(writers.fix).toContain('possync trigger');

    const r = await trigger('both');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/note: installed Postgres capture triggers on "public"\."clinics"/);
    await asWriter((w) => w.query(`INSERT INTO clinics VALUES ($1, 'Accepted', '2026-11-07T08:00:00Z')`, [uuid(5)]));
    expect((await trigger('pull')).code).toBe(0);
    const till = openSqlite(c.sqlitePath);
    try {
      expect(till.prepare(`SELECT name FROM clinics WHERE id = ?`).get(uuid(5))).toEqual({ name: 'Accepted' });
    } finally {
      till.close();
    }
    const after = await report(c, env);
    expect(after.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });
});

describe('(c) a role without CREATE on the database', () => {
  const ROLE = roleName('nocreate');
  let c: Clinic;
  let env: Record<string, string>;

  beforeAll(async () => {
    c = await createClinic('priv_nocreate');
    await createRoles(c.pg, [ROLE]);
    // It owns the app tables (so TRIGGER is not what is missing), but may not create a schema.
    await ownTables(c.pg, ROLE);
    await seedClinic(c);
    env = { TEST_PG_URL: urlAs(c.pg.url, ROLE) };
  });
  afterAll(() => dropRoles(c?.pg, [ROLE], () => c?.cleanup() ?? Promise.resolve()));

  it('trigger exits 2 with one line naming the privilege and the GRANT, and installs nothing', async () => {
    const r = await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env });
    expect(r.code).toBe(2);
    expect(oneLine(r)).toHaveLength(1);
    expect(r.stderr).toContain(`possync's role "${ROLE}" may not create objects in database "${c.pg.name}"`);
    expect(r.stderr).toContain(`GRANT CREATE ON DATABASE "${c.pg.name}" TO "${ROLE}";`);
    expect(r.stderr).toContain('install once as the owner');
    expect(r.stderr).not.toMatch(STACK);
    expect(await c.pg.query(`SELECT to_regnamespace('possync') AS s`)).toEqual([{ s: null }]);

    const json = await runCli(['trigger', '-d', 'both', '--json', '-c', c.configPath], { env });
    expect(json.code).toBe(2);
    // --json is still one document: the run's result, stopped by the missing privilege.
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'failed', errorCode: 'PERMISSION', error: expect.stringContaining(`GRANT CREATE ON DATABASE "${c.pg.name}" TO "${ROLE}";`) });
  });

  it('verify-schemas flags it with the GRANT (exit 1); after the GRANT both are clean', async () => {
    const r = await runCli(['verify-schemas', '-c', c.configPath], { env });
    expect(r.code).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.includes('may not create schema "possync"'));
    expect(line).toBeDefined();
    expect(line).toMatch(/^error /);
    expect(line).toContain(`fix: GRANT CREATE ON DATABASE "${c.pg.name}" TO "${ROLE}";`);

    await c.pg.query(`GRANT CREATE ON DATABASE ${pgIdent(c.pg.name)} TO ${pgIdent(ROLE)}`);
    const sync = await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env });
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    const after = await runCli(['verify-schemas', '-c', c.configPath], { env });
    expect(after.code).toBe(0);
    expect(after.stdout.trim()).toBe(CLEAN);
  });
});

describe('(d) install once as the owner, then everyday runs as a role that creates nothing and owns nothing', () => {
  const OWNER = roleName('installer');
  const DAILY = roleName('daily');
  let c: Clinic;
  const as = (role: string) => ({ TEST_PG_URL: urlAs(c.pg.url, role) });
  const trigger = (role: string, ...args: string[]) => runCli(['trigger', '-d', 'both', '-c', c.configPath, ...args], { env: as(role) });

  beforeAll(async () => {
    c = await createClinic('priv_daily');
    await createRoles(c.pg, [OWNER, DAILY]);
    await c.pg.query(`GRANT CREATE ON DATABASE ${pgIdent(c.pg.name)} TO ${pgIdent(OWNER)}`);
    await ownTables(c.pg, OWNER);
    await seedClinic(c);
    expect((await trigger(OWNER)).code).toBe(0);
    // Row rights only; INSERT on visits left out on purpose.
    await c.pg.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON clinics, patients TO ${pgIdent(DAILY)}; GRANT SELECT, UPDATE, DELETE ON visits TO ${pgIdent(DAILY)};
      GRANT USAGE ON SCHEMA possync TO ${pgIdent(DAILY)}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA possync TO ${pgIdent(DAILY)};`);
  });
  afterAll(() => dropRoles(c?.pg, [OWNER, DAILY], () => c?.cleanup() ?? Promise.resolve()));

  it('a missing row privilege fails that table with the GRANT (exit 2), verify-schemas names it, and the others still sync', async () => {
    const [role] = await c.pg.query<{ create: boolean; owns: number }>(
      `SELECT has_database_privilege($1, current_database(), 'CREATE') AS create,
              (SELECT count(*)::int FROM pg_class WHERE relowner = $1::regrole) + (SELECT count(*)::int FROM pg_proc WHERE proowner = $1::regrole) AS owns`,
      [DAILY],
    );
    expect(role).toEqual({ create: false, owns: 0 });

    const v = await report(c, as(DAILY));
    expect(v.code).toBe(1);
    expect(v.findings.filter((f) => f.code === 'privilege-missing').map((f) => [f.table, f.fix])).toEqual([['visits', `GRANT INSERT ON "public"."visits" TO "${DAILY}";`]]);

    await c.pg.query(`INSERT INTO patients VALUES ($1, $2, 'Cloud patient', NULL, 0, '2026-11-08T08:00:00Z', NULL)`, [uuid(13), uuid(1)]);
    const till = openSqlite(c.sqlitePath);
    till.prepare(`INSERT INTO visits VALUES (?, ?, 'follow-up', '10.00', '2026-11-08T09:00:00.000Z', '2026-11-08T09:00:00.000Z', 0)`).run(uuid(22), uuid(12));
    till.close();

    const r = await trigger(DAILY, '--json');
    expect(r.code).toBe(2);
    const result = JSON.parse(r.stdout) as { tables: Array<{ table: string; step: string; status: string; error?: string; errorCode?: string }> };
    const visits = result.tables.find((t) => t.table === 'visits' && t.step === 'push')!;
    expect(visits).toMatchObject({ status: 'error', errorCode: 'PERMISSION' });
    expect(visits.error).toContain(`possync's role "${DAILY}" lacks INSERT on table "public"."visits"`);
    expect(visits.error).toContain(`GRANT INSERT ON "public"."visits" TO "${DAILY}";`);
    expect(result.tables.filter((t) => t.status === 'error').map((t) => `${t.step} ${t.table}`)).toEqual(['push visits']);
    const pulled = openSqlite(c.sqlitePath);
    try {
      expect(pulled.prepare(`SELECT full_name FROM patients WHERE id = ?`).get(uuid(13))).toEqual({ full_name: 'Cloud patient' });
    } finally {
      pulled.close();
    }
    const text = await trigger(DAILY);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(`GRANT INSERT ON "public"."visits" TO "${DAILY}";`);
    expect(text.stdout).not.toMatch(STACK);
  });

  it('with every row privilege granted, everyday runs need no DDL: they sync and verify-schemas is clean', async () => {
    await c.pg.query(`GRANT INSERT ON visits TO ${pgIdent(DAILY)}`);
    const r = await trigger(DAILY);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await c.pg.query(`SELECT reason FROM visits WHERE id = $1`, [uuid(22)])).toEqual([{ reason: 'follow-up' }]);
    const again = await trigger(DAILY, '--json');
    expect(again.code).toBe(0);
    const moved = (JSON.parse(again.stdout) as { tables: Array<{ inserted: number; updated: number; deleted: number }> }).tables.reduce((a, t) => a + t.inserted + t.updated + t.deleted, 0);
    expect(moved).toBe(0);
    const v = await runCli(['verify-schemas', '-c', c.configPath], { env: as(DAILY) });
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(CLEAN);
  });

  it('capture objects that need replacing (a possync upgrade) stop the everyday role with exit 2 naming who must run it; after the owner runs once it syncs again', async () => {
    const clinics = captureDdl('public', 'clinics', ['id']);
    const older = clinics.functions[0]!.body.replaceAll(`nullif(current_setting('possync.origin', true), '')`, 'NULL');
    await c.pg.query(`CREATE OR REPLACE FUNCTION possync.${clinics.functionName}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$${older}$f$`);

    const r = await trigger(DAILY);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toHaveLength(1);
    expect(r.stderr).toContain(`possync's role "${DAILY}" may not create objects in schema "possync"`);
    expect(r.stderr).toContain(`run possync trigger once as "${OWNER}"`);
    expect(r.stderr).not.toMatch(STACK);

    const v = await report(c, as(DAILY));
    expect(v.code).toBe(1);
    const fixes = v.findings.filter((f) => f.code === 'privilege-missing').map((f) => f.fix);
    expect(fixes).toContain(`run possync trigger once as "${OWNER}", the role that installed possync: see README "Least privilege"`);

    expect((await trigger(OWNER)).code).toBe(0);
    expect((await trigger(DAILY)).code).toBe(0);
  });
});

describe('(e) the least-privilege recipe (docs/least-privilege.sql), run verbatim, on the reference POS schema', () => {
  const OWNER = roleName('posowner');
  const SYNC = 'possync_sync';
  const TERMINAL = '00000000-0000-4000-8000-0000000000a1';
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let sqlitePath: string;
  const config = path.join(ROOT, 'possync.config.example.json');
  const as = (role: string, password = PASSWORD) => ({ SQLITE_PATH: sqlitePath, DATABASE_URL: urlAs(db.url, role, password), TERMINAL_ID: TERMINAL });

  beforeAll(async () => {
    db = await createTestPg('priv_recipe');
    await createRoles(db, [OWNER]);
    await db.query(`GRANT CREATE ON DATABASE ${pgIdent(db.name)} TO ${pgIdent(OWNER)}; GRANT CREATE ON SCHEMA public TO ${pgIdent(OWNER)}`);
    const migrations = fs.readdirSync(path.join(ROOT, 'prisma/migrations'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(ROOT, 'prisma/migrations', d.name, 'migration.sql')).sort();
    await asRole(db.url, OWNER, async (o) => {
      for (const file of [...migrations, path.join(ROOT, 'prisma/demo/cloud.sql')]) await o.query(fs.readFileSync(file, 'utf8'));
    });
    tmp = tempDir('possync-recipe-');
    sqlitePath = path.join(tmp.dir, 'terminal.sqlite');
    const till = openSqlite(sqlitePath);
    till.pragma('journal_mode = WAL');
    till.exec(fs.readFileSync(path.join(ROOT, 'prisma/sqlite/terminal.sql'), 'utf8'));
    till.exec(fs.readFileSync(path.join(ROOT, 'prisma/demo/terminal.sql'), 'utf8'));
    till.close();
  });
  afterAll(async () => {
    await dropRoles(db, [OWNER, SYNC], () => db?.drop() ?? Promise.resolve());
    tmp?.cleanup();
  });

  it('the owner installs once; the recipe\'s role then syncs both ways, and verify-schemas finds no missing privilege', async () => {
    const install = await runCli(['trigger', '-d', 'both', '-c', config], { env: as(OWNER) });
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);

    await db.query(fs.readFileSync(path.join(ROOT, 'docs/least-privilege.sql'), 'utf8'));
    // Idempotent: a DBA reruns it after adding a table.
    await db.query(fs.readFileSync(path.join(ROOT, 'docs/least-privilege.sql'), 'utf8'));
    const env = as(SYNC, 'change-me');

    const [rights] = await db.query<{ create: boolean; schema_create: boolean; trigger: number; truncate: number; owns: number }>(
      `SELECT has_database_privilege('possync_sync', current_database(), 'CREATE') AS create,
              has_schema_privilege('possync_sync', 'public', 'CREATE') OR has_schema_privilege('possync_sync', 'possync', 'CREATE') AS schema_create,
              (SELECT count(*)::int FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, 'possync'::regnamespace) AND c.relkind = 'r' AND has_table_privilege('possync_sync', c.oid, 'TRIGGER')) AS trigger,
              (SELECT count(*)::int FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, 'possync'::regnamespace) AND c.relkind = 'r' AND has_table_privilege('possync_sync', c.oid, 'TRUNCATE')) AS truncate,
              (SELECT count(*)::int FROM pg_class WHERE relowner = 'possync_sync'::regrole) AS owns`,
    );
    expect(rights).toEqual({ create: false, schema_create: false, trigger: 0, truncate: 0, owns: 0 });

    const v = await runCli(['verify-schemas', '--json', '-c', config], { env });
    const findings = (JSON.parse(v.stdout) as { findings: Finding[] }).findings;
    expect(findings.filter((f) => /^(privilege|capture)-/.test(f.code))).toEqual([]);

    // A change on each side: a pull-only table edited in the cloud, a customer added on the till.
    await asRole(db.url, OWNER, (o) => o.query(`UPDATE categories SET name = 'Drinks', updated_at = '2026-12-01T08:00:00Z' WHERE id = '00000000-0000-4000-8000-0000000000c1'`));
    const till = openSqlite(sqlitePath);
    till
      .prepare(`INSERT INTO customers (id, store_id, name, phone, created_at, updated_at) VALUES (?, ?, 'Recipe Customer', '+254711009999', ?, ?)`)
      .run('00000000-0000-4000-8000-000000000299', '00000000-0000-4000-8000-000000000001', '2026-12-01T09:00:00.000Z', '2026-12-01T09:00:00.000Z');
    till.close();

    const r = await runCli(['trigger', '-d', 'both', '-c', config], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await db.query(`SELECT name FROM customers WHERE id = '00000000-0000-4000-8000-000000000299'`)).toEqual([{ name: 'Recipe Customer' }]);
    const after = openSqlite(sqlitePath);
    try {
      expect(after.prepare(`SELECT name FROM categories WHERE id = '00000000-0000-4000-8000-0000000000c1'`).get()).toEqual({ name: 'Drinks' });
    } finally {
      after.close();
    }
    const again = await runCli(['trigger', '-d', 'both', '--json', '-c', config], { env });
    expect(again.code).toBe(0);
    const moved = (JSON.parse(again.stdout) as { tables: Array<{ inserted: number; updated: number; deleted: number }> }).tables.reduce((a, t) => a + t.inserted + t.updated + t.deleted, 0);
    expect(moved).toBe(0);

    // A table a later possync adds to its schema (created by the owner on upgrade) is granted too.
    await asRole(db.url, OWNER, (o) => o.query(`CREATE TABLE possync.added_later (id int)`));
    const granted = await db.query<{ p: string }>(`SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) AS p WHERE has_table_privilege('possync_sync', 'possync.added_later', p)`);
    expect(granted.map((g) => g.p)).toEqual(['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
  });
});
