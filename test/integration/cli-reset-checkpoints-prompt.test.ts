import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClinic, seedClinic, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { runInPty } from '../support/pty.ts';

/** The confirmation prompt, as an admin at a terminal sees it (stdin, stdout and stderr all TTYs). */
describe('possync reset-checkpoints asks on a terminal (pseudo-terminal)', () => {
  let c: Clinic;
  const PROMPT = /\[y\/N\] /;
  const reset = (answer: string) =>
    runInPty(['reset-checkpoints', '-c', c.configPath], { env: { ...c.env, NO_COLOR: '1' }, answers: [{ when: PROMPT, type: answer }] });
  const checkpoints = async () => {
    const push = (await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM possync.system_settings WHERE setting_key LIKE 'sync.checkpoint.%'`))[0]!.n;
    const db = openSqlite(c.sqlitePath);
    try {
      return [push, (db.prepare(`SELECT count(*) AS n FROM system_settings WHERE setting_key LIKE 'sync.checkpoint.%'`).get() as { n: number }).n];
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    c = await createClinic('reset_prompt');
    await seedClinic(c);
    expect((await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env })).code).toBe(0);
  });
  afterAll(() => c.cleanup());

  it('answering "n" clears nothing and exits 1', async () => {
    expect(await checkpoints()).toEqual([3, 3]);
    const r = await reset('n\r');
    expect(r.output).toContain(`Clear the push and pull checkpoints of every table for terminal till-reset_prompt? The next run resyncs them in full. [y/N] `);
    expect(r.output).toContain('cancelled: nothing was cleared');
    expect(r.output).not.toContain('cleared 6');
    expect(r.code).toBe(1);
    expect(await checkpoints()).toEqual([3, 3]);
  });

  it('just Enter is "no" too', async () => {
    const r = await reset('\r');
    expect(r.code).toBe(1);
    expect(r.output).toContain('cancelled: nothing was cleared');
    expect(await checkpoints()).toEqual([3, 3]);
  });

  it('answering "y" clears them, says what it cleared, and exits 0', async () => {
    const r = await reset('y\r');
    expect(r.code).toBe(0);
    expect(r.output).toContain('cleared 6 checkpoints of terminal till-reset_prompt:');
    expect(r.output).not.toContain('cancelled');
    expect(await checkpoints()).toEqual([0, 0]);
  });
});
