import type { SqliteDb } from './gateway.ts';

/**
 * Puts the terminal database in WAL mode (persistent: the POS app's connections follow it on
 * their next transaction). Leaving rollback-journal mode needs the file to itself for a moment,
 * and SQLite answers SQLITE_BUSY at once, without calling the busy handler, while the app is in
 * the middle of a write transaction; so the switch is retried here, pausing between attempts,
 * for as long as any other wait for the app may take. The pause blocks the thread, as
 * better-sqlite3's own busy waits do. A file already in WAL mode returns at once.
 */
export function switchToWal(db: SqliteDb, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  // Short pauses: the switch only succeeds in a gap between the app's writes, and an app writing
  // back to back leaves short gaps (a loaded CI run of till-app-concurrent once gave up here with
  // pauses of up to 50 ms, some 300 tries).
  for (let ms = 1; ; ms = Math.min(ms + 1, 5)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw err;
    }
    Atomics.wait(pause, 0, 0, ms);
  }
}
