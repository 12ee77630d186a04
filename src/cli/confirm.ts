import readline from 'node:readline/promises';
import { PossyncError } from '../errors.ts';

/**
 * Asks a yes/no question on the terminal. Destructive commands never guess: without a terminal
 * to ask on (a script, a pipe, cron) and without --yes they refuse (exit 2).
 */
export async function confirm(question: string, options: { yes?: boolean | undefined; refusal: string }): Promise<boolean> {
  if (options.yes) return true;
  if (!process.stdin.isTTY) throw new PossyncError('USAGE', options.refusal, { hint: 'pass --yes to confirm when running without a terminal' });
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
