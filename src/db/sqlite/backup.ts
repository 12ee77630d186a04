import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PossyncError } from '../../errors.ts';

export const DEFAULT_BACKUP_KEEP = 5;
export const BACKUP_DIR = 'possync-backups';

export interface BackupResult {
  /** The new backup file. */
  file: string;
  /** Older backups deleted to keep the newest `keep`. */
  removed: string[];
}

/** `till-20261124T014540123Z.sqlite`: UTC, sortable as text, unique at millisecond resolution. */
export function backupName(sqlitePath: string, at: Date): string {
  const base = path.basename(sqlitePath).replace(/\.(sqlite3?|db)$/i, '');
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return `${base}-${stamp}.sqlite`;
}

/**
 * An online backup of the terminal database (SQLite's backup API through better-sqlite3): the
 * POS app may keep writing, and the copy is still one consistent state. It is written under a
 * temporary name and renamed when complete, so a crash never leaves a half file that counts as a
 * backup. Then only the newest `keep` backups of this database are kept.
 */
export async function backupSqlite(sqlitePath: string, options: { keep?: number; now?: Date } = {}): Promise<BackupResult> {
  const keep = options.keep ?? DEFAULT_BACKUP_KEEP;
  const dir = path.join(path.dirname(sqlitePath), BACKUP_DIR);
  const file = path.join(dir, backupName(sqlitePath, options.now ?? new Date()));
  const partial = `${file}.partial`;
  if (!fs.existsSync(sqlitePath)) {
    throw new PossyncError('SQLITE_UNREACHABLE', `SQLite database not found: ${sqlitePath}`, { hint: 'check sqlite.path / SQLITE_PATH in the config' });
  }
  let db: Database.Database | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    db = new Database(sqlitePath, { readonly: true, fileMustExist: true });
    await db.backup(partial);
    fs.renameSync(partial, file);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw new PossyncError('BACKUP_FAILED', `cannot back up ${sqlitePath} to ${dir}: ${(err as Error).message}`, {
      hint: 'check free disk space and that possync may write next to the terminal database; the sync was not started',
      cause: err,
    });
  } finally {
    db?.close();
  }
  return { file, removed: pruneBackups(sqlitePath, keep) };
}

/** The backups of this database, oldest first (their names sort by time). */
export function listBackups(sqlitePath: string): string[] {
  const dir = path.join(path.dirname(sqlitePath), BACKUP_DIR);
  const prefix = backupName(sqlitePath, new Date(0)).replace(/\d{8}T\d{9}Z\.sqlite$/, '');
  const pattern = new RegExp(`^${escapeRegExp(prefix)}\\d{8}T\\d{9}Z\\.sqlite$`);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

function pruneBackups(sqlitePath: string, keep: number): string[] {
  const all = listBackups(sqlitePath);
  const old = all.slice(0, Math.max(0, all.length - keep));
  for (const f of old) fs.rmSync(f, { force: true });
  return old;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
