import { describe, expect, it } from 'vitest';
import { same } from '../../src/engine/values/codec.ts';
import { misfit, modifierOf } from '../../src/engine/values/fits.ts';
import { float4Misfit, float4Text } from '../../src/engine/values/float4.ts';
import { lengthMisfit } from '../../src/engine/values/length.ts';

describe('real (float4): only values that read back as themselves', () => {
  it('prints a float4 as Postgres does (shortest text that reads back)', () => {
    expect(float4Text(Math.fround(1234.5678))).toBe('1234.5677');
    expect(float4Text(Math.fround(0.1))).toBe('0.1');
    expect(float4Text(Math.fround(16777217))).toBe('16777216');
    expect(float4Text(Math.fround(3.4028234663852886e38))).toBe('3.4028235e+38');
  });

  it.each(['0.1', '12.5', '1234.56', '-0', '0', '16777216', '1e-40', '3.4028235e+38', 'NaN', 'Infinity', '-Infinity', '1.5e-7'])('%s fits', (wire) => {
    expect(float4Misfit(wire)).toBeUndefined();
  });

  it.each([
    ['1234.5678', /stored as 1234\.5677/],
    ['0.30000000000000004', /stored as 0\.3/],
    ['16777217', /stored as 16777216/],
    ['123456.789', /about 7 significant digits/],
    ['1e39', /beyond the range/],
  ])('%s does not fit', (wire, reason) => {
    expect(float4Misfit(wire)).toMatch(reason);
  });

  it('applies to real columns only', () => {
    expect(modifierOf('float', 'real')).toEqual({ float4: true });
    expect(misfit('float', modifierOf('float', 'real'), '1234.5678')).toMatch(/float4/);
    expect(misfit('float', modifierOf('float', 'double precision'), '1234.5678')).toBeUndefined();
  });
});

describe('varchar(n) and char(n): too long is refused, never cut', () => {
  it('reads the length from the declared type', () => {
    expect(modifierOf('text', 'character varying(40)')).toEqual({ length: 40 });
    expect(modifierOf('bpchar', 'character(3)')).toEqual({ length: 3 });
    expect(modifierOf('bpchar', 'character')).toBeUndefined();
  });

  it('counts characters (code points), not UTF-16 units', () => {
    expect(lengthMisfit('🎉🎉🎉', 3, false)).toBeUndefined();
    expect(lengthMisfit('ünï', 3, false)).toBeUndefined();
    expect(lengthMisfit('🎉🎉🎉🎉', 3, false)).toMatch(/too long for type character varying\(3\): it is 4 characters long/);
  });

  it('varchar: trailing blanks count (Postgres would cut them silently)', () => {
    expect(lengthMisfit('abc', 3, false)).toBeUndefined();
    expect(lengthMisfit('abc  ', 3, false)).toMatch(/cut the trailing blanks silently/);
    expect(lengthMisfit('abcd', 3, false)).toMatch(/not cut/);
  });

  it('char: trailing blanks carry no meaning, the rest must fit', () => {
    expect(lengthMisfit('ab     ', 3, true)).toBeUndefined();
    expect(lengthMisfit('abcd', 3, true)).toMatch(/character\(3\)/);
    expect(misfit('bpchar', { length: 3 }, 'ab   ')).toBeUndefined();
    expect(misfit('text', { length: 3 }, 'ab   ')).toMatch(/character varying\(3\)/);
  });

  it('char values equal up to trailing blanks, so a round trip is no change', () => {
    expect(same('bpchar', 'ab', 'ab   ')).toBe(true);
    expect(same('bpchar', ' ab', 'ab')).toBe(false);
    expect(same('text', 'ab', 'ab   ')).toBe(false);
  });
});
