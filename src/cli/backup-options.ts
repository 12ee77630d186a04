import type { Command } from 'commander';
import { BACKUP_DIR, DEFAULT_BACKUP_KEEP } from '../db/sqlite/backup.ts';
import { PossyncError } from '../errors.ts';

export interface BackupFlags {
  backup?: boolean;
  backupKeep?: string;
}

/** --backup / --backup-keep, shared by trigger and daemon. */
export function withBackupOptions(cmd: Command): Command {
  return cmd
    .option('--backup', `before each run, copy the SQLite database (online) to <its dir>/${BACKUP_DIR}/`)
    .option('--backup-keep <n>', `backups to keep, newest first (default ${DEFAULT_BACKUP_KEEP})`);
}

/** The backup setting, or undefined when --backup is off. --backup-keep alone is a usage error. */
export function backupFromFlags(flags: BackupFlags): { keep: number } | undefined {
  if (flags.backupKeep !== undefined && !flags.backup) throw new PossyncError('USAGE', '--backup-keep only applies together with --backup');
  if (!flags.backup) return undefined;
  const keep = flags.backupKeep === undefined ? DEFAULT_BACKUP_KEEP : Number(flags.backupKeep);
  if (!Number.isInteger(keep) || keep < 1) throw new PossyncError('USAGE', `--backup-keep must be a positive whole number, got "${flags.backupKeep}"`);
  return { keep };
}
