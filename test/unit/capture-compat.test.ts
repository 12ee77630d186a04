import { describe, expect, it } from 'vitest';
import { captureFormatOf } from '../../src/db/postgres/possync-schema.ts';
import { judgeFormat } from '../../src/engine/install/compat.ts';

describe('capture format compatibility (install/compat.ts)', () => {
  const own = { version: 2, readers: 1 };
  it('moves objects forward only, and stops only when it cannot read them', () => {
    expect(judgeFormat(undefined, own)).toBe('older');
    expect(judgeFormat({ version: 1, readers: 1 }, own)).toBe('older');
    expect(judgeFormat({ version: 2, readers: 1 }, own)).toBe('own');
    expect(judgeFormat({ version: 3, readers: 2 }, own)).toBe('newer');
    expect(judgeFormat({ version: 3, readers: 3 }, own)).toBe('unreadable');
  });
  it('reads the format from the function comment, and none from an older comment', () => {
    expect(captureFormatOf('possync capture v4 readers v2 for public.clients 0123abcd')).toEqual({ version: 4, readers: 2 });
    expect(captureFormatOf('possync capture for public.clients v0123abcd')).toBeUndefined();
    expect(captureFormatOf(null)).toBeUndefined();
  });
});
