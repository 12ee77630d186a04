#!/usr/bin/env node
// The possync command. Runs the bundle that `npm install` builds (dist/possync.mjs, see
// scripts/build.mjs) on plain Node. When there is no bundle, or a source file is newer than it
// (someone is editing src/), it runs the TypeScript sources through tsx's loader instead, so
// the command always runs the code that is in src/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bundle = path.join(root, 'dist', 'possync.mjs');

function newestUnder(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsCurrent() {
  try {
    return fs.statSync(bundle).mtimeMs >= newestUnder(path.join(root, 'src'));
  } catch {
    return false;
  }
}

if (bundleIsCurrent()) {
  // DEBUG=1 prints stack traces: let them name src/ files and lines, not the bundle's.
  if (process.env.DEBUG) process.setSourceMapsEnabled(true);
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
