import { describe, expect, it } from 'vitest';
import { validateCron } from '../../src/daemon/cron.ts';
import { PossyncError } from '../../src/errors.ts';

function usageError(expression: string | undefined): PossyncError {
  try {
    validateCron(expression);
  } catch (err) {
    expect(err).toBeInstanceOf(PossyncError);
    return err as PossyncError;
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be rejected`);
}

describe('validateCron', () => {
  it('accepts five fields, six with seconds, and named schedules', () => {
    for (const ok of ['*/5 * * * *', '0 3 * * 1-5', '*/1 * * * * *', '30 */2 * * * *', '@hourly', '  */10 * * * *  ']) {
      expect(validateCron(ok)).toBe(ok.trim());
    }
  });

  it('rejects a bad field with a usage error (exit 2) naming what is wrong', () => {
    const e = usageError('61 * * * *');
    expect(e.code).toBe('USAGE');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('"61 * * * *"');
    expect(e.message).toContain('minute');
    expect(e.hint).toContain('--cron');
  });

  it('rejects the wrong number of fields and junk', () => {
    expect(usageError('* * * * * * *').message).toContain('5 or 6 fields');
    expect(usageError('every five minutes').code).toBe('USAGE');
    expect(usageError('*/5 * * *').code).toBe('USAGE');
  });

  it('says how to set a schedule when there is none', () => {
    for (const missing of [undefined, '', '   ']) {
      const e = usageError(missing);
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain('needs a schedule');
      expect(e.hint).toMatch(/SYNC_CRON/);
    }
  });
});
