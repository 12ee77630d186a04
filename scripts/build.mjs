// Bundles possync's TypeScript into one ES module so the installed command runs on plain Node:
// `node scripts/build.mjs` writes dist/possync.mjs from src/cli/main.ts. npm runs it as part of
// `prepare`: on `npm install` / `npm ci` in a clone, and before `npm pack` / `npm publish`, so the
// package ships the bundle prebuilt and installing it runs no build (esbuild is a dev dependency).
// `node scripts/build.mjs <entry.ts> <out.mjs>` bundles another entry point the same way (the
// benchmark bundles its phase runner).
//
// Why: running the sources through tsx's loader costs ~30 MB of memory in every possync process
// (the loader runs in its own thread with its own JavaScript heap) and a compile step on start.
// Dependencies stay external (resolved from node_modules at run time), so the bundle holds only
// possync's own code. Every bundle gets verify-data's worker thread module beside it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const [entry = 'src/cli/main.ts', outfile = 'dist/possync.mjs'] = process.argv.slice(2);

const options = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  // For DEBUG=1 stack traces that name the source files (bin/possync.js turns source maps on then).
  sourcemap: true,
  logLevel: 'warning',
};
await build({ ...options, entryPoints: [entry], outfile });
// verify-data's till scan runs in worker threads, which load their own module: it sits beside every
// bundle (src/engine/verify-data/till-parallel.ts looks for it there).
await build({ ...options, entryPoints: ['src/engine/verify-data/till-worker.ts'], outfile: path.join(path.dirname(outfile), 'verify-data-worker.mjs') });
