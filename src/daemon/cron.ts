import { PossyncError } from '../errors.ts';
import { onFirstUse } from '../util/on-first-use.ts';

const nodeCron = onFirstUse<typeof import('node-cron')>('node-cron');

export const CRON_HINT = "set cron in possync.config.json, SYNC_CRON, or pass --cron (e.g. --cron '*/5 * * * *' for every five minutes; a sixth, leading field is seconds)";

/**
 * The daemon's schedule, checked with node-cron's own parser before anything is opened, so a
 * typo is a usage error (exit 2) with the field that is wrong, not a daemon that never runs.
 * Five fields (minute hour day month weekday) or six with seconds first; @hourly-style names work.
 */
export function validateCron(expression: string | undefined): string {
  const cron = expression?.trim();
  if (cron === undefined || cron === '') {
    throw new PossyncError('USAGE', 'the daemon needs a schedule and none is set', { hint: CRON_HINT });
  }
  const check = nodeCron().validateDetailed(cron);
  if (!check.valid) {
    const why = check.errors.map((e) => e.message).join('; ') || 'not a cron expression';
    throw new PossyncError('USAGE', `invalid cron expression "${cron}": ${why}`, { hint: CRON_HINT });
  }
  return cron;
}
