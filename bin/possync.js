#!/usr/bin/env node
// The possync command. Runs the prebuilt bundle (dist/possync.mjs, see scripts/build.mjs) on
// plain Node. An installed package has no src/ and always runs the bundle. In a clone, when there
// is no bundle or a source file is newer than it (someone is editing src/), it runs the
// TypeScript sources through tsx's loader instead (a dev dependency), so the command always runs
// the code that is in src/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bundle = path.join(root, 'dist', 'possync.mjs');
const src = path.join(root, 'src');

function newestUnder(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsCurrent() {
  if (!fs.existsSync(src)) return true; // an installed package: the bundle is all there is
  try {
    return fs.statSync(bundle).mtimeMs >= newestUnder(src);
  } catch {
    return false;
  }
}

if (bundleIsCurrent()) {
  // DEBUG=1 prints stack traces: let them name src/ files and lines, not the bundle's.
  if (process.env.DEBUG) process.setSourceMapsEnabled(true);
  await import(bundle);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('possync: src/ is newer than dist/possync.mjs and tsx is not installed: run `npm run build`, or `npm install` for the dev dependencies\n');
    process.exit(2);
  }
  register();
  await import('../src/cli/main.ts');
}
