import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import dotenv from 'dotenv';
import { inferConfig } from '../../config/infer.ts';
import { configSchema } from '../../config/schema.ts';
import { DEFAULT_CONFIG_FILE } from '../../config/load.ts';
import { PgGateway } from '../../db/postgres/gateway.ts';
import { introspectPg } from '../../db/postgres/introspect.ts';
import { beforeInsertTriggers } from '../../db/postgres/triggers.ts';
import { listPgTables } from '../../db/postgres/list-tables.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { introspectSqlite, sqliteTableNames } from '../../db/sqlite/introspect.ts';
import type { SqliteTableInfo } from '../../db/sqlite/introspect.ts';
import { PossyncError } from '../../errors.ts';
import { colors, printJson } from '../output.ts';

interface InitFlags {
  sqlite?: string;
  databaseUrl?: string;
  schema: string;
  output: string;
  force?: boolean;
  json?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .summary('write a starter config from both databases')
    .description(
      'Look at the terminal SQLite database and the Postgres schema, and write a starter config for an admin to review. ' +
        'It lists the tables present on both sides (same name, or PascalCase/camelCase SQLite names matching snake_case ' +
        'Postgres names) in foreign-key order, with the Postgres primary key as pk, updatedCol/createdCol/deletedCol guessed ' +
        'from common names (updated_at, updatedAt, modified_at, last_modified; created_at; deleted_at), "server-wins" where ' +
        'no updated column exists, and SQLite-only columns as localOnly. Foreign keys need no fkMap: possync reads them from Postgres.\n\n' +
        'It only reads both databases. The Postgres URL is never written into the file (the config reads DATABASE_URL).',
    )
    .option('--sqlite <path>', 'terminal SQLite database (default: $SQLITE_PATH)')
    .option('--database-url <url>', 'PostgreSQL URL (default: $DATABASE_URL)')
    .option('--schema <name>', 'Postgres schema to look in', 'public')
    .option('-o, --output <path>', 'where to write the config', DEFAULT_CONFIG_FILE)
    .option('-f, --force', 'overwrite the output file if it exists')
    .option('--json', 'print one JSON document: { file, config, notes }')
    .addHelpText(
      'after',
      `
Examples:
  $ possync init --sqlite /var/lib/pos/till.sqlite --database-url "$DATABASE_URL"
  $ SQLITE_PATH=till.sqlite DATABASE_URL=postgres://… possync init -o site/possync.config.json
  $ possync init --force && possync verify-schemas && possync trigger --direction both

Exit codes: 0 written, 2 usage error (missing database location, output exists without --force),
3 a database cannot be reached.`,
    )
    .action(async (flags: InitFlags) => {
      dotenv.config({ path: path.join(process.cwd(), '.env'), quiet: true });
      const sqlitePath = flags.sqlite ?? process.env.SQLITE_PATH;
      const url = flags.databaseUrl ?? process.env.DATABASE_URL;
      if (!sqlitePath) throw new PossyncError('USAGE', 'init needs the terminal database: pass --sqlite <path> or set SQLITE_PATH');
      if (!url) throw new PossyncError('USAGE', 'init needs the Postgres database: pass --database-url <url> or set DATABASE_URL');
      const output = path.resolve(flags.output);
      if (fs.existsSync(output) && !flags.force) {
        throw new PossyncError('USAGE', `${output} already exists; not overwriting it`, { hint: 'pass --force to replace it, or --output <path> to write elsewhere' });
      }
      const { pgTables, sqliteTables, triggers } = await introspectBoth(path.resolve(sqlitePath), url, flags.schema);
      const inferred = inferConfig(pgTables, sqliteTables, triggers);
      if (inferred.tables.length === 0) {
        throw new PossyncError('USAGE', `no table exists on both sides (SQLite ${sqlitePath}, Postgres schema "${flags.schema}")`, { hint: 'check --sqlite, --database-url and --schema' });
      }
      const config = {
        // A path typed on the command line is relative to here; the config resolves it relative to itself.
        sqlite: { path: flags.sqlite ? path.relative(path.dirname(output), path.resolve(flags.sqlite)) || '.' : 'env:SQLITE_PATH' },
        postgres: { url: 'env:DATABASE_URL', ...(flags.schema !== 'public' ? { schema: flags.schema } : {}) },
        terminalId: 'env:TERMINAL_ID',
        ...(inferred.naming === 'snake' ? { naming: 'snake' } : {}),
        tables: inferred.tables,
      };
      const check = configSchema.safeParse(config);
      if (!check.success) throw new PossyncError('INTERNAL', `init produced an invalid config: ${check.error.message}`);
      fs.mkdirSync(path.dirname(output), { recursive: true });
      fs.writeFileSync(output, `${JSON.stringify(config, null, 2)}\n`);
      const notes = [...inferred.notes, 'set TERMINAL_ID (and DATABASE_URL) in the environment or .env, and cron (or SYNC_CRON) before running possync daemon'];
      if (flags.json) printJson({ file: output, config, notes });
      else process.stdout.write(`${render(output, inferred.tables.map((t) => t.name), notes)}\n`);
    });
}

async function introspectBoth(sqlitePath: string, url: string, schema: string) {
  const sqlite = SqliteGateway.open(sqlitePath, { readonly: true });
  try {
    const sqliteTables = sqliteTableNames(sqlite.db)
      .map((n) => introspectSqlite(sqlite.db, n))
      .filter((t): t is SqliteTableInfo => t !== undefined);
    const pg = await PgGateway.connect(url);
    try {
      const names = await listPgTables(pg, schema);
      const [pgTables, triggers] = await Promise.all([introspectPg(pg, schema, names), beforeInsertTriggers(pg, schema, names)]);
      return { pgTables, sqliteTables, triggers };
    } finally {
      await pg.close();
    }
  } finally {
    sqlite.close();
  }
}

function render(file: string, tables: string[], notes: string[]): string {
  const c = colors();
  return [
    `wrote ${file}: ${tables.length} table${tables.length === 1 ? '' : 's'} in foreign-key order (${tables.join(', ')})`,
    '',
    c.bold('review before the first sync:'),
    ...notes.map((n) => `  - ${n}`),
    '',
    'then check it with: possync verify-schemas',
  ].join('\n');
}
