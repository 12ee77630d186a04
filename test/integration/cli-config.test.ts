import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/db.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface JsonSchema {
  $schema?: string;
  type?: string;
  required?: string[];
  additionalProperties?: boolean;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
}

// None of these touch a database: `config` only reads the file, the environment and .env.
describe('possync config (subprocess)', () => {
  let tmp: ReturnType<typeof tempDir>;
  const write = (file: string, value: unknown) => {
    fs.mkdirSync(path.dirname(path.join(tmp.dir, file)), { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, file), typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  };
  // Nothing from the test runner's environment may leak in: each test says what is set.
  const clean = { DATABASE_URL: undefined, SQLITE_PATH: undefined, TERMINAL_ID: undefined, POSSYNC_CONFIG: undefined, SYNC_CRON: undefined, SYNC_BATCH_SIZE: undefined, TILL_PG: undefined };
  const inDir = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { cwd: tmp.dir, env: { ...clean, ...env } });
  const config = (terminalId: string, extra: Record<string, unknown> = {}) => ({
    sqlite: { path: 'data/till.sqlite' },
    postgres: { url: 'env:TILL_PG' },
    terminalId,
    tables: [
      { name: 'clinics', pk: 'id', updatedCol: 'updated_at' },
      { name: 'visits', pk: 'id', conflict: 'server-wins' },
    ],
    ...extra,
  });

  beforeAll(() => {
    tmp = tempDir('possync-config-');
  });
  afterAll(() => tmp.cleanup());

  it('config schema prints a JSON Schema of the config on stdout (exit 0) that accepts the example config', async () => {
    const r = await inDir(['config', 'schema']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const schema = JSON.parse(r.stdout) as JsonSchema;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['tables']);
    // Strict, like the loader: a typo in a key is an error in the editor too.
    expect(schema.additionalProperties).toBe(false);
    const table = schema.properties!.tables!.items!;
    expect(table.additionalProperties).toBe(false);
    expect(table.required).toEqual(expect.arrayContaining(['name', 'pk']));
    expect(table.properties!.conflict!.enum).toEqual(['lww', 'server-wins', 'client-wins', 'version', 'manual']);
    expect(table.properties!.direction!.enum).toEqual(['both', 'push', 'pull']);
    // Every key the shipped example uses is described, at the top level and on every table.
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'possync.config.example.json'), 'utf8')) as { tables: Array<Record<string, unknown>> } & Record<string, unknown>;
    for (const key of Object.keys(example)) expect(Object.keys(schema.properties!)).toContain(key);
    for (const t of example.tables) for (const key of Object.keys(t)) expect(Object.keys(table.properties!), `tables[].${key}`).toContain(key);
  });

  it('config check reads .env from the working directory and prints the resolved config with the password hidden', async () => {
    write('possync.config.json', config('till-env', { postgres: { url: 'env:TILL_PG', schema: 'shop' } }));
    write('.env', 'TILL_PG=postgresql://possync:s3cret-pw@db.example.com:5432/pos\nSYNC_BATCH_SIZE=250\n');
    try {
      const r = await inDir(['config', 'check']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
      const resolved = JSON.parse(r.stdout) as ResolvedConfig;
      expect(resolved.postgresUrl).toBe('postgresql://possync:***@db.example.com:5432/pos');
      expect(resolved.postgresSchema).toBe('shop');
      expect(resolved.configPath).toBe(path.join(fs.realpathSync(tmp.dir), 'possync.config.json'));
      // Paths resolved against the config file's directory, defaults and SYNC_BATCH_SIZE applied.
      expect(resolved.sqlitePath).toBe(path.join(fs.realpathSync(tmp.dir), 'data/till.sqlite'));
      expect(resolved.batchSize).toBe(250);
      expect(resolved.tables.map((t) => [t.name, t.conflict, t.direction, t.pk])).toEqual([
        ['clinics', 'lww', 'both', ['id']],
        ['visits', 'server-wins', 'both', ['id']],
      ]);
    } finally {
      fs.rmSync(path.join(tmp.dir, '.env'));
    }
  });

  it('an invalid config exits 2 and lists every problem with its path, one line each', async () => {
    write('bad.json', {
      terminalId: 'till-bad',
      batchSize: 0,
      naming: 'kebab',
      tables: [
        { name: 'clinics', pk: 'id', updatedCol: 'updated_at', conflikt: 'lww' },
        { name: 'orders', pk: 'id' },
      ],
    });
    const r = await inDir(['config', 'check', '--config', 'bad.json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('possync: bad.json has 4 problems:');
    expect(lines).toHaveLength(5);
    expect(lines.slice(1)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ {2}batchSize: .*>=1/),
        expect.stringMatching(/^ {2}naming: .*exact.*snake/),
        expect.stringMatching(/^ {2}tables\[0\]: .*"conflikt"/),
        '  tables[1].updatedCol: table "orders" uses conflict "lww" and needs "updatedCol"; set updatedCol or choose conflict "server-wins" / "client-wins"',
      ]),
    );
  });

  it('problems found while resolving (env references, terminalId, fkMap) are listed one per line too', async () => {
    write('unresolved.json', config('till one!', { fkMap: { visits: [{ field: 'clinic_id', refTable: 'clinic' }] } }));
    const r = await inDir(['config', 'check', '-c', 'unresolved.json']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'possync: unresolved.json has 3 problems:',
      '  postgres.url: environment variable TILL_PG is not set (set it, put it in .env, or write the value in the config)',
      '  terminalId: "till one!" must be 1-64 characters of letters, digits, . _ : -',
      '  fkMap.visits[0].refTable: no table named "clinic" in tables',
    ]);
  });

  it('an lww table without updatedCol: exit 2, naming the table and what to do', async () => {
    write('lww.json', { ...config('till-lww'), tables: [{ name: 'payments', pk: 'id' }] });
    const r = await inDir(['config', 'check', '-c', 'lww.json'], { TILL_PG: 'postgresql://u@h/db' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'possync: lww.json has 1 problem:\n  tables[0].updatedCol: table "payments" uses conflict "lww" and needs "updatedCol"; set updatedCol or choose conflict "server-wins" / "client-wins"\n',
    );
    // Everywhere else the same problem is the usual single line.
    const trigger = await inDir(['trigger', '-d', 'push', '-c', 'lww.json'], { TILL_PG: 'postgresql://u@h/db' });
    expect(trigger.code).toBe(2);
    expect(trigger.stderr.trim().split('\n')).toHaveLength(1);
    expect(trigger.stderr).toContain('table "payments" uses conflict "lww" and needs "updatedCol"');
  });

  it('POSSYNC_CONFIG chooses the config file (also from .env), and --config wins over it', async () => {
    write('site/a.json', config('till-a'));
    write('site/b.json', config('till-b'));
    const env = { TILL_PG: 'postgresql://u:pw@h/db' };
    const byEnv = await inDir(['config', 'check'], { ...env, POSSYNC_CONFIG: 'site/a.json' });
    expect(byEnv.code).toBe(0);
    expect((JSON.parse(byEnv.stdout) as ResolvedConfig).terminalId).toBe('till-a');
    const byFlag = await inDir(['config', 'check', '--config', 'site/b.json'], { ...env, POSSYNC_CONFIG: 'site/a.json' });
    expect(byFlag.code).toBe(0);
    expect((JSON.parse(byFlag.stdout) as ResolvedConfig).terminalId).toBe('till-b');
    write('.env', 'POSSYNC_CONFIG=site/b.json\n');
    try {
      const byDotenv = await inDir(['config', 'check'], env);
      expect(byDotenv.code).toBe(0);
      expect((JSON.parse(byDotenv.stdout) as ResolvedConfig).configPath).toBe(path.join(fs.realpathSync(tmp.dir), 'site/b.json'));
      // The real environment wins over .env (dotenv never overrides a variable that is set).
      const both = await inDir(['config', 'check'], { ...env, POSSYNC_CONFIG: 'site/a.json' });
      expect((JSON.parse(both.stdout) as ResolvedConfig).terminalId).toBe('till-a');
    } finally {
      fs.rmSync(path.join(tmp.dir, '.env'));
    }
  });

  it('a missing config file exits 2 with one line saying where it looked and what to do', async () => {
    const r = await inDir(['config', 'check'], { POSSYNC_CONFIG: 'nowhere/possync.config.json' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`config file not found: ${path.join(fs.realpathSync(tmp.dir), 'nowhere/possync.config.json')}`);
    expect(r.stderr).toContain('POSSYNC_CONFIG');
  });
});
