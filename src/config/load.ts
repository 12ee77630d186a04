import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { PossyncError } from '../errors.ts';
import { configSchema, type RawConfig, type RawTable } from './schema.ts';
import { DEFAULT_PG_TIMEOUTS, type PgConnectionSettings, type PgTimeouts, type ResolvedConfig, type SslMode, type TableConfig } from './types.ts';
import { sslmodeSchema } from './schema.ts';
import { formatIssuePath, redactUrl } from './format.ts';

export const DEFAULT_CONFIG_FILE = 'possync.config.json';
const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_RETENTION_DAYS = 30;

/** Values given on the command line; they win over the file (flag > file > env default > built-in). */
export interface ConfigOverrides {
  sqlitePath?: string | undefined;
  postgresUrl?: string | undefined;
  terminalId?: string | undefined;
  batchSize?: number | undefined;
  cron?: string | undefined;
  listen?: string | undefined;
}

export interface LoadOptions {
  configPath?: string | undefined;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
  /** Load `.env` from cwd into `env` (default true; tests pass false). */
  dotenv?: boolean;
}

/** Where the config file is: --config, then POSSYNC_CONFIG, then ./possync.config.json. */
export function locateConfig(options: LoadOptions): string {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const given = options.configPath ?? env.POSSYNC_CONFIG;
  const file = path.resolve(cwd, given ?? DEFAULT_CONFIG_FILE);
  if (!fs.existsSync(file)) {
    throw new PossyncError('CONFIG_NOT_FOUND', `config file not found: ${file}`, {
      hint: given
        ? 'check the --config path or POSSYNC_CONFIG'
        : `create ${DEFAULT_CONFIG_FILE} (see possync.config.example.json, or run possync init) or pass --config <path>`,
    });
  }
  return file;
}

export function loadConfig(options: LoadOptions = {}): ResolvedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  if (options.dotenv !== false) dotenv.config({ path: path.join(cwd, '.env'), quiet: true, processEnv: env as Record<string, string> });
  const file = locateConfig({ ...options, cwd, env });
  const raw = readJson(file);
  return resolveConfig(raw, file, env, options.overrides ?? {});
}

function readJson(file: string): unknown {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PossyncError('CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`, {
      hint: 'fix the JSON syntax (no comments or trailing commas)',
    });
  }
}

/** Validates and resolves a parsed config. Every problem is collected and reported at once. */
export function resolveConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): ResolvedConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`);
    throw configError(file, problems);
  }
  const problems: string[] = [];
  const c: RawConfig = parsed.data;
  const ref = (value: string | undefined, fallback: string | undefined, where: string, required: boolean): string | undefined => {
    const v = value ?? fallback;
    if (v === undefined) return undefined;
    if (!v.startsWith('env:')) return v;
    const varName = v.slice(4);
    const got = env[varName];
    if (got === undefined || got === '') {
      if (required) problems.push(`${where}: environment variable ${varName} is not set (set it, put it in .env, or write the value in the config)`);
      return undefined;
    }
    return got;
  };

  const sqlitePath = overrides.sqlitePath ?? ref(c.sqlite?.path, 'env:SQLITE_PATH', 'sqlite.path', true);
  const postgresUrl = overrides.postgresUrl ?? ref(c.postgres?.url, 'env:DATABASE_URL', 'postgres.url', true);
  const postgresSchema = ref(c.postgres?.schema, 'public', 'postgres.schema', true) ?? 'public';
  const terminalId = overrides.terminalId ?? ref(c.terminalId, 'env:TERMINAL_ID', 'terminalId', true);
  const cron = overrides.cron ?? ref(c.cron, 'env:SYNC_CRON', 'cron', false);
  const listen = overrides.listen ?? ref(c.listen, undefined, 'listen', false);
  const apiTokenFile = ref(c.apiTokenFile, undefined, 'apiTokenFile', false);
  const batchSize = overrides.batchSize ?? numberSetting(c.batchSize, 'env:SYNC_BATCH_SIZE', DEFAULT_BATCH_SIZE, 'batchSize', ref, problems);
  const retentionDays = numberSetting(c.retentionDays, undefined, DEFAULT_RETENTION_DAYS, 'retentionDays', ref, problems);

  const postgresConnection = resolveConnection(c.postgres ?? {}, path.dirname(file), ref, problems);
  const postgresRead = resolveRead(c.postgres ?? {}, ref, problems);

  if (postgresUrl !== undefined && !/^postgres(ql)?:\/\//.test(postgresUrl)) {
    problems.push(`postgres.url: "${redactUrl(postgresUrl)}" is not a postgres:// or postgresql:// URL`);
  }
  if (terminalId !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(terminalId)) {
    problems.push(`terminalId: "${terminalId}" must be 1-64 characters of letters, digits, . _ : -`);
  }

  const tables = c.tables.map((t, i) => resolveTable(t, `tables[${i}]`, ref));
  checkTableNames(tables, problems);
  const fkMap = c.fkMap ?? {};
  for (const [child, entries] of Object.entries(fkMap)) {
    if (!tables.some((t) => t.name === child)) problems.push(`fkMap.${child}: no table named "${child}" in tables`);
    entries.forEach((e, i) => {
      if (!tables.some((t) => t.name === e.refTable)) problems.push(`fkMap.${child}[${i}].refTable: no table named "${e.refTable}" in tables`);
    });
  }

  if (problems.length > 0) throw configError(file, problems);
  return {
    configPath: file,
    sqlitePath: path.resolve(path.dirname(file), sqlitePath!),
    postgresUrl: postgresUrl!,
    postgresSchema,
    postgresConnection,
    postgresRead,
    terminalId: terminalId!,
    batchSize,
    cron,
    listen,
    apiTokenFile: apiTokenFile === undefined ? undefined : path.resolve(path.dirname(file), apiTokenFile),
    retentionDays,
    naming: c.naming ?? 'exact',
    localOnly: c.localOnly ?? [],
    tables,
    fkMap,
    acknowledge: c.acknowledge ?? [],
  };
}

type RefResolver = (value: string | undefined, fallback: string | undefined, where: string, required: boolean) => string | undefined;

function numberSetting(
  value: number | string | undefined,
  envFallback: string | undefined,
  builtIn: number,
  where: string,
  ref: RefResolver,
  problems: string[],
): number {
  if (typeof value === 'number') return value;
  const text = ref(value, envFallback, where, value !== undefined);
  if (text === undefined) return builtIn;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    problems.push(`${where}: "${text}" is not a positive whole number`);
    return builtIn;
  }
  return n;
}

type PgSection = NonNullable<RawConfig['postgres']>;

const TIMEOUT_KEYS: Array<[keyof PgSection & `${string}Seconds`, keyof PgTimeouts]> = [
  ['connectTimeoutSeconds', 'connectTimeoutMs'],
  ['readTimeoutSeconds', 'readTimeoutMs'],
  ['lockTimeoutSeconds', 'lockTimeoutMs'],
  ['ddlLockTimeoutSeconds', 'ddlLockTimeoutMs'],
  ['idleInTransactionTimeoutSeconds', 'idleInTransactionTimeoutMs'],
  ['runTimeoutSeconds', 'runTimeoutMs'],
];

/** postgres.* TLS keys and timeouts; a missing key keeps its default (TLS: the URL's own parameter). */
function resolveConnection(p: PgSection, configDir: string, ref: RefResolver, problems: string[]): PgConnectionSettings {
  const timeouts = { ...DEFAULT_PG_TIMEOUTS };
  for (const [key, field] of TIMEOUT_KEYS) {
    const value = p[key];
    const where = `postgres.${key}`;
    const text = typeof value === 'number' ? String(value) : ref(value, undefined, where, true);
    if (text === undefined) continue;
    const n = Number(text);
    // Only the run watchdog may be 0 (off); every other wait needs a bound.
    const ok = Number.isFinite(n) && (key === 'runTimeoutSeconds' ? n >= 0 : n > 0);
    if (!ok) problems.push(`${where}: "${text}" is not ${key === 'runTimeoutSeconds' ? 'a number of seconds (0 turns it off)' : 'a positive number of seconds'}`);
    else timeouts[field] = Math.round(n * 1000);
  }
  if (timeouts.readTimeoutMs <= timeouts.lockTimeoutMs) {
    problems.push(
      `postgres.readTimeoutSeconds (${timeouts.readTimeoutMs / 1000}) must be longer than postgres.lockTimeoutSeconds (${timeouts.lockTimeoutMs / 1000}): a statement waiting for a lock sends nothing, and would be taken for a silent link`,
    );
  }
  const sslmodeText = ref(p.sslmode, undefined, 'postgres.sslmode', true);
  let sslmode: SslMode | undefined;
  if (sslmodeText !== undefined) {
    const parsed = sslmodeSchema.safeParse(sslmodeText);
    if (parsed.success) sslmode = parsed.data;
    else problems.push(`postgres.sslmode: "${sslmodeText}" is not one of ${sslmodeSchema.options.join(', ')}`);
  }
  // Relative file paths are the config file's, like sqlite.path ('system' names Node's public CAs).
  const file = (value: string | undefined) => (value === undefined || value === 'system' ? value : path.resolve(configDir, value));
  return {
    tls: {
      sslmode,
      sslrootcert: file(ref(p.sslrootcert, undefined, 'postgres.sslrootcert', true)),
      sslcert: file(ref(p.sslcert, undefined, 'postgres.sslcert', true)),
      sslkey: file(ref(p.sslkey, undefined, 'postgres.sslkey', true)),
    },
    timeouts,
  };
}

const DEFAULT_READ_MAX_LAG_SECONDS = 30;

/** postgres.readUrl and its lag bound; TLS and timeouts are postgres.*'s, shared with postgres.url. */
function resolveRead(p: PgSection, ref: RefResolver, problems: string[]): ResolvedConfig['postgresRead'] {
  const url = ref(p.readUrl, undefined, 'postgres.readUrl', true);
  const lagText = typeof p.readMaxLagSeconds === 'number' ? String(p.readMaxLagSeconds) : ref(p.readMaxLagSeconds, undefined, 'postgres.readMaxLagSeconds', true);
  let maxLagMs = DEFAULT_READ_MAX_LAG_SECONDS * 1000;
  if (lagText !== undefined) {
    const n = Number(lagText);
    if (Number.isFinite(n) && n > 0) maxLagMs = Math.round(n * 1000);
    else problems.push(`postgres.readMaxLagSeconds: "${lagText}" is not a positive number of seconds`);
  }
  if (url === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    problems.push(`postgres.readUrl: "${redactUrl(url)}" is not a postgres:// or postgresql:// URL`);
    return undefined;
  }
  return { url, maxLagMs };
}

function resolveTable(t: RawTable, where: string, ref: RefResolver): TableConfig {
  const scope: Record<string, string> = {};
  for (const [col, value] of Object.entries(t.scope ?? {})) scope[col] = ref(value, undefined, `${where}.scope.${col}`, true) ?? '';
  const fill: Record<string, string> = {};
  for (const [col, value] of Object.entries(t.fill ?? {})) fill[col] = value.startsWith('env:') ? (ref(value, undefined, `${where}.fill.${col}`, true) ?? '') : value;
  return {
    name: t.name,
    sqliteName: t.sqliteName,
    pk: Array.isArray(t.pk) ? t.pk : [t.pk],
    updatedCol: t.updatedCol,
    createdCol: t.createdCol,
    deletedCol: t.deletedCol,
    direction: t.direction ?? 'both',
    conflict: t.conflict ?? 'lww',
    columnMap: t.columnMap ?? {},
    localOnly: t.localOnly ?? [],
    localPk: t.localPk,
    serverIdCol: t.localPk ? (t.serverIdCol ?? 'server_id') : undefined,
    fill,
    scope,
    naturalKey: t.naturalKey === undefined ? [] : Array.isArray(t.naturalKey) ? t.naturalKey : [t.naturalKey],
    assignKey: t.assignKey,
    versionCol: t.versionCol,
    fallback: t.conflict === 'version' ? (t.fallback ?? 'server-wins') : undefined,
    // Row merge stays the default: an existing config keeps exactly the behaviour it had (and no
    // base copies on the till); counters only make sense per column, so they switch it on.
    merge: t.merge ?? ((t.counters ?? []).length > 0 ? 'column' : 'row'),
    counters: t.counters ?? [],
    immutable: t.immutable ?? false,
  };
}

function checkTableNames(tables: TableConfig[], problems: string[]): void {
  const seen = new Set<string>();
  tables.forEach((t, i) => {
    if (seen.has(t.name)) problems.push(`tables[${i}].name: table "${t.name}" is listed twice`);
    seen.add(t.name);
  });
}

function configError(file: string, problems: string[]): PossyncError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new PossyncError('CONFIG_INVALID', `${path.basename(file)} has ${count}: ${problems.join('; ')}`, {
    hint: 'fix the config (possync config schema prints the JSON Schema)',
  });
}
