import { describe, expect, it } from 'vitest';
import type { VerifyDataResult } from '../../src/engine/verify-data/report.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { faultyLink, LINK_BOUNDS } from '../support/faulty-link.ts';

// verify-data on a bad link, at the step the cloud's second round is found by: the lookup of the
// differing buckets' rows by key (one statement carrying every key, far larger than any other the
// run sends). The link goes silent or resets as that statement crosses, or, when a till key is one
// Postgres cannot read, as the SAVEPOINT fallback to a full pass runs: verify-data must end within
// its bounds with exit 3 and one line on stderr (not fall back to hashing the table again), and a
// run over the healed link finds the planted differences.
const ROWS = 20_000;
const PLANTED = 20;
// Long keys, so the lookup's statement (some 800 keys: the till's rows of 20 differing buckets of
// about 40) is far larger than anything else sent to the server.
const KEY = (i: number) => `k${String(i).padStart(63, '0')}`;
const LARGE = 16_000;
// A composite key whose int part can hold a till value beyond Postgres' int (the fallback's test).
const PG = `CREATE TABLE items (shop int, id text, name text NOT NULL, updated_at timestamptz(3) NOT NULL, PRIMARY KEY (shop, id));`;
const SQLITE = `CREATE TABLE items (shop INTEGER, id TEXT, name TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (shop, id));`;

describe('verify-data on a link that fails during the lookup by key', () => {
  const link = faultyLink('verify_link', `DROP TABLE IF EXISTS items; ${PG}`);

  /** A till in sync with the cloud through the proxy, then PLANTED rows changed on it around possync. */
  const settledTill = async (options: { unreadableKey?: boolean } = {}) => {
    const { sqlitePath, configPath } = link.till(SQLITE, [{ name: 'items', pk: ['shop', 'id'], updatedCol: 'updated_at' }]);
    const local = openSqlite(sqlitePath);
    try {
      const insert = local.prepare(`INSERT INTO items VALUES (1, ?, ?, '2026-12-01T00:00:00.000Z')`);
      local.transaction(() => {
        for (let i = 1; i <= ROWS; i++) insert.run(KEY(i), `item ${i}`);
      })();
    } finally {
      local.close();
    }
    const sync = await runCli(['trigger', '--direction', 'both', '--config', configPath], { cwd: link.tmp.dir, timeoutMs: 120_000 });
    expect(sync.code, sync.stderr).toBe(0);
    const edit = openSqlite(sqlitePath);
    try {
      for (let i = 1; i <= PLANTED; i++) edit.prepare(`UPDATE items SET name = 'changed on the till' WHERE id = ?`).run(KEY(i * 997));
      if (options.unreadableKey) edit.prepare(`INSERT INTO items VALUES (3000000000, ?, 'beyond int', '2026-12-01T00:00:00.000Z')`).run(KEY(0));
      edit.exec(`DELETE FROM _possync_changes`);
    } finally {
      edit.close();
    }
    const verify = async () => {
      const started = Date.now();
      const r = await runCli(['verify-data', '--json', '--config', configPath], { cwd: link.tmp.dir, timeoutMs: 120_000 });
      return { ...r, ms: Date.now() - started };
    };
    return { verify };
  };

  /** The fallback's ROLLBACK TO SAVEPOINT as it crosses: a simple Query message (tag, length, text, NUL). */
  const ROLLBACK_TO = 1 + 4 + Buffer.byteLength('ROLLBACK TO SAVEPOINT possync_verify_keys') + 1;

  /**
   * Runs `fail` as the lookup by key (the first write larger than LARGE bytes) starts to cross to
   * the server; with `at`, as the fallback's ROLLBACK TO SAVEPOINT crosses after it (`rollback`), or
   * the write after that, the fallback's full pass (`full pass`). Returns the sizes of the writes
   * failed at, from the lookup's on (one entry when the link failed where the test meant).
   */
  const failAtLookup = (fail: () => void, at: 'lookup' | 'rollback' | 'full pass' = 'lookup') => {
    const failedAt: number[] = [];
    let last = link.proxy.bytes.toServer;
    let step: 'lookup' | 'rollback' | 'full pass' = 'lookup';
    const watch = () =>
      link.proxy.when('toServer', 1, () => {
        const size = link.proxy.bytes.toServer - last;
        last = link.proxy.bytes.toServer;
        const reached = step === 'lookup' ? size > LARGE : step === 'rollback' ? size === ROLLBACK_TO : true;
        if (reached && step === at) {
          failedAt.push(size);
          fail();
          return;
        }
        if (reached) step = step === 'lookup' ? 'rollback' : 'full pass';
        watch();
      });
    watch();
    return failedAt;
  };

  const expectStopped = (run: Awaited<ReturnType<Awaited<ReturnType<typeof settledTill>>['verify']>>, cause: RegExp) => {
    expect(run.code, run.stderr).toBe(3);
    expect(run.ms).toBeLessThan(link.giveUpMs);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(cause);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  };

  /** Over the healed link: the planted rows, found by the lookup by key (one pass over the cloud table). */
  const expectFound = async (till: Awaited<ReturnType<typeof settledTill>>) => {
    const again = await till.verify();
    expect(again.code, again.stderr).toBe(1);
    const items = (JSON.parse(again.stdout) as VerifyDataResult).tables.find((t) => t.table === 'items')!;
    expect(items.rows).toHaveLength(PLANTED);
    expect(items.rows.every((r) => r.kind === 'different')).toBe(true);
    expect(items.transfer.cloudPasses).toBe(1);
    expect(items.transfer.hashedRows).toBeGreaterThan(PLANTED);
    expect(items.transfer.hashedRows).toBeLessThan(ROWS / 4);
    return items;
  };

  it('silent: gives up within the read bound with exit 3, and finds the rows once the link is back', async () => {
    const till = await settledTill();
    const seen = failAtLookup(() => link.proxy.silent());
    const run = await till.verify();
    expect(seen).toHaveLength(1);
    expectStopped(run, /silent|timeout/i);
    link.proxy.heal();
    await expectFound(till);
  });

  it('reset: stops at once with exit 3, and finds the rows once the link is back', async () => {
    const till = await settledTill();
    const seen = failAtLookup(() => link.proxy.reset());
    const run = await till.verify();
    expect(seen).toHaveLength(1);
    expectStopped(run, /lost the connection to PostgreSQL|terminated|ECONNRESET/i);
    expect(run.ms).toBeLessThan(link.giveUpMs - LINK_BOUNDS.readTimeoutSeconds * 1000);
    link.proxy.heal();
    await expectFound(till);
  });

  for (const at of ['rollback', 'full pass'] as const) {
    it(`a till key Postgres cannot read, then silent during the fallback (${at}): exit 3 within the read bound`, async () => {
      const till = await settledTill({ unreadableKey: true });
      const seen = failAtLookup(() => link.proxy.silent(), at);
      const run = await till.verify();
      expect(seen).toHaveLength(1);
      expectStopped(run, /silent|timeout/i);
      link.proxy.heal();
      const again = await till.verify();
      expect(again.code, again.stderr).toBe(1);
      const items = (JSON.parse(again.stdout) as VerifyDataResult).tables.find((t) => t.table === 'items')!;
      expect(items.rows).toHaveLength(PLANTED + 1);
      expect(items.rows).toContainEqual({ key: JSON.stringify(['3000000000', KEY(0)]), kind: 'extra' });
      expect(items.transfer.cloudPasses).toBe(2);
    });
  }
});
