import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'till-app-child.ts');

export interface TillAppReport {
  sales: string[];
  last: Record<string, number>;
  times: number[];
  errors: Array<{ code: string; message: string }>;
}

export interface TillApp {
  pid: number;
  /** Stops the writing loop and returns everything the app wrote and every error it met. */
  stop(): Promise<TillAppReport>;
}

/**
 * The POS app writing to the till database in a tight loop, in its own process (better-sqlite3
 * is synchronous: in the test's process it would stop possync's async run from making progress).
 * It inserts sales and updates `products` (`p-0` …) and `catalog` (`c-0` …) rows. With
 * `holdFirstWriteMs`, its first write stays in an open transaction that long before the loop starts.
 */
export async function startTillApp(sqlitePath: string, products: number, catalog: number, options: { holdFirstWriteMs?: number } = {}): Promise<TillApp> {
  const child = fork(SCRIPT, [sqlitePath, String(products), String(catalog), String(options.holdFirstWriteMs ?? 0)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`till app said ${JSON.stringify(m)}`))));
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`till app exited with ${code} before it was ready`)));
  });
  return {
    pid: child.pid!,
    async stop() {
      const report = new Promise<TillAppReport>((resolve, reject) => {
        child.once('message', (m) => resolve(m as TillAppReport));
        void exited.then((code) => reject(new Error(`till app exited with ${code} without a report`)));
      });
      child.send('stop');
      const r = await report;
      await exited;
      return r;
    },
  };
}
