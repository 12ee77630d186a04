import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { onFirstUse } from '../util/on-first-use.ts';

// Only a terminal gets a spinner: piped and --json runs never load ora.
const ora = onFirstUse<typeof import('ora')>('ora');

/**
 * Colour only on a terminal and never under NO_COLOR; spinners only when stderr is a terminal
 * and the output is not for a machine (--json). Everything a machine reads goes to stdout.
 */
export function colors(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  return new Chalk({ level: colorEnabled(stream) ? 1 : 0 });
}

function colorEnabled(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export interface Progress {
  /** False when nothing is drawn (not a terminal, --json, CI): callers can skip work for it. */
  active: boolean;
  text(message: string): void;
  succeed(message: string): void;
  fail(message: string): void;
  stop(): void;
}

export function progress(message: string, options: { json?: boolean } = {}): Progress {
  const stream = process.stderr;
  // ora counts the lines to redraw by the terminal's width: a terminal that reports 0 columns (a
  // pseudo-terminal nobody sized, e.g. `script` fed from a pipe) makes it clear lines forever.
  const interactive = stream.isTTY === true && !options.json && !process.env.CI && stream.columns !== 0;
  if (!interactive) return { active: false, text: () => {}, succeed: () => {}, fail: () => {}, stop: () => {} };
  // ora colours its frames itself (cyan) unless told not to: NO_COLOR must reach it too.
  const spinner: Ora = ora().default({ text: message, stream, color: colorEnabled(stream) ? 'cyan' : false }).start();
  return {
    active: true,
    text: (m) => (spinner.text = m),
    succeed: (m) => spinner.succeed(m),
    fail: (m) => spinner.fail(m),
    stop: () => spinner.stop(),
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Right-aligned columns for a small text table. */
export function table(rows: string[][], align: Array<'l' | 'r'>): string[] {
  const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => strip(r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - strip(cell).length);
        return align[i] === 'r' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

/** An age a person reads at a glance: `42 s`, `12 min`, `5 h`, `3 days`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
