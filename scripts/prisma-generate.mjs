// Generates the Prisma Client for the reference schema (prisma/schema.prisma) into
// src/generated/prisma, for development: possync itself reads Postgres through pg, so the
// package neither ships nor needs the client. Runs on `npm install` in a clone (`prepare`) and
// works offline.
//
// Why the env var: Prisma's CLI wants to download a schema-engine binary before it does
// anything, and `prisma generate` does not actually need it. Pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file (this script) stops the download. It is set here only, for this
// one child process, so `prisma migrate` on a real server is unaffected.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const prismaCli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
const result = spawnSync(process.execPath, [prismaCli, 'generate'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url),
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(result.status ?? 1);
