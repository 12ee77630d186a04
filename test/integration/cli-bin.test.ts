import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// bin/possync.js runs the bundle (dist/possync.mjs, built by `npm install` in a clone and shipped
// prebuilt in the package) when it is newer than every file under src/ or there is no src/, and
// the TypeScript sources through tsx otherwise, so an edit to src/ is never hidden behind an old
// bundle. The real bin runs here in a copy of the package layout whose
// two entry points only say which one ran.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('bin/possync.js picks the bundle or the sources', () => {
  let pkg: string;
  const bundle = () => path.join(pkg, 'dist', 'possync.mjs');
  const source = () => path.join(pkg, 'src', 'cli', 'main.ts');
  const at = (file: string, seconds: number) => fs.utimesSync(file, seconds, seconds);
  const run = () => {
    const r = spawnSync(process.execPath, [path.join(pkg, 'bin', 'possync.js'), 'trigger', '--direction', 'both'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  beforeAll(() => {
    pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-bin-'));
    fs.mkdirSync(path.join(pkg, 'bin'));
    fs.mkdirSync(path.join(pkg, 'dist'));
    fs.mkdirSync(path.join(pkg, 'src', 'cli'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'bin', 'possync.js'), path.join(pkg, 'bin', 'possync.js'));
    fs.writeFileSync(path.join(pkg, 'package.json'), '{ "type": "module" }\n');
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
    // Each prints which entry ran and the arguments it was given (the bin passes them through).
    fs.writeFileSync(bundle(), `console.log('bundle', process.argv.slice(2).join(' '));\n`);
    fs.writeFileSync(source(), `const which: string = 'sources';\nconsole.log(which, process.argv.slice(2).join(' '));\n`);
  });
  afterAll(() => fs.rmSync(pkg, { recursive: true, force: true }));

  it('runs the bundle when it is newer than every source file', () => {
    at(source(), 1_000_000);
    at(bundle(), 2_000_000);
    expect(run()).toBe('bundle trigger --direction both');
  });

  it('runs the sources through tsx when a file under src/ is newer than the bundle, however deep', () => {
    at(bundle(), 2_000_000);
    at(source(), 3_000_000);
    expect(run()).toBe('sources trigger --direction both');
    at(source(), 1_000_000);
    const deep = path.join(pkg, 'src', 'cli', 'deeper', 'new.ts');
    fs.mkdirSync(path.dirname(deep));
    fs.writeFileSync(deep, 'export {};\n');
    at(deep, 3_000_000);
    expect(run()).toBe('sources trigger --direction both');
    fs.rmSync(path.dirname(deep), { recursive: true });
  });

  it('runs the bundle when there is no src/ at all, as in an installed package (tsx is not installed there)', () => {
    fs.renameSync(path.join(pkg, 'src'), path.join(pkg, 'src.away'));
    try {
      at(bundle(), 1_000_000);
      expect(run()).toBe('bundle trigger --direction both');
    } finally {
      fs.renameSync(path.join(pkg, 'src.away'), path.join(pkg, 'src'));
    }
  });

  it('runs the sources when there is no bundle', () => {
    fs.renameSync(bundle(), `${bundle()}.away`);
    try {
      expect(run()).toBe('sources trigger --direction both');
    } finally {
      fs.renameSync(`${bundle()}.away`, bundle());
    }
  });
});
