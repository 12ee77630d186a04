import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { readPullCheckpoint } from '../../src/engine/checkpoints.ts';
import { pruneChangeLog } from '../../src/engine/retention.ts';
import { LEDGER_TABLES, createLedger, expectInSync, expectNoTableErrors, localRows, totals, type Ledger, type Terminal } from '../support/ledger.ts';

// A full resync reads a table in pages; stopped part way (shutdown, crash, a retried pull), the
// next pull resumes it after the last page it wrote. Those first pages were read in an older
// snapshot, and the change log cannot tell which of their rows a reload since then (a TRUNCATE,
// another terminal's bulk load, both logged without keys) removed or replaced.
const ROWS = 6_000; // more than two resync pages (2,500 rows each)

describe('a resync resumed by a later pull', () => {
  let ledger: Ledger;
  let till: Terminal;

  beforeEach(async () => {
    ledger = await createLedger('resync_resume', { batchSize: 500 });
    till = ledger.terminal('till-r');
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) SELECT gen_random_uuid(), 'seed ' || n, now() FROM generate_series(1, ${ROWS}) AS n`);
  });
  afterEach(async () => {
    await ledger.cleanup();
  });

  /**
   * Runs `step` until the xid it returns (a fence) is past `xid`. A fence is the oldest
   * transaction still running in the whole server, so a transaction of another test file (its own
   * database, same server) can hold it back for a moment; the second-to-last attempt's wait is
   * the longest, 3.2 s.
   */
  async function repeatUntilPast(xid: string, step: () => Promise<string>): Promise<void> {
    let fence = await step();
    for (let wait = 50; BigInt(fence) <= BigInt(xid) && wait <= 3_200; wait *= 2) {
      await new Promise((r) => setTimeout(r, wait));
      fence = await step();
    }
    expect(BigInt(fence)).toBeGreaterThan(BigInt(xid));
  }

  /** The till's first run, stopped after the first page of tags it wrote. */
  async function interruptedFirstRun(term: Terminal = till): Promise<number> {
    const stop = new AbortController();
    const first = await term.sync('both', {
      signal: stop.signal,
      onProgress: (ev) => {
        if (ev.step === 'pull' && ev.table === 'tags') stop.abort();
      },
    });
    expect(first.errorCode).toBe('ABORTED');
    const cp = readPullCheckpoint(term.local, term.id, 'tags');
    expect(cp?.scan?.after, 'a resync in progress').toBeTruthy();
    const written = localRows(term.local, 'tags').length;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(ROWS);
    return written;
  }

  it('goes on where it stopped when nobody reloaded the table meanwhile', async () => {
    const written = await interruptedFirstRun();
    await ledger.db.query(`UPDATE tags SET label = 'edited', updated_at = now() WHERE id IN (SELECT id FROM tags ORDER BY id LIMIT 5)`);

    const resumed = await till.sync('both');
    expectNoTableErrors(resumed);
    // The rows it had not read yet, and the five edited since (through the window); the pages
    // it had read are not read again.
    expect(totals(resumed, { step: 'pull', table: 'tags' })).toMatchObject({ inserted: ROWS - written, updated: 5, unchanged: 0 });
    await expectInSync(till.config);
  });

  it('starts over in the new snapshot when the table was truncated and refilled meanwhile', async () => {
    await interruptedFirstRun();
    await ledger.db.query(`TRUNCATE tags`);
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) SELECT gen_random_uuid(), 'after the truncate ' || n, now() FROM generate_series(1, 10) AS n`);

    expectNoTableErrors(await till.sync('both'));
    // Without the restart the rows of the first page (gone from Postgres) stayed on the till.
    expect(localRows(till.local, 'tags')).toHaveLength(10);
    await expectInSync(till.config);
  });

  it('starts over when another terminal bulk-loaded the emptied table meanwhile', async () => {
    await interruptedFirstRun();
    await ledger.db.query(`TRUNCATE tags`);
    // Another till's first push into the now empty table goes by COPY, logged as one 'T' entry
    // without keys: its rows can only be found by reading the table again. (It pulls first: COPY
    // is only used by a till that has seen everything others did to the table.)
    const other = ledger.terminal('till-o');
    expectNoTableErrors(await other.sync('pull'));
    const ins = other.local.prepare(`INSERT INTO tags (id, label, updated_at) VALUES (lower(hex(randomblob(4))) || '-0000-4000-8000-' || lower(hex(randomblob(6))), ?, ?)`);
    other.local.transaction(() => {
      for (let n = 1; n <= 300; n++) ins.run(`bulk ${n}`, new Date().toISOString());
    })();
    expectNoTableErrors(await other.sync('push'));
    expect((await ledger.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM possync.changes WHERE tbl = 'public.tags' AND op = 'T' AND origin = 'till-o'`))[0]?.n).toBe('1');

    expectNoTableErrors(await till.sync('both'));
    expect(localRows(till.local, 'tags')).toHaveLength(300);
    await expectInSync(till.config);
  });

  it('holds the pruning of the change log back from where it began', async () => {
    // The window after the resync reads the log from the resync's first snapshot on.
    const q = ledger.terminal('till-q', { tables: LEDGER_TABLES.filter((t) => t.name === 'tags' || t.name === 'notes') });
    await interruptedFirstRun(q);
    const began = readPullCheckpoint(q.local, 'till-q', 'tags')!.scan!.fence;
    await ledger.db.query(`INSERT INTO notes (id, body, updated_at) VALUES (gen_random_uuid(), 'later', now())`);
    await repeatUntilPast(began, async () => {
      expectNoTableErrors(await q.sync('pull', { tables: ['notes'] }));
      return readPullCheckpoint(q.local, 'till-q', 'notes')!.xid!;
    });
    const [registered] = await ledger.db.query<{ fence: string }>(`SELECT pull_fence::text AS fence FROM possync.terminals WHERE terminal_id = 'till-q'`);
    expect(registered?.fence).toBe(began);
  });

  it('starts over when the change log was pruned past where it began', async () => {
    await interruptedFirstRun();
    const began = readPullCheckpoint(till.local, 'till-r', 'tags')!.scan!.fence;
    // Rows of the pages already read are deleted; the entries saying so are pruned: another
    // terminal's pull moves the horizon and prunes after it (this till, which never finished a
    // pull, is not registered and holds nothing back).
    await ledger.db.query(`DELETE FROM tags WHERE id IN (SELECT id FROM tags ORDER BY id LIMIT 3)`);
    const other = ledger.terminal('till-p');
    await repeatUntilPast(began, async () => {
      expectNoTableErrors(await other.sync('pull'));
      // Its pull prunes only when nobody pruned lately: a second attempt has to ask for it.
      const gw = await PgGateway.connect(ledger.db.url);
      await pruneChangeLog(gw, other.config.retentionDays, { force: true }).finally(() => gw.close());
      const [horizon] = await ledger.db.query<{ xid: string }>(`SELECT setting_value AS xid FROM possync.system_settings WHERE setting_key = 'possync.pruned_below'`);
      return horizon!.xid;
    });
    expect(await ledger.db.query(`SELECT 1 FROM possync.changes WHERE tbl = 'public.tags' AND op = 'D'`)).toEqual([]);

    expectNoTableErrors(await till.sync('both'));
    expect(localRows(till.local, 'tags')).toHaveLength(ROWS - 3);
    await expectInSync(till.config);
  });
});
