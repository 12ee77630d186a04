// CPU seconds of a local server, read from /proc (Linux): Postgres has no pg_stat_statements here,
// and its cost per run is what a fleet's size is paid in.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import type pg from 'pg';

let ticks: number | undefined;
/** Clock ticks per second of /proc's times (getconf CLK_TCK; 100 on Linux). */
function clockTicks(): number {
  if (ticks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    ticks = r.status === 0 && n > 0 ? n : 100;
  }
  return ticks;
}

interface Stat {
  ppid: number;
  /** utime + stime: the process's own CPU. */
  own: number;
  /** cutime + cstime: children it has waited for. */
  reaped: number;
}

/** /proc/<pid>/stat, after the command name (which may hold spaces and parentheses). */
function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields from "state" (3) on: ppid 4, utime 14, stime 15, cutime 16, cstime 17.
  const n = (i: number) => Number(f[i - 3]);
  return { ppid: n(4), own: n(14) + n(15), reaped: n(16) + n(17) };
}

/**
 * CPU seconds a server has used so far: the process, its live children, and the children it has
 * reaped (a Postgres backend that exits is counted in the postmaster's cutime/cstime, so backends
 * that come and go between two readings are not lost). Differences of two readings are the cost.
 */
export function treeCpuSeconds(pid: number): number | undefined {
  const root = stat(pid);
  if (!root) return undefined;
  let total = root.own + root.reaped;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s && s.ppid === pid) total += s.own + s.reaped;
  }
  return total / clockTicks();
}

/** The postmaster's pid when the server runs on this machine (its backend's parent), else undefined. */
export async function localPostmasterPid(client: pg.Client | pg.Pool): Promise<number | undefined> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const backend = stat(rows[0]!.pid);
  if (!backend) return undefined;
  try {
    const comm = fs.readFileSync(`/proc/${backend.ppid}/comm`, 'utf8').trim();
    return /postgres|postmaster/.test(comm) ? backend.ppid : undefined;
  } catch {
    return undefined;
  }
}
