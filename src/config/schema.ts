import { z } from 'zod';

/**
 * The user-facing contract of possync.config.json (README "Config reference").
 * Objects are strict: an unknown key is an error, because a typo must not silently disable a
 * feature. Any string value may be written as "env:NAME" to read the environment instead.
 */
const name = z.string().min(1);
const pgColumns = z.union([name, z.array(name).min(1)]);

export const directionSchema = z.enum(['both', 'push', 'pull']);
export const conflictSchema = z.enum(['lww', 'server-wins', 'client-wins', 'version', 'manual']);
/** What settles a true tie of `conflict: "version"` (equal versions, different content). */
export const fallbackSchema = z.enum(['lww', 'server-wins', 'client-wins']);

export const tableSchema = z
  .strictObject({
    name: name.describe('Postgres table name'),
    sqliteName: name.optional().describe('SQLite table name when it differs'),
    pk: pgColumns.describe('Primary key column (Postgres name) or a list of them'),
    updatedCol: name.optional().describe('Postgres column that orders versions for last-writer-wins'),
    createdCol: name.optional(),
    deletedCol: name.optional().describe('Soft-delete (tombstone) column, Postgres name'),
    direction: directionSchema.optional().describe('both (default), push (SQLite → Postgres only) or pull (Postgres → SQLite only)'),
    conflict: conflictSchema.optional().describe('lww (default), server-wins, client-wins, version (versionCol decides, fallback settles ties) or manual (a clashing row is set aside until an admin resolves it: possync conflicts resolve)'),
    versionCol: name.optional().describe('conflict "version": Postgres column holding a version number the apps raise on every edit (possync never invents one)'),
    fallback: fallbackSchema.optional().describe('conflict "version": what decides equal versions with different content (lww needs updatedCol; default server-wins)'),
    merge: z
      .enum(['row', 'column'])
      .optional()
      .describe('row (default): a conflict keeps one whole version; column: only columns both sides changed since they last agreed go to the policy, the others keep each side\'s edit'),
    counters: z
      .array(name)
      .optional()
      .describe('numeric columns (Postgres names) whose concurrent changes add up (e.g. stock): each side\'s change is applied as a delta, exactly once; implies merge "column"'),
    immutable: z.boolean().optional().describe('rows never change once synced (sales, payments): inserts sync, a later update or delete is refused and listed'),
    columnMap: z.record(name, name).optional().describe('{ "<sqlite column>": "<postgres column>" }'),
    localOnly: z.array(name).optional().describe('Columns of this table that never sync'),
    localPk: name.optional().describe('SQLite-only key column (e.g. an integer local_id)'),
    serverIdCol: name.optional().describe('SQLite column holding the shared id when localPk is set (default server_id)'),
    fill: z.record(name, z.string()).optional().describe('{ "<sqlite column>": "$terminalId" | "<value>" } filled in on push'),
    scope: z.record(name, z.string()).optional().describe('{ "<postgres column>": "<value or env:NAME>" } rows this terminal owns'),
    naturalKey: pgColumns
      .optional()
      .describe('Postgres column(s) unique in the cloud (e.g. "phone"): a new local row that matches an existing cloud row on them adopts its id'),
    assignKey: z
      .enum(['cloud'])
      .optional()
      .describe('"cloud": the pk is a serial/identity column; a row created on the till gets the next value of its sequence when pushed, and the till re-keys it and its children'),
  })
  .superRefine((t, ctx) => {
    const conflict = t.conflict ?? 'lww';
    if (conflict === 'lww' && !t.updatedCol) {
      ctx.addIssue({
        code: 'custom',
        path: ['updatedCol'],
        message: `table "${t.name}" uses conflict "lww" and needs "updatedCol"; set updatedCol or choose conflict "server-wins" / "client-wins"`,
      });
    }
    if (conflict === 'version' && !t.versionCol) {
      ctx.addIssue({ code: 'custom', path: ['versionCol'], message: `table "${t.name}" uses conflict "version" and needs "versionCol" (the column the apps raise on every edit)` });
    }
    if (conflict !== 'version' && (t.versionCol || t.fallback)) {
      ctx.addIssue({ code: 'custom', path: [t.versionCol ? 'versionCol' : 'fallback'], message: `table "${t.name}": versionCol and fallback only apply with conflict "version"` });
    }
    if (conflict === 'version' && t.fallback === 'lww' && !t.updatedCol) {
      ctx.addIssue({ code: 'custom', path: ['fallback'], message: `table "${t.name}": fallback "lww" needs "updatedCol"` });
    }
    const counters = t.counters ?? [];
    if (counters.some((c) => (Array.isArray(t.pk) ? t.pk : [t.pk]).includes(c) || c === t.updatedCol || c === t.versionCol || c === t.deletedCol)) {
      ctx.addIssue({ code: 'custom', path: ['counters'], message: `table "${t.name}": a counter column cannot be the pk, updatedCol, versionCol or deletedCol` });
    }
    if (counters.length > 0 && t.merge === 'row') {
      ctx.addIssue({ code: 'custom', path: ['merge'], message: `table "${t.name}": counters add up per column, so they need merge "column" (or leave merge out)` });
    }
    if (t.immutable && (counters.length > 0 || t.merge === 'column')) {
      ctx.addIssue({ code: 'custom', path: ['immutable'], message: `table "${t.name}": an immutable table has no updates to merge; drop merge and counters` });
    }
    if (t.serverIdCol && !t.localPk) {
      ctx.addIssue({ code: 'custom', path: ['serverIdCol'], message: 'serverIdCol only applies together with localPk' });
    }
    const naturalKey = t.naturalKey === undefined ? [] : Array.isArray(t.naturalKey) ? t.naturalKey : [t.naturalKey];
    const pk = Array.isArray(t.pk) ? t.pk : [t.pk];
    if (naturalKey.some((c) => pk.includes(c))) {
      ctx.addIssue({ code: 'custom', path: ['naturalKey'], message: `table "${t.name}": naturalKey names other columns than pk (it is a second way to recognise the same row)` });
    }
    if (t.localPk && Array.isArray(t.pk) && t.pk.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['localPk'], message: 'localPk needs a single-column pk (the shared id)' });
    }
    if (t.assignKey && pk.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['assignKey'], message: `table "${t.name}": assignKey needs a single-column pk (the serial or identity column)` });
    }
    if (t.assignKey && t.localPk) {
      ctx.addIssue({ code: 'custom', path: ['assignKey'], message: `table "${t.name}": assignKey and localPk are two answers to the same question; keep one (assignKey keeps the till's schema as it is)` });
    }
  });

export const sslmodeSchema = z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']);
/** A positive number of seconds, or "env:NAME". */
const seconds = z.union([z.number().positive(), z.string()]);

export const fkEntrySchema = z.strictObject({ field: name, refTable: name });

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  sqlite: z.strictObject({ path: z.string().optional() }).optional(),
  postgres: z
    .strictObject({
      url: z.string().optional(),
      readUrl: z.string().optional().describe('a hot standby of postgres.url that serves pulls (README "Scaling out"); pushes and bookkeeping stay on postgres.url'),
      readMaxLagSeconds: seconds.optional().describe('a standby further behind than this does not serve the pull: the primary does, for that run (default 30)'),
      schema: z.string().optional(),
      // TLS, with libpq's meanings. Each may also be given in the URL (?sslmode=…&sslrootcert=…) or
      // as PGSSLMODE / PGSSLROOTCERT / PGSSLCERT / PGSSLKEY: the key wins over the URL, the URL over
      // the variable. File paths are relative to this config file's folder.
      sslmode: z.string().optional().describe('disable, prefer (default: TLS if the server offers it, not verified), require (TLS, not verified), verify-ca or verify-full, as in libpq'),
      sslrootcert: z.string().optional().describe("CA certificate file (PEM) the server's certificate is checked against (any mode but disable), or 'system' for the public CAs; relative to this file's folder"),
      sslcert: z.string().optional().describe("client certificate file (PEM), with sslkey; relative to this file's folder"),
      sslkey: z.string().optional().describe("client certificate's private key file (PEM, unencrypted); relative to this file's folder"),
      // Bounds on every wait for Postgres (README "When things go wrong").
      connectTimeoutSeconds: seconds.optional().describe('give up connecting (TCP, TLS and login) after this long (default 10)'),
      readTimeoutSeconds: seconds.optional().describe('give up on a connection that sends nothing back for this long while a statement is running (default 30)'),
      lockTimeoutSeconds: seconds.optional().describe("longest wait for another session's row or table lock by a sync statement (default 20)"),
      ddlLockTimeoutSeconds: seconds.optional().describe('longest wait for a table lock when installing capture triggers; retried a few times, then the next run tries again (default 2)'),
      idleInTransactionTimeoutSeconds: seconds.optional().describe("the server ends possync's transaction if its till goes silent this long (default 60)"),
      runTimeoutSeconds: z.union([z.number().int().min(0), z.string()]).optional().describe('a whole run is stopped after this long; 0 turns the watchdog off (default 3600)'),
    })
    .optional(),
  terminalId: z.string().optional(),
  batchSize: z.union([z.number().int().min(1).max(100_000), z.string()]).optional(),
  cron: z.string().optional(),
  listen: z.string().optional().describe('daemon control API address, e.g. "127.0.0.1:7070" (off when unset; --listen wins)'),
  apiTokenFile: z.string().optional().describe('file holding the control API bearer token (POSSYNC_API_TOKEN wins); relative to this file\'s folder'),
  retentionDays: z.union([z.number().int().min(1), z.string()]).optional(),
  naming: z.enum(['exact', 'snake']).optional(),
  localOnly: z.array(name).optional(),
  tables: z.array(tableSchema).min(1, 'list at least one table to sync'),
  fkMap: z.record(name, z.array(fkEntrySchema)).optional(),
  acknowledge: z
    .array(name)
    .optional()
    .describe('verify-schemas warning ids (as it prints them, e.g. "integer-key-both-ways:orders") an admin has accepted: shown as notes, not drift'),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawTable = z.infer<typeof tableSchema>;
export type Direction = z.infer<typeof directionSchema>;
export type ConflictPolicy = z.infer<typeof conflictSchema>;
export type FallbackPolicy = z.infer<typeof fallbackSchema>;
export type SslMode = z.infer<typeof sslmodeSchema>;
