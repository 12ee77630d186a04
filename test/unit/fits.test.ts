import { describe, expect, it } from 'vitest';
import { misfit, modifierOf } from '../../src/engine/values/fits.ts';

describe('values Postgres would round instead of refusing', () => {
  it('reads numeric(p,s) and timestamp(p) modifiers', () => {
    expect(modifierOf('numeric', 'numeric(8,2)')).toEqual({ scale: 2 });
    expect(modifierOf('numeric', 'numeric')).toBeUndefined();
    expect(modifierOf('timestamptz', 'timestamp(3) with time zone')).toEqual({ scale: 3 });
    expect(modifierOf('timestamp', 'timestamp without time zone')).toBeUndefined();
    expect(modifierOf('text', 'text')).toBeUndefined();
    expect(modifierOf('text', 'character varying')).toBeUndefined();
    expect(modifierOf('float', 'double precision')).toBeUndefined();
  });

  it('flags only digits that would be lost', () => {
    const two = { scale: 2 };
    expect(misfit('numeric', two, '12.5')).toBeUndefined();
    expect(misfit('numeric', two, '12.50')).toBeUndefined();
    expect(misfit('numeric', two, '12.500')).toBeUndefined();
    expect(misfit('numeric', two, '12')).toBeUndefined();
    expect(misfit('numeric', two, '12.345')).toMatch(/rounded/);
    const ms = { scale: 3 };
    expect(misfit('timestamptz', ms, '2026-11-24T01:18:19.123000Z')).toBeUndefined();
    expect(misfit('timestamptz', ms, '2026-11-24T01:18:19.123400Z')).toMatch(/rounded/);
    expect(misfit('timestamptz', { scale: 0 }, '2026-11-24T01:18:19.000000Z')).toBeUndefined();
  });
});
