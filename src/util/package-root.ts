import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of possync's package.json, found by walking up from `from` (an import.meta.url).
 * The same code runs from src/ (through tsx) and bundled into dist/, so fixed `../..` paths
 * would be wrong in one of them.
 */
export function packageRoot(from: string): string {
  let dir = path.dirname(fileURLToPath(from));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'possync') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`possync's package.json was not found above ${fileURLToPath(from)}`);
    dir = up;
  }
}
