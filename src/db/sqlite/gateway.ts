import fs from 'node:fs';
import Database from 'better-sqlite3';
import { PossyncError } from '../../errors.ts';
import { switchToWal } from './wal.ts';

export type SqliteDb = Database.Database;

/** How long possync waits for the POS app to finish a write before giving up. */
const BUSY_TIMEOUT_MS = 15_000;

/**
 * The terminal side of possync. The POS app writes to the same file, so: WAL (readers never block
 * the till), a generous busy_timeout (possync waits for the app instead of failing), and IMMEDIATE
 * write transactions (the write lock is taken up front, so a transaction never fails halfway
 * with SQLITE_BUSY after it has read).
 */
export class SqliteGateway {
  readonly db: SqliteDb;
  readonly path: string;

  private constructor(path: string, db: SqliteDb) {
    this.path = path;
    this.db = db;
  }

  static open(path: string, options: { create?: boolean; readonly?: boolean } = {}): SqliteGateway {
    if (!options.create && !fs.existsSync(path)) {
      throw new PossyncError('SQLITE_UNREACHABLE', `SQLite database not found: ${path}`, {
        hint: 'check sqlite.path / SQLITE_PATH in the config; possync never creates the terminal database',
      });
    }
    let db: SqliteDb;
    try {
      db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: !options.create });
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (!options.readonly) {
        switchToWal(db, BUSY_TIMEOUT_MS);
        db.pragma('synchronous = NORMAL');
      }
      // possync checks parent rows itself (a child waits until its parent is there) and applies
      // a pull table by table in FK order from one Postgres snapshot; SQLite's own enforcement
      // would reject the intermediate states in between (a parent deleted one transaction before
      // its children). The POS app's connections keep whatever setting they use.
      db.pragma('foreign_keys = OFF');
    } catch (err) {
      throw new PossyncError('SQLITE_UNREACHABLE', `cannot open SQLite database ${path}: ${(err as Error).message}`, {
        hint: 'check the file path and permissions, and that it is a SQLite database',
        cause: err,
      });
    }
    return new SqliteGateway(path, db);
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction; any throw rolls everything back. */
  immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** A read snapshot (deferred transaction): every read inside sees one consistent state. */
  read<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
