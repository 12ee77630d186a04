import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { createClinic, seedClinic, uuid, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { startCli, type RunningCli } from '../support/spawn-cli.ts';

// A schedule that never fires during a test: only the start run and the API's runs happen.
const RARELY = '0 0 1 1 *';
const TOKEN = 'test-token-0123456789abcdef';

/** The port from the daemon's `listen` line; tests always connect to 127.0.0.1, whatever it bound. */
async function apiBase(d: RunningCli): Promise<string> {
  const line = await d.waitForLine(/"event":"listen"/);
  const { url } = JSON.parse(line) as { url: string };
  return `http://127.0.0.1:${new URL(url).port}`;
}

/** Prometheus text format: `name{labels} value` lines, keyed by `name{labels}` as written. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Every key path of a JSON value, arrays by their first element: the "shape" two documents share. */
function shape(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length > 0 ? shape(v[0], `${prefix}[]`) : [`${prefix}[]`];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [`${prefix}.${k}`, ...shape(x, `${prefix}.${k}`)]).sort();
  return [];
}

function addVisits(c: Clinic, from: number, count: number): void {
  const db = openSqlite(c.sqlitePath);
  try {
    const insert = db.prepare(`INSERT INTO visits VALUES (?, ?, 'check-up', '40.00', '2026-11-03T09:00:00.000Z', '2026-11-03T09:00:00.000Z', 0)`);
    db.transaction(() => {
      for (let i = 0; i < count; i++) insert.run(uuid(from + i), uuid(12));
    })();
  } finally {
    db.close();
  }
}

/** Server-sent events as [event, data] pairs, read to the end of the stream. */
function parseSse(text: string): Array<[string, unknown]> {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
      return [event, JSON.parse(data)];
    });
}

describe('possync daemon --listen (control API, subprocess, real HTTP)', () => {
  const running: RunningCli[] = [];
  const daemon = (c: Clinic, extra: string[], env: Record<string, string> = {}) => {
    const d = startCli(['daemon', '-c', c.configPath, '--cron', RARELY, '--log-format', 'json', ...extra], { env: { ...c.env, ...env } });
    running.push(d);
    return d;
  };
  afterEach(async () => {
    for (const d of running.splice(0)) {
      const { code } = await d.stop('SIGTERM');
      expect(code).toBe(0);
    }
  });

  describe('on loopback', () => {
    let c: Clinic;
    beforeAll(async () => {
      c = await createClinic('daemon_api');
      await seedClinic(c);
    });
    afterAll(() => c.cleanup());

    it('POST /sync runs through the daemon and answers the trigger --json result; /metrics counts the 25 rows', async () => {
      const d = daemon(c, ['--listen', '127.0.0.1:0']);
      const base = await apiBase(d);
      await d.waitForLine(/"event":"run".*"trigger":"start"/);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      const before = parseMetrics(await (await fetch(`${base}/metrics`)).text());
      addVisits(c, 100, 25);
      const res = await fetch(`${base}/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ direction: 'push', tables: ['visits'] }) });
      expect(res.status).toBe(200);
      expect(res.headers.get('possync-joined')).toBe('false');
      const result = (await res.json()) as RunResult;
      expect(result).toMatchObject({ direction: 'push', status: 'success', dryRun: false });
      expect(result.tables).toEqual([expect.objectContaining({ table: 'visits', step: 'push', inserted: 25, status: 'success' })]);
      await d.waitForLine(/"event":"run".*"trigger":"api"/);

      // The same document as the CLI's: a trigger --json run of the same request has the same shape.
      const cli = await runCli(['trigger', '-c', c.configPath, '--direction', 'push', '--tables', 'visits', '--json'], { env: c.env });
      expect(cli.code).toBe(0);
      expect(shape(result)).toEqual(shape(JSON.parse(cli.stdout)));

      const text = await (await fetch(`${base}/metrics`)).text();
      const after = parseMetrics(text);
      const pushed = 'possync_rows_pushed_total{table="visits"}';
      expect(after.get(pushed)! - (before.get(pushed) ?? 0)).toBe(25);
      expect(after.get('possync_runs_total{direction="push",status="success"}')).toBe(1);
      expect(after.get('possync_run_duration_seconds_count{direction="push"}')).toBe(1);
      expect(after.get('possync_pending_local_changes{table="visits"}')).toBe(0);
      expect(after.get('possync_held_rows{kind="rejected",step="push"}')).toBe(0);
      expect(after.get('possync_cloud_reachable')).toBe(1);
      expect(after.get('possync_last_success_timestamp_seconds{step="push"}')).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(after.has('possync_pull_lag_seconds{table="visits"}')).toBe(true);
      expect(after.has('possync_pull_fence_lag_transactions{table="visits"}')).toBe(true);
      expect(text).toMatch(/# TYPE possync_rows_pushed_total counter/);
      expect(text).toMatch(/# TYPE possync_run_duration_seconds histogram/);
    });

    it('counts conflicts by table, step and the side that won', async () => {
      const d = daemon(c, ['--listen', '127.0.0.1:0']);
      const base = await apiBase(d);
      await d.waitForLine(/"event":"run".*"trigger":"start"/);
      // The same patient changed on both sides; the cloud's change is newer, so it wins the push.
      const db = openSqlite(c.sqlitePath);
      db.prepare(`UPDATE patients SET full_name = 'Tomás R. (till)', updated_at = '2026-11-04T10:00:00.000Z' WHERE id = ?`).run(uuid(12));
      db.close();
      await c.pg.query(`UPDATE patients SET full_name = 'Tomás R. (office)', updated_at = '2026-11-04T11:00:00Z' WHERE id = $1`, [uuid(12)]);
      const res = await fetch(`${base}/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ direction: 'push', tables: ['patients'] }) });
      const result = (await res.json()) as RunResult;
      const conflicts = result.tables.find((t) => t.table === 'patients')!.conflicts;
      expect(conflicts).toBe(1);
      // Who won is read back from the conflict records after the run: poll the counter briefly.
      const key = 'possync_conflicts_total{table="patients",step="push",outcome="server"}';
      const deadline = Date.now() + 10_000;
      let value: number | undefined;
      while (Date.now() < deadline) {
        value = parseMetrics(await (await fetch(`${base}/metrics`)).text()).get(key);
        if (value !== undefined) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(value).toBe(1);
      const listed = (await (await fetch(`${base}/conflicts?log=true`)).json()) as { cloud: Array<{ table: string; winner: string; direction: string }> };
      expect(listed.cloud[0]).toMatchObject({ table: 'patients', winner: 'server', direction: 'push' });
    });

    it('streams progress events, then the result, with Accept: text/event-stream', async () => {
      const d = daemon(c, ['--listen', '127.0.0.1:0']);
      const base = await apiBase(d);
      await d.waitForLine(/"event":"run".*"trigger":"start"/);
      addVisits(c, 200, 7);
      const res = await fetch(`${base}/sync`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ direction: 'both' }) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = parseSse(await res.text());
      const names = events.map(([e]) => e);
      expect(names[0]).toBe('start');
      expect(names.at(-1)).toBe('result');
      expect(names.filter((n) => n === 'progress').length).toBeGreaterThan(0);
      expect(names.lastIndexOf('progress')).toBeLessThan(names.indexOf('result'));
      expect(events.find(([e, data]) => e === 'progress' && (data as { table: string; step: string }).table === 'visits')?.[1]).toMatchObject({ step: 'push', table: 'visits' });
      const result = events.at(-1)![1] as RunResult;
      expect(result).toMatchObject({ direction: 'both', status: 'success' });
      expect(result.tables.find((t) => t.table === 'visits' && t.step === 'push')?.inserted).toBe(7);
    });

    it('GET /status, /logs, /rejected and /conflicts answer the CLI --json documents; bad requests are 400', async () => {
      const d = daemon(c, ['--listen', '127.0.0.1:0']);
      const base = await apiBase(d);
      await d.waitForLine(/"event":"run".*"trigger":"start"/);
      const status = await fetch(`${base}/status`);
      expect(status.status).toBe(200);
      const api = (await status.json()) as { terminalId: string; tables: unknown[] };
      const cli = await runCli(['status', '-c', c.configPath, '--json'], { env: c.env });
      expect(api.terminalId).toBe(JSON.parse(cli.stdout).terminalId);
      expect(shape(api)).toEqual(shape(JSON.parse(cli.stdout)));

      const logs = (await (await fetch(`${base}/logs?limit=3`)).json()) as unknown[];
      const cliLogs = JSON.parse((await runCli(['logs', '-c', c.configPath, '--limit', '3', '--json'], { env: c.env })).stdout) as unknown[];
      expect(logs).toEqual(cliLogs);
      const rejected = await (await fetch(`${base}/rejected?all=true`)).json();
      expect(rejected).toEqual(JSON.parse((await runCli(['rejected', '-c', c.configPath, '--all', '--json'], { env: c.env })).stdout));
      expect(await (await fetch(`${base}/conflicts?log=true`)).json()).toMatchObject({ terminal: expect.any(Array), cloud: expect.any(Array) });
      // Without log: the open conflicts (conflict "manual"), the same document as `possync conflicts --json`.
      const open = await (await fetch(`${base}/conflicts`)).json();
      expect(open).toEqual(JSON.parse((await runCli(['conflicts', '-c', c.configPath, '--json'], { env: c.env })).stdout));
      expect(open).toMatchObject({ count: 0, open: [] });
      expect((await fetch(`${base}/conflicts?limit=5`)).status).toBe(400);

      const bad = await fetch(`${base}/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tables: ['nope'] }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('USAGE');
      const big = await fetch(`${base}/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tables: ['x'.repeat(10_000)] }) });
      expect(big.status).toBe(413);
      expect((await fetch(`${base}/nowhere`)).status).toBe(404);
    });
  });

  describe('off loopback', () => {
    let c: Clinic;
    beforeAll(async () => {
      c = await createClinic('daemon_api_token');
      await seedClinic(c);
    });
    afterAll(() => c.cleanup());

    it('refuses to start on 0.0.0.0 without a token (exit 2, before any run)', async () => {
      const d = startCli(['daemon', '-c', c.configPath, '--cron', RARELY, '--log-format', 'json', '--listen', '0.0.0.0:0'], { env: { ...c.env, POSSYNC_API_TOKEN: '' } });
      const { code } = await d.exited;
      expect(code).toBe(2);
      expect(d.stderr()).toMatch(/without a token/);
      expect(d.lines.some((l) => l.includes('"event":"run"'))).toBe(false);
    });

    it('answers 401 without the bearer token and 200 with it; the probes need none', async () => {
      const d = daemon(c, ['--listen', '0.0.0.0:0'], { POSSYNC_API_TOKEN: TOKEN });
      const base = await apiBase(d);
      await d.waitForLine(/"event":"run".*"trigger":"start"/);
      const none = await fetch(`${base}/status`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })).status).toBe(401);
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      expect((await fetch(`${base}/sync`, { method: 'POST' })).status).toBe(401);
      expect((await fetch(`${base}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    });
  });
});
