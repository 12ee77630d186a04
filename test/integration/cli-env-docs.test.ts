import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'generated' ? [] : sources(p);
    return /\.(ts|mjs|js)$/.test(d.name) ? [p] : [];
  });
}

/** Names read as `process.env.NAME` / `env.NAME`, and the `'env:NAME'` defaults of the config loader. */
function variablesRead(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\b/g)) names.add(m[1]!);
    for (const m of text.matchAll(/'env:([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]!);
  }
  return names;
}

/** README's "Environment" paragraph under Deployment. */
function readmeEnvironment(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('**Environment.**');
  expect(start).toBeGreaterThan(-1);
  return readme.slice(start, readme.indexOf('\n\n', start));
}

describe('.env.example and README list every environment variable possync reads', () => {
  const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const listed = new Set([...example.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
  const possync = variablesRead(sources(path.join(ROOT, 'src')));
  const toolsOnly = variablesRead([...sources(path.join(ROOT, 'scripts')), ...sources(path.join(ROOT, 'test/support'))]);

  it('finds the variables the code reads (the scan itself works)', () => {
    expect([...possync]).toEqual(expect.arrayContaining(['DATABASE_URL', 'SQLITE_PATH', 'TERMINAL_ID', 'SYNC_BATCH_SIZE', 'SYNC_CRON', 'POSSYNC_CONFIG', 'DEBUG', 'NO_COLOR']));
  });

  it('every variable read in src/ is in .env.example, with a comment, and in README', () => {
    const env = readmeEnvironment();
    for (const name of possync) {
      expect(listed, `${name} in .env.example`).toContain(name);
      expect(example, `a comment above ${name}`).toMatch(new RegExp(`^# .*\\n#?${name}=`, 'm'));
      expect(env, `${name} in README's Environment paragraph`).toContain(`\`${name}`);
    }
  });

  it('.env.example lists nothing that nobody reads (tests and benchmarks say so)', () => {
    for (const name of listed) expect(possync.has(name) || toolsOnly.has(name), `${name} is read somewhere`).toBe(true);
    for (const name of [...listed].filter((n) => !possync.has(n))) {
      expect(example.slice(example.indexOf('Tests and benchmarks only')), `${name} is under "tests and benchmarks only"`).toContain(`${name}=`);
    }
  });
});
