import { acquireTerminalLock } from '../../src/db/sqlite/lock.ts';

// Child process of holdLockElsewhere: take the lock, hold it, report when it was released.
const [sqlitePath, ms] = process.argv.slice(2);
const lock = await acquireTerminalLock(sqlitePath!, 'sync both');
process.stdout.write('held\n');
setTimeout(() => {
  const at = Date.now();
  lock.release();
  process.stdout.write(`released ${at}\n`);
}, Number(ms));
